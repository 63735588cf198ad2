"""Memory layout: convolutional models train faster channels-last.

PyTorch stores a batch of feature maps as (N, C, H, W): each channel's map in one block. Channels-last
keeps the same shape and indices but stores the C values of one pixel side by side, as Keras does.
oneDNN on CPUs and cuDNN's tensor-core kernels compute convolutions, pooling and ReLU on that layout
with whole vectors at a time. On the 2-core AMD EPYC of benchmarks/RESULTS.md it made the chapter 04
CNN's training step 1.3-1.6x faster in float32; nothing else changes (same outputs up to rounding).

fit(channels_last="auto") turns it on for models with 2-D convolutions on a CPU, and on a GPU when
training in bf16 or fp16 (tensor cores want it; in float32 cuDNN may prefer the default). A model
whose own code needs the default layout (e.g. `x.view(n, -1)` after a convolution) fails the engine's
probe run; the engine then puts the model back and says so.
"""

from __future__ import annotations

import torch
from torch import nn

CHOICES = ("auto", True, False)


def check_channels_last(choice) -> None:
    if not (isinstance(choice, bool) or choice == "auto"):
        raise ValueError(f"channels_last must be 'auto', True or False, got {choice!r}")


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def wants_channels_last(choice, model: nn.Module, device: torch.device, half_precision: bool) -> bool:
    """Whether to train `model` channels-last (see the module docstring for what "auto" picks)."""
    if choice is False or not has_conv2d(model):
        return False
    if choice is True:
        return True
    return device.type == "cpu" or (device.type == "cuda" and half_precision)


def set_layout(model: nn.Module, channels_last: bool) -> None:
    """Store the model's 4-D weights channels-last (or back in the default layout), in place."""
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)

"""Memory layout: convolutional models train faster channels-last.

PyTorch stores a batch of feature maps as (N, C, H, W): each channel's map in one block. Channels-last
keeps the same shape and indices but stores the C values of one pixel side by side, as Keras does.
oneDNN on CPUs and cuDNN's tensor-core kernels compute convolutions, pooling and ReLU on that layout
with whole vectors at a time. On the 2-core AMD EPYC of benchmarks/RESULTS.md it made the chapter 04
CNN's training step 1.3-1.6x faster in float32; nothing else changes (same outputs up to rounding).

One detail completes it: `nn.Flatten`'s backward pass hands its gradient back in the default layout,
so the layer before it (a pooling or a ReLU over channels-last maps) would receive a gradient in the
other layout than its input, and PyTorch's CPU kernels then copy it or take a slow strided path.
While fit trains channels-last, a hook on each Flatten passes that gradient on channels-last
(`channels_last_grads`); the values are the same. Measured on the article's CNN (ReLU before the
pooling) on a 2-core Xeon, a float32 training step took 21.0 ms without it and 14.0 ms with it
(11.9 and 8.7 ms with cpu_memory.py's malloc setting; benchmarks/cnn_step.py, benchmarks/RESULTS.md).

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


class _GradChannelsLast(torch.autograd.Function):
    """The identity going forward; going backward, the same gradient stored channels-last."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous(memory_format=torch.channels_last)


def _flatten_input_hook(module, args):
    x = args[0]
    if isinstance(x, torch.Tensor) and x.dim() == 4 and x.requires_grad and not x.is_contiguous():
        return (_GradChannelsLast.apply(x), *args[1:])
    return None


def channels_last_grads(model: nn.Module) -> list:
    """Hooks on the model's Flatten layers (see the module docstring); returns their handles for removal."""
    return [m.register_forward_pre_hook(_flatten_input_hook) for m in model.modules() if isinstance(m, nn.Flatten)]

"""ReLU and 2x2 max-pooling fused into one pass over memory, on CPUs.

Why. Chapter 04's convolution writes 32 maps of 26x26 numbers per image. Eager PyTorch then reads and
writes them again for the ReLU, again for the pooling (which also stores where each maximum was, as
8-byte integers), and twice more going backward. The arithmetic is trivial, so the time is memory
traffic: benchmarks/roofline.py counts 158 MB per float32 training step, most of it for these two layers.
Keras pays less, because TensorFlow fuses the ReLU into the convolution (oneDNN).

How. One function computes, for each 2x2 window, the maximum, the ReLU of it, and a one-byte code naming
the pixel that won (0-3 in reading order; 4 when the maximum is not positive, so no gradient flows).
Going backward, one function hands each gradient to the pixel its code names. torch.compile turns each
function into a single C++ loop (TorchInductor). The result equals nn.ReLU + nn.MaxPool2d(2), in either
order, bit for bit, values and gradients: ties go to the first pixel in reading order and a NaN wins, as
in PyTorch's own max-pool (tests/test_fusion.py checks both orders, float32 and bfloat16).

Measured on a 2-core Xeon (benchmarks/train_speed.py, benchmarks/RESULTS.md): an epoch of the article's
CNN in float32 took 3.6 s unfused and 2.9 s fused. Compiling costs about 10 s the first time on a
machine and a second or two once TorchInductor's disk cache has it, so fit(fuse="auto") fuses only on
a CPU and only for runs of at least MIN_STEPS steps; fuse=True always tries, False never. It swaps the
two layers inside nn.Sequential containers for the duration of fit and puts the originals back at the
end. Where torch.compile cannot run (no C++ compiler), the layers stay as they were and fit says so.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MIN_STEPS = 1_000  # ~1.5 ms saved per step repays ~1.5 s of compiling from the disk cache; a cold compile needs ~7,000


def check_fuse(choice) -> None:
    if not (isinstance(choice, bool) or choice == "auto"):
        raise ValueError(f"fuse must be 'auto', True or False, got {choice!r}")


# ---- the two passes, as plain tensor code -----------------------------------------------------

def relu_pool_forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ReLU of the 2x2 max-pool of x, the code of the winning pixel per window); H and W even."""
    pixels = (x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2])
    best, code = pixels[0], torch.zeros_like(pixels[0])
    for i, v in enumerate(pixels[1:], start=1):
        wins = (v > best) | (v != v)  # strictly greater (first wins a tie), or NaN: as PyTorch's max-pool
        best = torch.where(wins, v, best)
        code = torch.where(wins, float(i), code)
    code = torch.where(best <= 0, 4.0, code).to(torch.int8)  # 4: ReLU's gradient is zero (NaN passes, as in ReLU)
    layout = _layout(x)
    return best.clamp_min(0).contiguous(memory_format=layout), code.contiguous(memory_format=layout)


def relu_pool_backward(grad: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """The gradient of the 2x2 input windows: each window's gradient, at the pixel its code names."""
    n, c, h, w = grad.shape
    up = lambda t: t[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)  # noqa: E731
    rows, cols = torch.arange(2, device=grad.device), torch.arange(2, device=grad.device)
    pixel = (rows[:, None] * 2 + cols).repeat(h, w).to(grad.dtype)  # 0 1 / 2 3, tiled over the map
    return torch.where(up(code.to(grad.dtype)) == pixel, up(grad), 0.0).contiguous(memory_format=_layout(grad))


def _layout(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous() \
        else torch.contiguous_format


_compiled = {}  # "forward"/"backward" -> the compiled function, built on first use in this process
_kinds = set()  # (dtype, layout, channels, height, width) compiled so far
MAX_KINDS = 6   # torch.compile keeps 8 versions of a function, then runs it uncompiled (10x slower here)


def _compiled_call(name: str, *tensors):
    """Run relu_pool_forward/backward compiled: one version per kind of map, whatever the batch size."""
    if name not in _compiled:
        _compiled[name] = torch.compile({"forward": relu_pool_forward, "backward": relu_pool_backward}[name])
    for t in tensors:
        torch._dynamo.maybe_mark_dynamic(t, 0)
    # The same global state on every call (no autocast, no autograd inside), so no recompiling for it.
    with torch.autocast(tensors[0].device.type, enabled=False), torch.no_grad():
        return _compiled[name](*tensors)


class _ReLUPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y, code = _compiled_call("forward", x.detach())
        ctx.save_for_backward(code)
        return y

    @staticmethod
    def backward(ctx, grad):
        (code,) = ctx.saved_tensors
        return _compiled_call("backward", grad.detach().contiguous(memory_format=_layout(code)), code)


class ReLUMaxPool2d(nn.Module):
    """nn.ReLU + nn.MaxPool2d(2) (either order) in one compiled pass; other inputs take the plain path."""

    def forward(self, x):
        kind = (x.dtype, _layout(x), *x.shape[1:])
        fits = x.dim() == 4 and x.shape[0] > 1 and not x.shape[-1] % 2 and not x.shape[-2] % 2
        if not (fits and x.is_floating_point() and (kind in _kinds or len(_kinds) < MAX_KINDS)):
            return F.relu(F.max_pool2d(x, 2))  # odd sizes, a batch of one, too many kinds of map
        _kinds.add(kind)
        return _ReLUPool.apply(x)


# ---- finding the pairs in a model, and putting them back --------------------------------------

def _is_pool2(m: nn.Module) -> bool:
    size = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return (type(m) is nn.MaxPool2d and size(m.kernel_size) == (2, 2) and size(m.stride) == (2, 2)
            and size(m.padding) == (0, 0) and size(m.dilation) == (1, 1) and not m.ceil_mode
            and not m.return_indices)


def _is_relu(m: nn.Module) -> bool:
    return type(m) is nn.ReLU and not m.inplace


def fusable_pairs(model: nn.Module) -> list[tuple[nn.Sequential, int]]:
    """(container, index) of each ReLU + 2x2 max-pool (either order) side by side in an nn.Sequential."""
    pairs = []
    for seq in model.modules():
        if isinstance(seq, nn.Sequential):
            kids, i = list(seq), 0
            while i + 1 < len(kids):
                a, b = kids[i], kids[i + 1]
                if (_is_relu(a) and _is_pool2(b)) or (_is_pool2(a) and _is_relu(b)):
                    pairs.append((seq, i))
                    i += 2
                else:
                    i += 1
    return pairs


def fuse_relu_pool(model: nn.Module) -> tuple[callable, str]:
    """Swap each pair for ReLUMaxPool2d + Identity if torch.compile works here; (undo, note for fit's first line)."""
    pairs = fusable_pairs(model)
    if not pairs:
        return (lambda: None), ""
    try:  # compile now, on a small input, so that a missing compiler is found before training starts
        probe = torch.linspace(-1, 1, 32).reshape(2, 1, 4, 4).requires_grad_()  # not random: the seeded streams stay
        ReLUMaxPool2d()(probe).sum().backward()
    except Exception as err:  # noqa: BLE001 (torch.compile raises many kinds)
        return (lambda: None), f" (ReLU + max-pool left unfused: torch.compile failed, {type(err).__name__})"
    originals = [(seq, i, seq[i], seq[i + 1]) for seq, i in pairs]
    for seq, i in pairs:
        seq[i], seq[i + 1] = ReLUMaxPool2d(), nn.Identity()

    def undo():
        for seq, i, a, b in originals:
            seq[i], seq[i + 1] = a, b

    return undo, f", {len(pairs)} ReLU + max-pool fused"


def wants_fusion(choice, model: nn.Module, device: torch.device, total_steps: int) -> bool:
    if choice is False or hasattr(model, "_orig_mod"):  # a torch.compile'd model compiles its own way
        return False
    return choice is True or (device.type == "cpu" and total_steps >= MIN_STEPS)

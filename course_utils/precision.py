"""Mixed precision: which float type to compute in, decided from a plain description of the device.

bfloat16 keeps float32's range, so it needs no loss scaling; GPUs from Ampere on (compute
capability 8.0: A100, H100, RTX 30xx) run it at full speed. Older GPUs such as Colab's T4 (7.5)
only have fast float16, whose narrow range needs a GradScaler so that small gradients do not
flush to zero. On a CPU, bfloat16 pays only where the CPU has bf16 instructions (AVX512-BF16 or
AMX: recent Xeons and EPYCs): there it trained the MNIST CNN about twice as fast at the same
accuracy (benchmarks/RESULTS.md), so amp="auto" uses it; elsewhere bf16 is emulated and slower,
so "auto" keeps float32. amp=False always gives plain float32.

The decision is a pure function of (amp, device type, compute capability), so it is tested on a
machine without a GPU. The PyTorch engine and Keras (course_utils.frameworks.setup_keras) both
follow it, and course_utils.device.device_report says what it picks on this machine.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

CPU_AUTO_BF16 = True  # amp="auto" on a CPU with native bf16 (measured: benchmarks/RESULTS.md)
AMP_CHOICES = ("auto", True, False, None, "off", "fp32", "bf16", "fp16")
_ALIASES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "none": "off"}


@dataclass(frozen=True)
class Precision:
    dtype: str | None  # "bfloat16", "float16", or None for plain float32
    scaler: bool = False  # float16 needs a GradScaler

    def __str__(self) -> str:
        return (self.dtype or "float32") + (" + GradScaler" if self.scaler else "")


def choose_precision(amp, device_type: str, capability: tuple[int, int] | None = None,
                     cpu_bf16: bool = False) -> Precision:
    """The precision to train in; raises ValueError for a choice the device cannot honour.

    capability: a CUDA GPU's compute capability, e.g. (7, 5) for a T4; cpu_bf16: whether the CPU
    has native bfloat16 instructions (AVX512-BF16 or AMX).
    """
    want = _ALIASES.get(amp, amp) if isinstance(amp, str) else amp
    if want not in AMP_CHOICES:
        raise ValueError(f"amp={amp!r} is not understood; use 'auto', 'bf16', 'fp16' or False")
    if want in (False, None, "off", "fp32"):
        return Precision(None)
    if device_type == "cuda":
        fast_bf16 = capability is not None and capability >= (8, 0)
        if want == "bf16" and not fast_bf16:
            raise ValueError(
                f"this GPU (compute capability {capability}) has no fast bfloat16; use amp='fp16' or 'auto'"
            )
        if want == "fp16" or not fast_bf16:
            return Precision("float16", scaler=True)
        return Precision("bfloat16")
    if device_type == "cpu":
        if want == "auto" and not (CPU_AUTO_BF16 and cpu_bf16):
            return Precision(None)  # see the module docstring
        if want == "fp16":
            raise ValueError("float16 autocast is slow on CPUs; use amp='bf16' or leave amp='auto'")
        return Precision("bfloat16")  # True or "bf16"
    if want == "auto":
        return Precision(None)  # Apple MPS and others: float32, the path that is tested
    raise ValueError(f"amp={amp!r} is not supported on {device_type!r} by this engine; use amp='auto' or False")


def precision_for(amp, device) -> Precision:
    """choose_precision for a real torch.device (asks CUDA or the CPU what it can do)."""
    import torch

    dev = torch.device(device)
    cap = torch.cuda.get_device_capability(dev) if dev.type == "cuda" else None
    return choose_precision(amp, dev.type, cap, cpu_bf16=dev.type == "cpu" and cpu_has_native_bf16())


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bfloat16 instructions (AVX512-BF16, AMX); elsewhere bf16 is emulated, slowly."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these helpers: ask the kernel (Linux only)
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as fh:
                flags = fh.read()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device, precision: Precision):
    """A context that runs the forward pass in the chosen precision (a no-op for float32)."""
    import torch

    if precision.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=getattr(torch, precision.dtype))


def grad_scaler(device, precision: Precision):
    """A GradScaler when float16 needs one, else None."""
    import torch

    return torch.amp.GradScaler(torch.device(device).type) if precision.scaler else None

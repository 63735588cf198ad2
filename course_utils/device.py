"""Which hardware to train on, how many threads to use, and the one report of what was chosen.

PyTorch picks CUDA, then Apple's MPS, then the CPU. `device_report` is the single description of
the device and of the precision the training engine will use on it: `cu.setup` prints it in one
line, the doctor and the Colab set-up cell show the same facts.
"""

from __future__ import annotations

import os
import platform
import sys

from .cpu_memory import keep_freed_memory


def physical_cores() -> int:
    """Cores to use for math: hyper-threads rarely help dense kernels, so count real cores."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            pairs = {
                line for line in fh.read().split("\n\n") for line in [_core_id(line)] if line is not None
            }
        if pairs:
            return max(1, min(len(pairs), len(os.sched_getaffinity(0))))
    except (OSError, AttributeError):
        pass
    return max(1, os.cpu_count() or 1)


def _core_id(block: str):
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in block.splitlines()) if k.strip()
    )
    if "core id" not in fields:
        return ("cpu", fields.get("processor")) if "processor" in fields else None
    return (fields.get("physical id", "0"), fields["core id"])


def configure_threads(n: int | None = None) -> int:
    """Use one math thread per physical core in PyTorch (and TensorFlow, when loaded)."""
    n = n or int(os.environ.get("COURSE_THREADS", 0)) or physical_cores()
    if "torch" in sys.modules or _has("torch"):
        import torch

        prepare_cpu()
        torch.set_num_threads(n)
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, n))
        except RuntimeError:
            pass  # TensorFlow already started its thread pools; its defaults stay
    return n


def prepare_cpu() -> None:
    """The process settings that make CPU training faster and change no result: denormals flushed
    (below) and freed memory kept for the next step (course_utils/cpu_memory.py). Idempotent and
    cheap, so both configure_threads (hence cu.setup) and fit call it."""
    flush_denormals()
    keep_freed_memory()


def flush_denormals() -> bool:
    """Treat the tiniest floats (below 1.2e-38, "denormals") as zero in PyTorch's CPU arithmetic.

    Gradients that shrink step after step, as in an LSTM's backward pass through 200 time steps, end
    up there, and many Intel CPUs compute on denormals about a hundred times slower than on ordinary
    numbers. Measured on a 2-core Xeon: an LSTM(128) forward + backward over 128 reviews of 200 steps
    took 1,795 ms without this and 142 ms with it. TensorFlow does the same in its own threads, and
    GPUs flush them too; no result of the course depends on numbers that small.
    The setting is per thread and new threads inherit it, so it is set before PyTorch starts its
    thread pool (cu.setup does that first); called later, it covers the calling thread only.
    """
    import torch

    return bool(torch.set_flush_denormal(True))  # False where the CPU cannot (non-x86 without the flag)


def _has(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def pick_device(prefer: str = "auto"):
    """A torch.device: `auto` means CUDA, else Apple MPS, else CPU; a named device must exist."""
    import torch

    if prefer in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(prefer)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {prefer!r} was asked for but PyTorch sees no CUDA GPU; use device='auto' or 'cpu'"
        )
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError(f"device {prefer!r} was asked for but this machine has no Apple MPS; use 'auto' or 'cpu'")
    return dev


def device_report(device="auto", include_tensorflow: bool | None = None) -> dict:
    """Versions, hardware and the engine's precision on `device`, in one dict (TensorFlow's when loaded)."""
    import numpy as np

    report = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu": platform.processor() or platform.machine(),
        "physical_cores": physical_cores(),
        "numpy": np.__version__,
    }
    if _has("torch"):
        import torch

        from .precision import precision_for

        dev = pick_device(device)
        if dev.type == "cuda":
            cap = torch.cuda.get_device_capability(dev)
            report["compute_capability"] = f"{cap[0]}.{cap[1]}"
        report.update(
            torch=torch.__version__,
            torch_threads=torch.get_num_threads(),
            device=str(dev),
            device_name=torch.cuda.get_device_name(dev) if dev.type == "cuda" else report["cpu"],
            mixed_precision=str(precision_for("auto", dev)),  # what cu.fit will train in here
        )
    if include_tensorflow is None:
        include_tensorflow = "tensorflow" in sys.modules
    if include_tensorflow and _has("tensorflow"):
        from .frameworks import import_keras

        keras = import_keras()
        import tensorflow as tf

        report.update(
            tensorflow=tf.__version__,
            keras=keras.__version__,
            tf_gpus=len(tf.config.list_physical_devices("GPU")),
            keras_policy=keras.mixed_precision.global_policy().name,
        )
    return report


def describe(report: dict) -> str:
    """One line from device_report: what the engine trains on, in which precision, with how many threads."""
    if "device" not in report:
        return f"no PyTorch here: NumPy only, {report['physical_cores']} cores"
    where = report["device"]
    if report.get("device_name") and report["device_name"] != report.get("cpu"):
        where += f" ({report['device_name']}"
        where += f", compute capability {report['compute_capability']})" if "compute_capability" in report else ")"
    line = f"device {where}, training precision {report['mixed_precision']}, {report['torch_threads']} threads"
    if "keras" in report:
        on = f"{report['tf_gpus']} GPU(s)" if report["tf_gpus"] else "the CPU"
        line += f"; Keras {report['keras']} on {on} in {report['keras_policy']}"
    return line

"""`cu.setup(...)`: the one call at the top of every chapter.

It does, in this order, what a repeatable run needs: sets the math threads (one per physical core)
and the CPU settings that speed training up (device.prepare_cpu), starts TensorFlow quietly and in
the engine's precision when the chapter uses Keras, seeds Python,
NumPy, PyTorch (and TensorFlow), picks the PyTorch device, and prints one line saying what it
chose. Training calls later in the chapter need no seed of their own.
"""

from __future__ import annotations

import importlib.util

from .device import configure_threads, describe, device_report, pick_device
from .seeding import seed_everything


def setup(seed: int = 0, *, device: str = "auto", keras: bool = False, threads: int | None = None,
          quiet: bool = False):
    """Prepare the chapter's run; returns the torch.device to train on (None without PyTorch).

    seed: seeds every random number generator the course uses. device: "auto" (CUDA, then Apple
    MPS, then the CPU), "cpu", "cuda", "cuda:1" or "mps". keras: also start TensorFlow/Keras
    (memory growth on GPUs, the mixed-precision policy the engine would use). threads: math
    threads (default: $COURSE_THREADS, else one per physical core).
    """
    has_torch = importlib.util.find_spec("torch") is not None
    dev = pick_device(device) if has_torch else None  # a device that is not there fails first
    if keras:
        from .frameworks import import_keras, setup_keras

        import_keras()  # before the threads are set: TensorFlow takes its thread counts at start-up
    n_threads = configure_threads(threads)  # and device.prepare_cpu()
    if keras:
        setup_keras()
    seed_everything(seed, tensorflow=keras)
    if not quiet:
        report = device_report(device, include_tensorflow=keras) if has_torch else {"physical_cores": n_threads}
        print(f"setup: seed {seed}; {describe(report)}")
    return dev

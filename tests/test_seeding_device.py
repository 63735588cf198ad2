import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import device


def _draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_same_seed_same_numbers_in_python_numpy_torch():
    cu.seed_everything(7, tensorflow=False)
    first = _draws()
    cu.seed_everything(7, tensorflow=False)
    assert _draws() == first
    cu.seed_everything(8, tensorflow=False)
    assert _draws() != first


def test_seeds_tensorflow_too():
    out = cu.seed_everything(3)
    assert out["seeded"] == ["python", "numpy", "torch", "tensorflow"]
    import tensorflow as tf

    a = tf.random.uniform((3,)).numpy()
    cu.seed_everything(3)
    np.testing.assert_array_equal(a, tf.random.uniform((3,)).numpy())


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed_is_refused(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        cu.seed_everything(bad, tensorflow=False)


def test_pick_device_on_this_machine():
    dev = cu.pick_device()
    assert dev.type in ("cpu", "cuda", "mps")
    assert cu.pick_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_a_missing_gpu_says_what_to_do():
    with pytest.raises(RuntimeError, match="no CUDA GPU; use device='auto' or 'cpu'"):
        cu.pick_device("cuda")


def _cpu_has_bf16_flags() -> bool:
    """Read from the kernel, independently of the code under test (Linux only)."""
    try:
        flags = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo here")
    return "avx512_bf16" in flags or "amx_bf16" in flags


def test_threads_and_report():
    n = cu.configure_threads()
    assert 1 <= n <= (device.os.cpu_count() or 1)
    assert torch.get_num_threads() == n
    report = cu.device_report("cpu", include_tensorflow=False)
    for key in ("python", "torch", "device", "mixed_precision", "physical_cores"):
        assert key in report
    # the report states what the engine will train in: bf16 exactly where the CPU has bf16 instructions
    assert report["mixed_precision"] == ("bfloat16" if _cpu_has_bf16_flags() else "float32")
    assert device.describe(report) == (
        f"device cpu, training precision {report['mixed_precision']}, {n} threads")


def _run(code: str) -> subprocess.CompletedProcess:
    """Code in a fresh interpreter: what is imported, printed and written to fd 2 is then its own."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "COURSE_THREADS": "1"})


@pytest.mark.slow
def test_import_keras_is_quiet_on_a_fresh_interpreter():
    run = _run("""
        import sys
        import course_utils as cu
        assert "tensorflow" not in sys.modules
        keras = cu.import_keras()
        print(keras.Sequential.__name__)
    """)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Sequential"
    assert run.stderr == "", run.stderr  # no oneDNN banner, no absl warnings: nbval would fail the cell


def test_setup_seeds_sets_threads_and_says_so_in_one_line():
    run = _run("""
        import random, sys
        import numpy as np, torch
        import course_utils as cu
        dev = cu.setup(seed=5, device="cpu")
        a = (random.random(), float(np.random.rand()), float(torch.rand(1)))
        cu.setup(seed=5, device="cpu", quiet=True)
        b = (random.random(), float(np.random.rand()), float(torch.rand(1)))
        print(dev, a == b, torch.get_num_threads(), "tensorflow" in sys.modules)
    """)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("setup: seed 5; device cpu, training precision ")
    assert lines[0].endswith(", 1 threads")
    assert lines[1] == "cpu True 1 False"  # seeded, COURSE_THREADS honoured, TensorFlow not started
    assert run.stderr == ""


@pytest.mark.slow
def test_setup_with_keras_starts_it_quietly_in_float32_on_a_cpu():
    run = _run("""
        import course_utils as cu
        cu.setup(seed=1, device="cpu", keras=True)
        import keras, tensorflow as tf
        print(keras.mixed_precision.global_policy().name, tf.config.threading.get_intra_op_parallelism_threads())
    """)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert "; Keras 3." in lines[0] and "on the CPU in float32" in lines[0]
    assert lines[1] == "float32 1"
    assert run.stderr == "", run.stderr


def test_setup_refuses_a_device_that_is_not_there_before_anything_else():
    with pytest.raises(RuntimeError, match="use device='auto' or 'cpu'"):
        cu.setup(seed=0, device="cuda" if not torch.cuda.is_available() else "mps", quiet=True)


def test_denormals_flushed_after_setup_on_x86():
    import platform

    import torch

    import course_utils as cu

    cu.setup(seed=0, device="cpu", quiet=True)
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a denormal float32
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert float(tiny * 1.0) == 0.0  # flushed: computed on as zero

import random

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


def test_threads_and_report():
    n = cu.configure_threads()
    assert 1 <= n <= (device.os.cpu_count() or 1)
    assert torch.get_num_threads() == n
    report = cu.device_report()
    for key in ("python", "torch", "device", "mixed_precision", "physical_cores"):
        assert key in report
    from course_utils.train.precision import precision_for

    if report["device"] == "cpu":  # the report states what the engine will actually train in
        assert report["mixed_precision"] == str(precision_for("auto", "cpu"))


def test_import_keras_is_quiet(capfd):
    keras = cu.import_keras()
    assert hasattr(keras, "Sequential")
    assert "oneDNN" not in capfd.readouterr().err

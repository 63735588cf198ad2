"""benchmarks/roofline.py: what the op counter charges each op, checked on ops whose cost is known."""

from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rl(load_benchmark):
    return load_benchmark("roofline")


def test_an_elementwise_op_reads_and_writes_its_tensor_once_and_a_view_moves_nothing(rl):
    x = torch.randn(1000)  # 4,000 bytes
    with rl.OpCosts() as costs:
        x.view(10, 100)
        torch.relu(x)
        x.mul_(2)  # in place: reads x and writes it back
    assert costs.ops == [("relu", 0, 8000), ("mul_", 0, 8000)]


def test_flops_come_from_pytorchs_formulas(rl):
    conv, x = nn.Conv2d(1, 32, 3), torch.rand(4, 1, 28, 28)
    with rl.OpCosts() as costs, torch.no_grad():
        conv(x)
    (name, flops, moved), = costs.ops
    assert name == "convolution" and flops == 2 * 4 * 26 * 26 * 32 * 9  # multiply-adds x 2
    assert moved == (x.numel() + conv.weight.numel() + conv.bias.numel() + 4 * 32 * 26 * 26) * 4


def test_the_bound_is_the_slower_of_compute_and_memory_op_by_op(rl):
    ops = [("mm", 2e9, 1e6), ("relu", 0, 2e9)]  # 1 s of compute at 2 GFLOP/s; 1 s of memory at 2 GB/s
    assert rl.bound_seconds(ops, rate_gflops=2.0, bandwidth_gbs=2.0) == pytest.approx(1.0 + 1.0)


def test_a_training_step_of_the_cnn_moves_fewer_bytes_with_relu_after_the_pool_and_in_bf16(rl):
    def cnn(pool_first):
        act_pool = [nn.MaxPool2d(2), nn.ReLU()] if pool_first else [nn.ReLU(), nn.MaxPool2d(2)]
        return nn.Sequential(nn.Conv2d(1, 32, 3), *act_pool, nn.Flatten(), nn.Linear(32 * 13 * 13, 64), nn.ReLU(),
                             nn.Linear(64, 10))

    moved = {}
    for pool_first in (False, True):
        for bf16 in (False, True):
            train, evaluate = rl.step_ops(cnn(pool_first), bf16, batch=16)
            moved[pool_first, bf16] = sum(b for *_, b in train)
            assert {"convolution", "convolution_backward", "_fused_adam_"} <= {name for name, *_ in train}
            assert "convolution_backward" not in {name for name, *_ in evaluate}
    assert moved[True, False] < moved[False, False] and moved[False, True] < moved[False, False]
    assert moved[True, True] < min(moved[True, False], moved[False, True])


def test_the_report_names_the_slow_compiled_forward_only_when_it_is_slower(rl, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # render reads the CPU's name from train_speed
    kinds = ("forward, no autograd", "forward for training", "forward + backward")
    by_op = {"relu": [0, 2e6, 1e-4], "mm": [1e9, 1e6, 2e-3]}
    steps = [("article order, float32", by_op)]
    slow = {("eager", k): 1.0 for k in kinds} | {("compiled", kinds[0]): 0.5, ("compiled", kinds[1]): 10.0,
                                                   ("compiled", kinds[2]): 20.0}
    text = rl.render(50.0, 400.0, 1600.0, steps, slow, 2)
    assert "| article order, float32 | 3 | 2.10 ms | mm 1 MB, 2.00 ms; relu 2 MB, 0.10 ms |" in text
    assert "run 2.0x as fast as eager when nothing is saved" in text and "at 0.05x eager's speed" in text
    assert "saves the pooling's argmax for backward takes 10.0x eager's time" in text
    fast = dict(slow) | {("compiled", kinds[1]): 0.5, ("compiled", kinds[2]): 0.8}
    assert "argmax" not in rl.render(50.0, 400.0, 1600.0, steps, fast, 2)
    assert "torch.compile did not run here: RuntimeError: no compiler" in rl.render(
        50.0, 400.0, 1600.0, steps, "RuntimeError: no compiler", 2)

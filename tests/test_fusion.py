"""course_utils/train/fusion.py: the fused ReLU + max-pool computes what the two layers compute, bit for bit."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import course_utils as cu
from course_utils.train import fusion


@pytest.fixture(scope="module")
def compiler():
    """Skip where torch.compile cannot build (no C++ compiler): fit then leaves the layers unfused, tested below."""
    undo, note = fusion.fuse_relu_pool(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)))
    undo()
    if "fused" not in note or "unfused" in note:
        pytest.skip(f"torch.compile cannot build here{note}")


@pytest.fixture(autouse=True)
def fresh_compiler(monkeypatch):
    """Each test starts with no compiled versions, so that none of them runs into the cap on kinds of map."""
    torch.compiler.reset()
    monkeypatch.setattr(fusion, "_kinds", set())


def _maps(dtype, channels_last=True):
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 10)
    x[0, 0, :2, :2] = 0.5       # a four-way tie: the first pixel wins
    x[0, 1, :2, 2:4] = -1.0     # a window with nothing positive: no gradient
    x[1, 0, 2:4, :2] = torch.tensor([[0.0, 0.0], [0.0, -3.0]])  # the maximum is exactly 0
    x[1, 1, 0, 1] = float("nan")  # a NaN wins its window
    x = x.to(dtype)
    return x.to(memory_format=torch.channels_last) if channels_last else x


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("relu_first", [True, False])
@pytest.mark.parametrize("channels_last", [True, False])
def test_values_and_gradients_equal_the_two_layers(compiler, dtype, relu_first, channels_last):
    x = _maps(dtype, channels_last)
    plain = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)) if relu_first else nn.Sequential(nn.MaxPool2d(2), nn.ReLU())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = plain(xa), fusion.ReLUMaxPool2d()(xb)
    grad = torch.randn(ya.shape).to(dtype)
    ya.backward(grad)
    yb.backward(grad)
    assert torch.equal(ya.isnan(), yb.isnan()) and torch.equal(ya.nan_to_num(), yb.nan_to_num())
    assert torch.equal(xa.grad, xb.grad)
    assert xb.grad[0, 0, 0, 0] == grad[0, 0, 0, 0] and xb.grad[0, 0, :2, :2].count_nonzero() <= 1
    assert xb.grad.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_odd_maps_take_the_plain_path():
    x = torch.randn(2, 3, 5, 7, requires_grad=True)
    assert torch.equal(fusion.ReLUMaxPool2d()(x), F.max_pool2d(F.relu(x), 2))


def test_only_plain_relu_and_2x2_pooling_side_by_side_are_fused(compiler):
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2),                         # fused
        nn.Conv2d(4, 4, 3), nn.MaxPool2d(kernel_size=(2, 2), stride=2), nn.ReLU(),  # fused (other order)
        nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Identity(),                    # in place: left alone
        nn.ReLU(), nn.MaxPool2d(3), nn.Identity(),                                # 3x3 pooling: left alone
        nn.ReLU(), nn.MaxPool2d(2, padding=1), nn.Identity(),                     # padding: left alone
        nn.Sequential(nn.MaxPool2d(2), nn.ReLU()))                                # nested: fused
    found = fusion.fusable_pairs(model)
    assert [(id(seq), i) for seq, i in found] == [(id(model), 1), (id(model), 4), (id(model[15]), 0)]
    undo, note = fusion.fuse_relu_pool(model)
    assert note == ", 3 ReLU + max-pool fused"
    assert isinstance(model[1], fusion.ReLUMaxPool2d) and isinstance(model[2], nn.Identity)
    undo()
    assert type(model[1]) is nn.ReLU and type(model[2]) is nn.MaxPool2d and type(model[15][0]) is nn.MaxPool2d


def _cnn():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 5 * 5, 3))


def _data(n=96):
    g = torch.Generator().manual_seed(2)
    return torch.rand(n, 1, 12, 12, generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("amp", [False, "bf16"])
def test_fit_with_fusion_gives_the_same_history_and_puts_the_layers_back(compiler, amp, capsys, monkeypatch):
    calls = []
    real = fusion._compiled_call
    monkeypatch.setattr(fusion, "_compiled_call", lambda name, *t: calls.append(name) or real(name, *t))
    data = _data()
    histories = []
    for fuse in (False, True):
        model = _cnn()
        cu.seed_everything(3)
        h = cu.fit(model, data, data, epochs=2, batch_size=32, amp=amp, fuse=fuse, verbose=2)
        histories.append(h.drop(columns="seconds"))
        assert [type(m) for m in model] == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear]
    assert "1 ReLU + max-pool fused" in capsys.readouterr().out
    assert calls.count("forward") > 2 * 3 and calls.count("backward") >= 2 * 3  # every step ran the fused pass
    assert histories[0].equals(histories[1])


def test_past_the_cap_on_kinds_of_map_the_plain_layers_run(compiler, monkeypatch):
    monkeypatch.setattr(fusion, "MAX_KINDS", 1)
    layer = fusion.ReLUMaxPool2d()
    layer(torch.randn(2, 3, 4, 4))  # the one kind allowed
    monkeypatch.setattr(fusion, "_ReLUPool", None)  # fusing again would fail
    x = torch.randn(2, 5, 4, 4)
    assert torch.equal(layer(x), F.relu(F.max_pool2d(x, 2)))


def test_auto_fuses_only_long_runs_on_a_cpu_and_never_a_compiled_model():
    model, cpu = _cnn(), torch.device("cpu")
    assert fusion.wants_fusion("auto", model, cpu, fusion.MIN_STEPS)
    assert not fusion.wants_fusion("auto", model, cpu, fusion.MIN_STEPS - 1)
    assert not fusion.wants_fusion("auto", model, torch.device("cuda"), 10**6)
    assert fusion.wants_fusion(True, model, cpu, 1) and not fusion.wants_fusion(False, model, cpu, 10**6)
    model._orig_mod = nn.Identity()  # what torch.compile's wrapper has
    assert not fusion.wants_fusion(True, model, cpu, 10**6)


def test_without_a_working_compiler_the_layers_stay_and_fit_says_why(monkeypatch, capsys):
    def broken(fn):
        def fail(*args):
            raise RuntimeError("no C++ compiler")
        return fail

    monkeypatch.setattr(fusion, "_compiled", {})
    monkeypatch.setattr(fusion.torch, "compile", broken)
    model = _cnn()
    cu.fit(model, _data(), epochs=1, batch_size=32, amp=False, fuse=True, verbose=2)
    assert "ReLU + max-pool left unfused: torch.compile failed, RuntimeError" in capsys.readouterr().out
    assert type(model[1]) is nn.ReLU


def test_a_wrong_choice_is_refused_before_training():
    with pytest.raises(ValueError, match="fuse must be 'auto', True or False"):
        cu.fit(_cnn(), _data(), epochs=1, fuse="yes")


def test_fusing_leaves_the_seeded_random_streams_alone(compiler):
    # The compile probe once drew torch.randn: every later augmentation of a seeded run then changed.
    model = _cnn()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    undo, note = fusion.fuse_relu_pool(model)
    assert "fused" in note
    assert torch.equal(torch.rand(3), expected)

"""fit's memory layout and optimizer choices: channels-last for conv nets, fallback, refusal; fused Adam."""

import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu

TO_IMG = lambda x: x.float().div(255).unsqueeze(1)  # noqa: E731


def data(n=64):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 12, 12), dtype=np.uint8), rng.integers(0, 10, n)


def conv_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 10))


class ViewNet(nn.Module):
    """A conv net whose forward needs the default layout (.view after a convolution)."""

    def __init__(self):
        super().__init__()
        self.conv, self.out = nn.Conv2d(1, 4, 3), nn.Linear(4 * 10 * 10, 10)

    def forward(self, x):
        h = self.conv(x)
        return self.out(h.view(h.shape[0], -1))


def test_conv_model_trains_channels_last_on_cpu(capsys):
    model = conv_net()
    cu.fit(model, data(), epochs=1, batch_size=16, transform=TO_IMG, amp=False, verbose=2)
    assert model[1].weight.is_contiguous(memory_format=torch.channels_last)  # (4, 4, 3, 3): unambiguous
    assert "channels-last" in capsys.readouterr().out
    off = conv_net()
    cu.fit(off, data(), epochs=1, batch_size=16, transform=TO_IMG, amp=False, channels_last=False, verbose=2)
    assert not off[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert "channels-last" not in capsys.readouterr().out


def test_same_function_in_either_layout():
    x, _ = data(8)
    a, b = conv_net(), conv_net()
    b.to(memory_format=torch.channels_last)
    assert np.allclose(cu.predict(a, x, transform=TO_IMG), cu.predict(b, x, transform=TO_IMG), atol=1e-5)


def test_model_that_needs_default_layout_falls_back(capsys):
    torch.manual_seed(0)
    model = ViewNet()
    h = cu.fit(model, data(), epochs=1, batch_size=16, transform=TO_IMG, amp=False, verbose=2)
    assert np.isfinite(h["train_loss"].iloc[0])
    assert "channels-last left off" in capsys.readouterr().out
    with pytest.raises(ValueError, match="channels_last=True, but"):
        cu.fit(ViewNet(), data(), epochs=1, transform=TO_IMG, channels_last=True, verbose=0)


def test_refuses_unknown_layout_choice():
    with pytest.raises(ValueError, match="channels_last must be 'auto', True or False"):
        cu.fit(conv_net(), data(), epochs=1, transform=TO_IMG, channels_last="yes", verbose=0)


def test_builtin_adam_is_fused_on_cpu():
    from course_utils.train.engine import _make_optimizer

    assert _make_optimizer(None, conv_net(), 1e-3, 0.0).defaults["fused"] is True
    assert _make_optimizer("adamw", conv_net(), 1e-3, 0.01).defaults["fused"] is True


def test_flatten_passes_its_gradient_on_channels_last_during_fit_only():
    from course_utils.train.layout import channels_last_grads

    seen = []
    model = conv_net().to(memory_format=torch.channels_last)
    model[3].register_full_backward_hook(lambda m, g_in, g_out: seen.append(g_out[0]))  # the ReLU before Flatten
    x = TO_IMG(torch.from_numpy(data(8)[0]))
    model(x).sum().backward()
    plain = model[0].weight.grad.clone()
    assert not seen[-1].is_contiguous(memory_format=torch.channels_last)  # what Flatten hands back by itself
    model.zero_grad()
    hooks = channels_last_grads(model)
    model(x).sum().backward()
    assert seen[-1].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(model[0].weight.grad, plain)  # the same numbers
    for h in hooks:
        h.remove()
    fitted = conv_net()
    cu.fit(fitted, data(), epochs=1, batch_size=16, transform=TO_IMG, amp=False, verbose=0)
    assert not fitted[4]._forward_pre_hooks  # fit takes its hooks off again


def test_a_fit_refused_after_the_layout_probe_leaves_no_hook_on_the_model():
    model, (x, _) = conv_net(), data()
    with pytest.raises(ValueError):  # label 12 for a model with 10 outputs: refused after the layout probe
        cu.fit(model, (x, np.full(len(x), 12)), epochs=1, transform=TO_IMG, amp=False, verbose=0)
    assert not model[4]._forward_pre_hooks


def test_fit_on_cpu_keeps_freed_memory_where_glibc_allows():
    import sys

    from course_utils import cpu_memory

    cu.fit(conv_net(), data(), epochs=1, batch_size=16, transform=TO_IMG, amp=False, verbose=0)
    if sys.platform.startswith("linux"):
        assert cpu_memory._applied is True  # the Debian CI machines have glibc
    assert cpu_memory.keep_freed_memory() is cpu_memory._applied  # once per process

"""The training engine (course_utils.train): it learns, repeats itself, stops early, saves, refuses."""

import math
import os

import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils.precision import choose_precision
from course_utils.train import EarlyStopping
from course_utils.train.progress import resolve_mode

TO_FLOAT = lambda x: x.float().div(255)  # noqa: E731  uint8 digits stay uint8 until the batch


@pytest.fixture(scope="module")
def digits(mirror_dir):
    """2,000 real MNIST training digits and 1,000 test digits, uint8 as loaded."""
    os.environ.setdefault("COURSE_DATA_MIRROR", str(mirror_dir))
    (x, y), (xt, yt) = cu.load_mnist()
    return (x[:2000], y[:2000]), (xt[:1000], yt[:1000])


def mlp(hidden=64, dropout=0.0, seed=0):
    """A seeded MLP; the seed also fixes fit's shuffling, dropout and augmentation that follow."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_learns_real_digits(digits):
    train, test = digits
    model = mlp()
    h = cu.fit(model, train, test, epochs=5, lr=3e-3, transform=TO_FLOAT, verbose=0)
    assert list(h.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert h["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert h["val_acc"].iloc[-1] > 0.85  # 2,000 digits, 5 epochs, a 50k-parameter MLP
    result = cu.evaluate(model, test, transform=TO_FLOAT)
    assert result["acc"] == pytest.approx(h["val_acc"].iloc[-1])
    assert result["loss"] == pytest.approx(h["val_loss"].iloc[-1], rel=1e-5)
    logits = cu.predict(model, test[0], transform=TO_FLOAT, batch_size=300)
    assert logits.shape == (1000, 10) and logits.dtype == np.float32
    assert (logits.argmax(1) == test[1]).mean() == pytest.approx(result["acc"])


def test_same_seed_same_history(digits):
    (x, y), (xt, yt) = digits
    runs = []
    for _ in range(2):
        cu.seed_everything(7, tensorflow=False)  # the one seeding call: weights, shuffle, dropout, augmentation
        model = mlp(dropout=0.3, seed=7)
        aug = lambda b: cu.random_shift_rotate(b.unsqueeze(1)).squeeze(1)  # noqa: E731
        h = cu.fit(model, (x[:600], y[:600]), (xt[:200], yt[:200]), epochs=2, batch_size=64,
                   transform=TO_FLOAT, augment=aug, schedule="cosine", verbose=0)
        runs.append((h.drop(columns="seconds"), weights(model)))
    assert runs[0][0].equals(runs[1][0])
    assert same_weights(runs[0][1], runs[1][1])
    model = mlp(dropout=0.3, seed=7)
    torch.manual_seed(8)  # same initial weights, another shuffle and other dropout masks
    other = cu.fit(model, (x[:600], y[:600]), epochs=1, batch_size=64, transform=TO_FLOAT, verbose=0)
    assert other["train_loss"].iloc[0] != runs[0][0]["train_loss"].iloc[0]


def test_early_stopping_restores_best_weights(digits):
    (x, y), (xt, yt) = digits
    rng = np.random.default_rng(0)
    noise = (x[:300], rng.permutation(y[:300]))  # shuffled labels: memorising them hurts validation
    kw = dict(epochs=30, lr=3e-3, transform=TO_FLOAT, verbose=0)
    model = mlp(hidden=256, seed=3)
    h = cu.fit(model, noise, (xt[:300], yt[:300]), early_stopping=dict(patience=2, monitor="val_loss"), **kw)
    best = int(h["val_loss"].idxmin()) + 1
    assert h.attrs["stopped_early"] and h.attrs["best_epoch"] == best
    assert len(h) == best + 2
    # the weights are those of the best epoch: equal to a run that simply ends there
    again = mlp(hidden=256, seed=3)
    cu.fit(again, noise, (xt[:300], yt[:300]), **{**kw, "epochs": best})
    assert same_weights(weights(model), weights(again))
    assert cu.evaluate(model, (xt[:300], yt[:300]), transform=TO_FLOAT)["loss"] == pytest.approx(h["val_loss"].min(), rel=1e-5)


def test_checkpoint_round_trip(digits, tmp_path):
    (x, y), _ = digits
    model = mlp()
    path = tmp_path / "run" / "mlp.pt"
    h = cu.fit(model, (x[:256], y[:256]), epochs=2, transform=TO_FLOAT, checkpoint=path, verbose=0)
    fresh = mlp(seed=5)
    opt = torch.optim.Adam(fresh.parameters())
    meta = cu.load_checkpoint(path, fresh, opt)
    assert same_weights(weights(model), weights(fresh))
    assert meta["epoch"] == 2 and meta["history"]["train_loss"] == h["train_loss"].tolist()
    assert len(opt.state) > 0  # the Adam moments came back too
    cu.save_checkpoint(tmp_path / "again.pt", fresh, note="plain values only")
    assert cu.load_checkpoint(tmp_path / "again.pt", mlp(seed=6)) == {"note": "plain values only"}


def test_checkpoint_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": mlp().state_dict(), "meta": {"obj": EarlyStopping()}}, path)
    with pytest.raises(Exception, match="weights_only|Unsupported|not allowed|GLOBAL"):
        cu.load_checkpoint(path, mlp())


@pytest.mark.parametrize("change, message", [
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(batch_size=2.5), "batch_size must be a positive integer"),
    (dict(lr=-1.0), "lr must be a positive number"),
    (dict(schedule="linear"), "unknown schedule 'linear'"),
    (dict(optimizer="adagrad"), "unknown optimizer"),
    (dict(amp="fp8"), "amp='fp8' is not understood"),
    (dict(amp="fp16"), "float16 autocast is slow on CPUs"),
    (dict(early_stopping=2, val=False), "needs val_data"),
    (dict(early_stopping=0), "patience must be an integer >= 1"),
    (dict(y_len=99), "x has 100 samples but y has 99"),
    (dict(label=10), r"labels must lie in \[0, 9\].*from 0 to 10"),
    (dict(label=-1), r"labels must lie in \[0, 9\]"),
    (dict(float_labels=True), "class labels must be integers"),
    (dict(shape=(100, 28, 27), val=False), r"cannot run on the inputs: a batch of shape \(2, 28, 27\)"),
    (dict(no_transform=True), "x is uint8: pass e.g. transform="),
    (dict(val_shape=(10, 28, 27)), "val_data x has samples of shape"),
    (dict(optimizer=42), "unknown optimizer 42"),
])
def test_refuses_bad_arguments_before_training(change, message):
    change = dict(change)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, change.pop("shape", (100, 28, 28)), dtype=np.uint8)
    y = rng.integers(0, 10, change.pop("y_len", 100))
    if "label" in change:
        y[5] = change.pop("label")
    if change.pop("float_labels", False):
        y = y.astype(np.float32)
    val = (rng.integers(0, 256, change.pop("val_shape", (10, 28, 28)), dtype=np.uint8), np.arange(10))
    if not change.pop("val", True):
        val = None
    transform = None if change.pop("no_transform", False) else TO_FLOAT
    model = mlp()
    before = weights(model)
    args = {"epochs": 1, "verbose": 0, "transform": transform, **change}
    with pytest.raises((ValueError, TypeError), match=message):
        cu.fit(model, (x, y), val, **args)
    assert same_weights(before, weights(model))  # nothing was trained


def test_binary_lstm_on_token_ids():
    """(N, L) int64 ids into an Embedding + LSTM, one logit out, 0/1 labels: BCE is chosen."""

    class TinyLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.lstm = nn.LSTM(16, 16, batch_first=True)
            self.out = nn.Linear(16, 1)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.emb(ids))
            return self.out(h[-1])

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 50, (512, 12), generator=g)
    label = torch.rand(512, generator=g) < 0.5
    ids[label, torch.randint(0, 12, (int(label.sum()),), generator=g)] = 1  # positive: token 1 occurs
    torch.manual_seed(0)
    model = TinyLSTM()
    h = cu.fit(model, (ids[:400], label[:400].long()), (ids[400:], label[400:].long()), epochs=8, lr=1e-2,
               batch_size=32, grad_clip=1.0, schedule="onecycle", verbose=0)
    assert h["val_acc"].iloc[-1] > 0.8
    assert cu.predict(model, ids[:3]).shape == (3, 1)
    with pytest.raises(ValueError, match="expects 0/1 labels"):
        cu.fit(model, (ids[:10], torch.arange(10)), epochs=1, verbose=0)


def test_schedules_and_cpu_bf16(digits):
    (x, y), _ = digits
    steps = 2 * 256 // 32
    for schedule, last_lr in (("cosine", 0.5e-3 * (1 + math.cos(math.pi * (steps - 1) / steps))),
                              ("onecycle", 1e-3 / 25 / 1e4), (None, 1e-3)):
        h = cu.fit(mlp(), (x[:256], y[:256]), epochs=2, batch_size=32, transform=TO_FLOAT, schedule=schedule, verbose=0)
        assert h["lr"].iloc[-1] == pytest.approx(last_lr, rel=1e-6)
    h = cu.fit(mlp(), (x[:256], y[:256]), epochs=1, transform=TO_FLOAT, amp="bf16", verbose=0)
    assert h.attrs["precision"] == "bfloat16" and math.isfinite(h["train_loss"].iloc[0])


def test_precision_rules():
    assert choose_precision("auto", "cuda", (9, 0)).dtype == "bfloat16"  # H100
    t4 = choose_precision("auto", "cuda", (7, 5))
    assert t4.dtype == "float16" and t4.scaler  # Colab T4: fp16 with loss scaling
    assert choose_precision("fp16", "cuda", (8, 0)).scaler
    assert choose_precision("auto", "cpu").dtype is None  # emulated bf16 is slow
    assert choose_precision("auto", "cpu", cpu_bf16=True).dtype == "bfloat16"  # AVX512-BF16 / AMX
    assert choose_precision(True, "cpu").dtype == "bfloat16"
    assert choose_precision(False, "cuda", (9, 0)).dtype is None
    assert choose_precision("auto", "mps").dtype is None
    with pytest.raises(ValueError, match="no fast bfloat16"):
        choose_precision("bf16", "cuda", (7, 5))


def test_progress_lines_on_stdout_only(digits, capsys, monkeypatch):
    (x, y), (xt, yt) = digits
    cu.fit(mlp(), (x[:128], y[:128]), (xt[:64], yt[:64]), epochs=2, transform=TO_FLOAT, verbose=2)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    precision = str(cu.device_report("cpu", include_tensorflow=False)["mixed_precision"])
    assert len(lines) == 3 and lines[0] == f"fit: 128 samples on cpu in {precision}, 2 epoch(s) of 1 steps"
    assert lines[1].startswith("epoch 1/2  train_loss") and "val_acc" in lines[1]
    assert err == ""
    cu.fit(mlp(), (x[:128], y[:128]), epochs=1, transform=TO_FLOAT, verbose=0)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setenv("CI", "true")
    assert resolve_mode("auto") == "lines"
    monkeypatch.setenv("COURSE_PROGRESS", "off")
    assert resolve_mode("auto") == "off"


def test_random_shift_rotate():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 28, 28, generator=g)
    assert torch.allclose(cu.random_shift_rotate(x, max_shift=0, max_degrees=0), x, atol=1e-5)
    a = cu.random_shift_rotate(x, generator=torch.Generator().manual_seed(1))
    b = cu.random_shift_rotate(x, generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.allclose(a, x)
    assert cu.random_shift_rotate(x[:, 0]).shape == (8, 28, 28)
    with pytest.raises(TypeError, match="float images"):
        cu.random_shift_rotate(torch.zeros(2, 28, 28, dtype=torch.uint8))


def test_checkpoint_meta_from_numpy_loads_back(tmp_path):
    """NumPy numbers in the meta (an epoch from np.argmax, a history column) are stored as plain values."""
    path = cu.save_checkpoint(tmp_path / "np.pt", mlp(), epoch=np.int64(3), acc=np.float32(0.5),
                              curve=np.arange(3), nested={"best": np.int32(2)})
    assert cu.load_checkpoint(path, mlp()) == {"epoch": 3, "acc": 0.5, "curve": [0, 1, 2], "nested": {"best": 2}}
    with pytest.raises(TypeError, match="checkpoint meta\\['rule'\\] is a EarlyStopping"):
        cu.save_checkpoint(tmp_path / "bad.pt", mlp(), rule=EarlyStopping())
    assert not (tmp_path / "bad.pt").exists() and not list(tmp_path.glob(".part-*"))


def test_early_stopping_on_val_acc_and_without_restoring(digits):
    (x, y), (xt, yt) = digits
    rng = np.random.default_rng(1)
    noise = (x[:300], rng.permutation(y[:300]))
    kw = dict(epochs=30, lr=3e-3, transform=TO_FLOAT, verbose=0)
    model = mlp(hidden=256, seed=4)
    h = cu.fit(model, noise, (xt[:300], yt[:300]), early_stopping=dict(patience=2, monitor="val_acc"), **kw)
    best = int(h["val_acc"].idxmax()) + 1  # the first epoch with the highest accuracy
    assert h.attrs["stopped_early"] and h.attrs["best_epoch"] == best and len(h) == best + 2
    assert cu.evaluate(model, (xt[:300], yt[:300]), transform=TO_FLOAT)["acc"] == pytest.approx(h["val_acc"].max())

    kept = mlp(hidden=256, seed=4)
    h2 = cu.fit(kept, noise, (xt[:300], yt[:300]),
                early_stopping=dict(patience=2, monitor="val_acc", restore_best=False), **kw)
    assert h2.drop(columns="seconds").equals(h.drop(columns="seconds"))  # same run, same seed
    # the last epoch's weights stay: their accuracy is the last row's, not the best one
    assert cu.evaluate(kept, (xt[:300], yt[:300]), transform=TO_FLOAT)["acc"] == pytest.approx(h2["val_acc"].iloc[-1])

"""Chapter 07's pretrained-weights cache: round trip, mirror pickup, refusals before any training."""

import json
import os
import pickle
import shutil

import pytest
import torch

from course_utils import pretrained
from course_utils.gpt import GPT, GPTConfig
from course_utils.pretrained import PretrainedError

CFG = GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=2, d_model=16)
SPEC = {"model": CFG.to_dict(), "tokenizer": "abc", "data": "def", "tokens": 1000, "lr": 0.001, "seed": 0}


class Trainer:
    """A stand-in for pretraining that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.5)
        return {"val_loss": 1.23}


@pytest.fixture
def env(tmp_path, monkeypatch):
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(cache))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    return cache / "gpt", mirror


def _fresh():
    torch.manual_seed(0)
    return GPT(CFG)


def test_round_trip_pretrains_once(env):
    cache, _ = env
    train = Trainer()
    a = _fresh()
    facts, source = pretrained.load_or_pretrain(a, SPEC, train, name="t")
    assert source == "pretrained now" and facts == {"val_loss": 1.23} and train.calls == 1
    b = _fresh()
    facts2, source2 = pretrained.load_or_pretrain(b, SPEC, train, name="t")
    assert source2 == "cache" and facts2 == facts and train.calls == 1
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    files = sorted(p.name for p in cache.iterdir())
    key = pretrained.spec_key(SPEC)
    assert files == [f"t-{key}.json", f"t-{key}.pt"]
    manifest = json.loads((cache / f"t-{key}.json").read_text())
    assert manifest["spec"] == SPEC and len(manifest["sha256"]) == 64


def test_other_configuration_is_a_different_key(env):
    train = Trainer()
    pretrained.load_or_pretrain(_fresh(), SPEC, train, name="t")
    pretrained.load_or_pretrain(_fresh(), {**SPEC, "tokens": 2000}, train, name="t")
    assert train.calls == 2


def test_checkpoint_from_another_configuration_refused(env):
    cache, _ = env
    train = Trainer()
    pretrained.load_or_pretrain(_fresh(), SPEC, train, name="t")
    other = {**SPEC, "tokens": 5000}
    src_w, src_m = (cache / n for n in pretrained.file_names("t", SPEC))
    dst_w, dst_m = (cache / n for n in pretrained.file_names("t", other))
    shutil.copy(src_w, dst_w)
    shutil.copy(src_m, dst_m)  # the manifest still says tokens=1000
    with pytest.raises(PretrainedError, match=r"another configuration \(tokens: 1000 there, 5000 here\)"):
        pretrained.load_or_pretrain(_fresh(), other, train, name="t")
    assert train.calls == 1  # refused before any training


def test_wrong_checksum_refused(env):
    cache, _ = env
    train = Trainer()
    pretrained.load_or_pretrain(_fresh(), SPEC, train, name="t")
    w, _ = (cache / n for n in pretrained.file_names("t", SPEC))
    data = bytearray(w.read_bytes())
    data[-20] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="does not match its manifest"):
        pretrained.load_or_pretrain(_fresh(), SPEC, train, name="t")
    assert train.calls == 1


def test_missing_manifest_refused(env):
    cache, _ = env
    pretrained.load_or_pretrain(_fresh(), SPEC, Trainer(), name="t")
    (cache / pretrained.file_names("t", SPEC)[1]).unlink()
    with pytest.raises(PretrainedError, match="no manifest"):
        pretrained.find(SPEC, name="t")


def _instructor_files(tmp_path, spec=SPEC):
    """What an instructor would copy to the mirror: a pretrained model saved in their own cache."""
    own = tmp_path / "instructor"
    m = _fresh()
    Trainer()(m)
    pretrained.save(m.state_dict(), spec, name="t", facts={"val_loss": 2.0}, cache_dir=own)
    return own, m


def test_mirror_pickup_verified_and_copied_into_cache(env, tmp_path):
    cache, mirror = env
    own, m = _instructor_files(tmp_path)
    shutil.copytree(own, mirror / "gpt")
    train = Trainer()
    b = _fresh()
    facts, source = pretrained.load_or_pretrain(b, SPEC, train, name="t", policy="never")
    assert source.startswith("mirror") and facts == {"val_loss": 2.0} and train.calls == 0
    assert all(torch.equal(m.state_dict()[k], b.state_dict()[k]) for k in m.state_dict())
    assert (cache / pretrained.file_names("t", SPEC)[0]).is_file()  # now cached
    assert not any(p.name.startswith((".incoming", ".part")) for p in cache.iterdir())


def test_damaged_mirror_copy_refused_and_not_cached(env, tmp_path):
    cache, mirror = env
    own, _ = _instructor_files(tmp_path)
    shutil.copytree(own, mirror / "gpt")
    w = mirror / "gpt" / pretrained.file_names("t", SPEC)[0]
    w.write_bytes(w.read_bytes()[:-10])
    with pytest.raises(PretrainedError, match="the mirror .*does not match its manifest"):
        pretrained.load_or_pretrain(_fresh(), SPEC, Trainer(), name="t")
    assert not (cache / w.name).exists()
    assert not any(p.name.startswith(".incoming") for p in cache.iterdir())


def test_policy_never_names_what_to_change(env, tmp_path):
    _, mirror = env
    own, _ = _instructor_files(tmp_path, {**SPEC, "tokens": 9000})
    shutil.copytree(own, mirror / "gpt")
    with pytest.raises(PretrainedError, match=r"tokens: 9000 there, 1000 here.*pretrain='auto'"):
        pretrained.load_or_pretrain(_fresh(), SPEC, Trainer(), name="t", policy="never")


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_hostile_pickle_refused_even_with_matching_manifest(env):
    cache, _ = env
    w_name, m_name = pretrained.file_names("t", SPEC)
    cache.mkdir(parents=True)
    torch.save({"tok_emb.weight": torch.zeros(2), "evil": Boom()}, cache / w_name)
    w = cache / w_name
    manifest = {"schema": 1, "file": w_name, "size": w.stat().st_size, "sha256": pretrained.sha256_file(w), "spec": SPEC}
    (cache / m_name).write_text(json.dumps(manifest))
    with pytest.raises(PretrainedError, match="something other than plain tensors"):
        pretrained.load_or_pretrain(_fresh(), SPEC, Trainer(), name="t")
    raw = cache / "raw.pt"
    raw.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(PretrainedError):
        pretrained.load_state(raw)


def test_bad_policy_and_name(env):
    with pytest.raises(ValueError, match="policy"):
        pretrained.load_or_pretrain(_fresh(), SPEC, Trainer(), name="t", policy="sometimes")
    with pytest.raises(ValueError, match="name"):
        pretrained.file_names("../x", SPEC)

"""Pretrained weights that are made once and checked every time they are used (chapter 07).

Pretraining is the slow step (minutes on a CPU), so its result is cached and never recomputed for
the same recipe. A recipe (`spec`: model configuration, tokenizer hash, data fingerprint, token
budget, learning rate, seed...) names the files:

    <data_dir>/gpt/<name>-<key>.pt     the state_dict: tensors only, read with weights_only=True
    <data_dir>/gpt/<name>-<key>.json   the manifest: spec, file size, sha256, training facts

key = the first 12 hex digits of sha256(spec as canonical JSON). An instructor who copies both
files onto the classroom mirror ($COURSE_DATA_MIRROR, same layout) spares every student the slow
step; the files are verified against the manifest and copied into the cache first.

Nothing unverified is used. A manifest whose spec is not this recipe (a renamed or mixed-up file),
a file whose size or sha256 differs from its manifest, or a file that holds anything but tensors
(a pickle can run code when loaded) is refused with a PretrainedError that says what to change,
before any training starts.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ._files import atomic_write, atomic_writer, sha256_file

SCHEMA = 1
FOLDER = "gpt"
POLICIES = ("auto", "never", "always")  # use cache/mirror else pretrain; never pretrain; always pretrain


class PretrainedError(ValueError):
    """A pretrained checkpoint that cannot be used; the message says what to change."""


def spec_key(spec: dict) -> str:
    return hashlib.sha256(_canonical(spec).encode()).hexdigest()[:12]


def _canonical(spec: dict) -> str:
    try:
        return json.dumps(spec, sort_keys=True, separators=(",", ":"))
    except TypeError as e:
        raise TypeError(f"a pretraining spec holds plain values only (numbers, strings, lists, dicts): {e}") from None


def cache_root(cache_dir=None) -> Path:
    """Where chapter 07 keeps what it makes once (tokenizer, encoded ids, weights): <data_dir>/gpt."""
    if cache_dir is None:
        from .data import data_dir

        return data_dir() / FOLDER
    return Path(cache_dir)


def file_names(name: str, spec: dict) -> tuple[str, str]:
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"a checkpoint name uses letters, digits, '-', '_' and '.', got {name!r}")
    key = spec_key(spec)
    return f"{name}-{key}.pt", f"{name}-{key}.json"


def _diff(found: dict, wanted: dict, prefix: str = "") -> list[str]:
    """Human-readable differences between two specs: 'd_model: 256 there, 128 here'."""
    out = []
    for k in sorted(set(found) | set(wanted)):
        a, b = found.get(k, "(absent)"), wanted.get(k, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} there, {b!r} here")
    return out


# ---- writing ------------------------------------------------------------------------------------

def save(state_dict: dict, spec: dict, *, name: str, facts: dict | None = None, cache_dir=None) -> Path:
    """Write the tensors, then their manifest (both atomically: a crash leaves no half file);
    returns the weights' path."""
    import torch

    weights_name, manifest_name = file_names(name, spec)
    root = cache_root(cache_dir)
    path = root / weights_name
    state = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    with atomic_writer(path) as f:
        torch.save(state, f)
    manifest = {"schema": SCHEMA, "name": name, "key": spec_key(spec), "file": weights_name,
                "size": path.stat().st_size, "sha256": sha256_file(path), "spec": spec,
                "facts": facts or {}, "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write(root / manifest_name, json.dumps(manifest, indent=1, sort_keys=True))
    return path


# ---- reading and checking -----------------------------------------------------------------------

def read_manifest(path: Path, where: str) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and {"spec", "sha256", "size", "file"} <= set(manifest)
    except FileNotFoundError:
        raise PretrainedError(f"{where}: no manifest {Path(path).name} beside the weights, so they cannot be "
                              f"verified; copy the .json that belongs to them there, or delete the .pt") from None
    except (ValueError, AssertionError, UnicodeDecodeError):
        raise PretrainedError(f"{where}: the manifest {path} is not a valid manifest; replace it with the "
                              f"original or delete both files to pretrain again") from None
    return manifest


def verify(weights: Path, manifest_path: Path, spec: dict, where: str) -> dict:
    """Check the manifest's spec against this recipe, then the file's size and sha256; returns the manifest."""
    manifest = read_manifest(manifest_path, where)
    if manifest["spec"] != spec:
        diffs = "; ".join(_diff(manifest["spec"], spec))
        raise PretrainedError(
            f"{where}: {weights.name} was pretrained with another configuration ({diffs}). Refused. To use it, "
            f"set the parameters to the values it was made with; otherwise delete {weights} and its .json "
            f"(or give them their right name) so that this configuration is pretrained anew.")
    size = weights.stat().st_size
    if size != manifest["size"]:
        problem = f"{size:,} bytes, the manifest says {manifest['size']:,}"
    elif sha256_file(weights) != manifest["sha256"]:
        problem = f"its sha256 is not the manifest's {manifest['sha256'][:16]}..."
    else:
        return manifest
    raise PretrainedError(
        f"{where}: {weights} does not match its manifest ({problem}): damaged or replaced. Refused. Delete it "
        f"and its .json (on a mirror: copy both again from the instructor's originals), then rerun.")


def load_state(weights: Path) -> dict:
    """torch.load with weights_only=True: tensors and plain containers only; a pickle that would
    build any other object (and so could run code) is refused."""
    import pickle

    import torch

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, TypeError) as e:
        raise PretrainedError(f"{weights} holds something other than plain tensors (or is not a torch file), "
                              f"so it is not loaded: {str(e).splitlines()[0][:200]}. Delete it and its .json.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PretrainedError(f"{weights} is not a state_dict of tensors; delete it and its .json")
    return state


@dataclass
class Found:
    state: dict
    manifest: dict
    source: str  # "cache" or "mirror <base>"
    path: Path


def _mirror_files(base: str, names: tuple[str, str], dest: Path) -> tuple[Path, Path] | None:
    """Copy name.pt and name.json from one mirror into temporary files in `dest`; None if absent.

    The data layer's download serves folders (file://) and http mirrors alike, with its deadline
    and byte cap; nothing copied enters the cache before `find` has verified it.
    """
    from .data.download import NotFound, download

    dest.mkdir(parents=True, exist_ok=True)
    got = []
    try:
        for n in reversed(names):  # the manifest first: without it the weights are useless
            try:
                tmp = download(f"{base}/{FOLDER}/{n}", dest, desc=n)
            except NotFound:
                for p in got:  # a manifest without its weights: leave nothing behind
                    p.unlink(missing_ok=True)
                return None
            got.append(tmp.replace(dest / f".incoming-{n}"))
    except BaseException:
        for p in got:
            p.unlink(missing_ok=True)
        raise
    return got[1], got[0]


def find(spec: dict, *, name: str, cache_dir=None, use_mirrors: bool = True) -> Found | None:
    """The verified weights of this recipe from the cache, else from a mirror (copied into the cache
    once verified), else None. Anything found but wrong raises PretrainedError."""
    weights_name, manifest_name = file_names(name, spec)
    root = cache_root(cache_dir)
    weights, manifest_path = root / weights_name, root / manifest_name
    if weights.is_file():
        manifest = verify(weights, manifest_path, spec, "the cache")
        return Found(load_state(weights), manifest, "cache", weights)
    if not use_mirrors:
        return None
    from .data.locations import mirrors

    for base in mirrors():
        got = _mirror_files(base, (weights_name, manifest_name), root)
        if got is None:
            continue
        tmp_w, tmp_m = got
        try:
            where = f"the mirror {base}"
            manifest = verify(tmp_w, tmp_m, spec, where)
            state = load_state(tmp_w)
            tmp_w.replace(weights)  # verified: now it may enter the cache, the manifest last
            tmp_m.replace(manifest_path)
        finally:
            tmp_w.unlink(missing_ok=True)
            tmp_m.unlink(missing_ok=True)
        return Found(state, manifest, f"mirror {base}", weights)
    return None


def others(name: str) -> list[tuple[str, dict]]:
    """(where, manifest) of every checkpoint called `name` on the local mirrors, any recipe (the
    instructor's choice of recipe; the cache's other recipes are the learner's own experiments)."""
    from .data.locations import local_dir, mirrors

    places = [(f"the mirror {b}", local_dir(b) / FOLDER) for b in mirrors() if local_dir(b) is not None]
    out = []
    for where, folder in places:
        for p in sorted(folder.glob(f"{name}-*.json")) if folder.is_dir() else ():
            try:
                out.append((where, json.loads(p.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                continue
    return out


def nearest_note(spec: dict, name: str) -> str:
    """'the mirror has weights for ...; set a=b to use them', or '' when there are none."""
    best = None
    for where, manifest in others(name):
        if isinstance(manifest.get("spec"), dict):
            d = _diff(manifest["spec"], spec)
            if best is None or len(d) < len(best[1]):
                best = (where, d)
    if not best:
        return ""
    return (f"{best[0]} holds pretrained weights '{name}' for another configuration ({'; '.join(best[1])}); "
            f"set those parameters to the values 'there' to use them instead of pretraining")


def load_or_pretrain(model, spec: dict, pretrain, *, name: str, policy: str = "auto", cache_dir=None):
    """Give `model` the weights of recipe `spec`: from the cache, a mirror, or by calling
    `pretrain(model) -> facts` (a dict of plain values kept in the manifest) and saving the result.

    policy: "auto" (cache, mirror, else pretrain), "never" (refuse to pretrain: for a CPU classroom
    whose instructor put the weights on the mirror), "always" (pretrain again, replacing the cache).
    Returns (facts, source) with source "cache", "mirror ..." or "pretrained now".
    """
    if policy not in POLICIES:
        raise ValueError(f"pretrain policy must be one of {POLICIES}, got {policy!r}")
    if policy != "always":
        found = find(spec, name=name, cache_dir=cache_dir)
        if found is not None:
            _load_into(model, found.state, found.path)
            return dict(found.manifest.get("facts", {})), found.source
        note = nearest_note(spec, name)
        if policy == "never":
            raise PretrainedError(
                f"no pretrained weights '{name}' for this configuration in the cache or on a mirror, and "
                f"pretrain='never'. " + (note + "; " if note else "") +
                "or set pretrain='auto' to pretrain here (slow on a CPU).")
        if note:
            print("note:", note)
    facts = pretrain(model)
    save(model.state_dict(), spec, name=name, facts=facts, cache_dir=cache_dir)
    return facts, "pretrained now"


def _load_into(model, state: dict, path: Path) -> None:
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise PretrainedError(f"{path} does not fit this model: {str(e).splitlines()[0][:300]}; "
                              f"delete it and its .json") from None

"""`python -m course_utils doctor`: what to paste when asking for help.

One report of everything a helper asks first: versions, the device and the precision the training
engine would use on it, whether the data is there and verified, the run profile and the thread
settings. Plain markdown (headings and bullets paste well into an issue or a chat); `--json` for
scripts. Every section is gathered on its own, so a broken part shows up as a line in the report
instead of a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata

# import name -> distribution names that provide it (the first one installed is reported)
PACKAGES = {
    "course_utils": ("course_utils", "course-utils"),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "keras": ("keras",),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "matplotlib": ("matplotlib",),
    "jupyterlab": ("jupyterlab",),
    "ipykernel": ("ipykernel",),
    "papermill": ("papermill",),
}
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "COURSE_THREADS")


def _version(names) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict:
    """Installed versions, read from package metadata (nothing heavy is imported)."""
    found = {"python": f"{platform.python_version()} ({sys.executable})"}
    for name, dists in PACKAGES.items():
        found[name] = _version(dists) or "not installed"
    import course_utils

    found["course_utils"] = f"{course_utils.__version__} ({os.path.dirname(course_utils.__file__)})"
    return found


def device(tensorflow: bool = True) -> dict:
    """device.device_report (which names the precision the training engine uses on that device)."""
    from .device import device_report

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report = device_report(include_tensorflow=tensorflow)
    for key in ("python", "numpy", "torch", "tensorflow", "keras", "physical_cores", "torch_threads"):
        report.pop(key, None)  # shown under versions and settings
    if report.get("device", "").startswith("cuda"):
        import torch

        cap = torch.cuda.get_device_capability()
        report["compute_capability"] = f"{cap[0]}.{cap[1]}"
    from .colab import on_colab

    report["colab"] = on_colab()
    return report


def _file_state(spec) -> str:
    from .data.sources import cache_path, read_marker

    path = cache_path(spec)
    if not path.is_file():
        return "missing"
    return "verified" if read_marker(path) is not None else "present, not verified yet"


def data() -> dict:
    """Where the data cache is and what it holds, from the data layer's own registry and markers.

    Cheap: a file counts as verified when the marker written at verification still matches its
    size and time; `python -m course_utils data verify` re-checks every checksum.
    """
    from .data import data_dir, mirrors
    from .data.registry import DATASETS

    report = {"cache": str(data_dir()), "mirrors": mirrors() or "none"}
    for dataset, files in DATASETS.items():
        states = {spec.name: _file_state(spec) for spec in files.values()}
        if dataset == "mnist":
            n_ok = sum(s == "verified" for s in states.values())
            summary = "verified" if n_ok == len(states) else f"{n_ok}/{len(states)} files verified"
        else:  # IMDb: one of several accepted forms is enough
            folder = data_dir() / dataset
            extracted = (folder / "aclImdb").is_dir()
            summary = "verified" if "verified" in states.values() else (
                "extracted folder present" if extracted else "missing")
        report[dataset] = {"status": summary, "files": states}
    return report


def settings() -> dict:
    from .device import physical_cores
    from .profiles import ENV_VAR, ProfileError, active_profile

    try:
        profile = active_profile()
    except ProfileError as exc:
        profile = f"invalid: {exc}"
    found = {
        "profile": profile,
        ENV_VAR: os.environ.get(ENV_VAR, "unset"),
        "physical_cores": physical_cores(),
        "logical_cpus": os.cpu_count(),
    }
    try:
        found["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    if "torch" in sys.modules or _version(("torch",)):
        import torch

        found["torch_threads"] = torch.get_num_threads()
    for var in THREAD_VARS:
        found[var] = os.environ.get(var, "unset")
    return found


def _gather(name: str, fn, *args) -> dict:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001  (the report must come out whatever broke)
        return {"error": f"{type(exc).__name__}: {exc}"}


def hints(report: dict) -> list[str]:
    """Problems worth fixing first, each with what to do."""
    found = []
    for section, values in report.items():
        if isinstance(values, dict) and "error" in values:
            found.append(f"the {section} section failed: {values['error']}")
    v = report.get("versions", {})
    for name in ("torch", "numpy", "jupyterlab"):
        if v.get(name) == "not installed":
            found.append(f"{name} is not installed: run `bash scripts/ensure_env.sh` (or `pip install -r requirements.txt`)")
    d = report.get("data", {})
    for dataset in ("mnist", "imdb"):
        status = d.get(dataset, {}).get("status") if isinstance(d.get(dataset), dict) else None
        if status and status != "verified":
            found.append(f"{dataset}: {status}; run `python -m course_utils data fetch`")
    s = report.get("settings", {})
    if str(s.get("profile", "")).startswith("invalid"):
        found.append(f"{s['profile']}")
    omp = s.get("OMP_NUM_THREADS", "unset")
    if omp != "unset" and omp.isdigit() and isinstance(s.get("usable_cpus"), int) and int(omp) > s["usable_cpus"]:
        found.append(f"OMP_NUM_THREADS={omp} is more than the {s['usable_cpus']} usable CPUs: expect slow math")
    dev = report.get("device", {})
    if dev.get("colab") and dev.get("device") == "cpu":
        from .colab import MENU_PATH

        found.append(f"Colab without a GPU: {MENU_PATH}")
    return found


def collect(tensorflow: bool = True) -> dict:
    report = {
        "versions": _gather("versions", versions),
        "device": _gather("device", device, tensorflow),
        "data": _gather("data", data),
        "settings": _gather("settings", settings),
    }
    report["hints"] = hints(report)
    return report


def _lines(values, indent: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        if isinstance(value, dict):
            out.append(f"{indent}- {key}:")
            out += _lines(value, indent + "  ")
        else:
            if isinstance(value, list):
                value = ", ".join(map(str, value)) or "none"
            out.append(f"{indent}- {key}: {value}")
    return out


def render(report: dict) -> str:
    lines = ["# course_utils doctor", "", "(paste all of this when you ask for help)"]
    for section in ("versions", "device", "data", "settings"):
        lines += ["", f"## {section}", *_lines(report[section])]
    lines += ["", "## hints"]
    lines += [f"- {h}" for h in report["hints"]] or ["- nothing to fix that the doctor can see"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-tensorflow", action="store_true",
                        help="skip asking TensorFlow for its GPUs (it takes seconds to import)")
    args = parser.parse_args(argv)
    report = collect(tensorflow=not args.no_tensorflow)
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    """The one device report (course_utils.device.device_report), which names the engine's precision."""
    from ..colab import on_colab
    from ..device import device_report

    report = device_report(include_tensorflow=tensorflow)
    for key in ("python", "numpy", "torch", "tensorflow", "keras", "physical_cores", "torch_threads"):
        report.pop(key, None)  # shown under versions and settings
    report["colab"] = on_colab()
    return report


def data() -> dict:
    """Where the data cache is and what it holds: the data layer's own status of each dataset.

    The same function answers `python -m course_utils data where` and `data verify`.
    """
    from ..data import DATASETS, data_dir, mirrors, status

    report = {"cache": str(data_dir()), "mirrors": mirrors() or "none"}
    for name in DATASETS:
        report[name] = status(name)
    return report


def settings() -> dict:
    from ..device import physical_cores
    from ..profiles import ENV_VAR, ProfileError, active_profile

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
    for name, state in report.get("data", {}).items():
        if isinstance(state, dict) and state.get("state") not in (None, "verified"):
            fix = state.get("fix") or f"run `python -m course_utils data fetch {name}`"
            found.append(f"{name}: {state['state']}; {fix}")
    s = report.get("settings", {})
    if str(s.get("profile", "")).startswith("invalid"):
        found.append(f"{s['profile']}")
    omp = s.get("OMP_NUM_THREADS", "unset")
    if omp != "unset" and omp.isdigit() and isinstance(s.get("usable_cpus"), int) and int(omp) > s["usable_cpus"]:
        found.append(f"OMP_NUM_THREADS={omp} is more than the {s['usable_cpus']} usable CPUs: expect slow math")
    dev = report.get("device", {})
    if dev.get("colab") and dev.get("device") == "cpu":
        from ..colab import MENU_PATH

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

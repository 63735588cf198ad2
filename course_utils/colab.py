"""Google Colab: the "Open in Colab" badges, and the first cell that sets a Colab runtime up.

Everything Colab-specific is generated from REPO and BRANCH below: change them in this one place
when the course is published, then run `python -m course_utils.colab --update` to rewrite the
badges (README.md and every notebook) and the set-up cell, which is the same in every notebook.
`--check` changes nothing and exits 1 if something is out of date (a test runs the same check).

The set-up cell does nothing outside Colab. On Colab it installs course_utils from REPO with %pip
(course_utils depends on neither torch nor TensorFlow, so Colab's own builds stay), then calls
`setup()`: fetch the data with progress bars, and say whether a GPU is there and what it is used
for (float16 with gradient scaling on a T4, bfloat16 on Ampere and newer).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

# --- the one place to change when the course is published ------------------------------------
REPO = "github.com/large-models-course/large-models-course"
BRANCH = "main"
# ------------------------------------------------------------------------------------------------

NOTEBOOK_DIR = "notebooks"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_TAG = "colab-badge"  # tag (and cell id) of the notebook's first cell, which holds its badge
SETUP_TAG = "colab-setup"  # tag (and cell id) of the set-up cell, the notebook's first code cell
README_BEGIN = "<!-- colab-badges:begin (python -m course_utils.colab --update writes this table) -->"
README_END = "<!-- colab-badges:end -->"
MENU_PATH = "Runtime → Change runtime type → Hardware accelerator → T4 GPU → Save"
# What a CPU-only runtime costs. Stated as an estimate: replace it with measured numbers from
# benchmarks/RESULTS.md once they exist for a Colab CPU runtime and a T4.
CPU_COST = (
    "Without a GPU every notebook still runs, on Colab's 2-core CPU: chapters 01-03 take about as "
    "long as with one, but the training in chapters 04-06 is slower, by an estimated factor of "
    "several (minutes instead of seconds per epoch for the CNN and the LSTM)."
)
_CHECKOUT = Path(__file__).resolve().parents[1]


# --- Colab detection and set-up ------------------------------------------------------------------
def on_colab() -> bool:
    """True inside a Google Colab runtime (its kernel imports google.colab and sets COLAB_RELEASE_TAG)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def no_gpu_message() -> str:
    return (
        "No GPU in this Colab runtime: the notebooks will run on the CPU.\n"
        f"To use Colab's free GPU: {MENU_PATH}; then run the notebook again from the top "
        "(changing the runtime restarts it, so this cell runs again).\n" + CPU_COST
    )


def gpu_message(name: str, capability: tuple[int, int]) -> str:
    from .train.precision import choose_precision

    precision = choose_precision("auto", "cuda", tuple(capability))
    return (
        f"GPU: {name} (compute capability {capability[0]}.{capability[1]}); "
        f"the course's training engine uses {precision} on it."
    )


def _fetch_data() -> int:
    """`python -m course_utils data fetch`, in this process so that its progress bars show in the cell."""
    try:
        from .data import cli
    except ImportError as exc:  # an older course_utils without the data layer
        print(f"could not fetch the data ({exc}); each notebook fetches what it needs when it loads it")
        return 1
    return int(cli.main(["fetch"]) or 0)


def setup(fetch_data: bool = True) -> dict | None:
    """The Colab set-up: fetch the data, report the GPU. Outside Colab it does nothing and returns None."""
    if not on_colab():
        return None
    result = {"data_fetch_rc": _fetch_data() if fetch_data else None}
    import torch

    if torch.cuda.is_available():
        name, cap = torch.cuda.get_device_name(0), tuple(torch.cuda.get_device_capability(0))
        print(gpu_message(name, cap))
        result.update(gpu=name, capability=cap)
    else:
        print(no_gpu_message())
        result.update(gpu=None)
    return result


# --- what the badges and the set-up cell say ----------------------------------------------------
def _repo_path() -> str:
    """`org/name` from REPO (a github.com address, with or without https:// and .git)."""
    m = re.fullmatch(r"(?:https?://)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", REPO)
    if not m:
        raise ValueError(f"REPO must look like 'github.com/<org>/<repo>', got {REPO!r}")
    return f"{m.group(1)}/{m.group(2)}"


def pip_spec() -> str:
    return f"course_utils @ git+https://github.com/{_repo_path()}@{BRANCH}"


def colab_url(notebook: str) -> str:
    """The Colab address that opens notebooks/<notebook> from the configured repository."""
    return f"https://colab.research.google.com/github/{_repo_path()}/blob/{BRANCH}/{NOTEBOOK_DIR}/{Path(notebook).name}"


def badge(notebook: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook)})"


def setup_cell_source() -> str:
    return (
        "# Colab only (elsewhere this cell does nothing): install course_utils, fetch the data, check for a GPU.\n"
        "import os, sys\n"
        'if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:\n'
        f'    %pip install -q "{pip_spec()}"\n'
        "    import course_utils.colab\n"
        "    course_utils.colab.setup()"
    )


_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((https://colab\.research\.google\.com/[^)\s]*)\)")


def badge_links(text: str) -> list[str]:
    """Every Colab badge target in a piece of markdown."""
    return _BADGE_RE.findall(text)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", []) or cell.get("id") == tag


def notebook_title(nb: dict) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _md_cell(source: str) -> dict:
    return {"cell_type": "markdown", "id": BADGE_TAG, "metadata": {"tags": [BADGE_TAG]}, "source": source}


def _code_cell(source: str) -> dict:
    return {
        "cell_type": "code", "execution_count": None, "id": SETUP_TAG,
        "metadata": {"tags": [SETUP_TAG]}, "outputs": [], "source": source,
    }


def refresh_notebook(nb: dict, notebook: str) -> dict:
    """A copy of the notebook with its badge cell first and the set-up cell as its first code cell.

    An existing badge or set-up cell is found by its tag and rewritten; a set-up cell whose source
    is already right keeps its outputs and execution count (so an executed notebook stays clean).
    """
    nb = json.loads(json.dumps(nb))
    cells = [c for c in nb["cells"] if not (_tagged(c, BADGE_TAG) or _tagged(c, SETUP_TAG))]
    old_setup = next((c for c in nb["cells"] if _tagged(c, SETUP_TAG)), None)
    setup_cell = _code_cell(setup_cell_source())
    if old_setup is not None and _source(old_setup) == setup_cell["source"]:
        setup_cell.update(execution_count=old_setup.get("execution_count"), outputs=old_setup.get("outputs", []))
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    cells.insert(first_code, setup_cell)
    cells.insert(0, _md_cell(badge(notebook)))
    nb["cells"] = cells
    if nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5  # cell ids need nbformat 4.5
    return nb


def dumps(nb: dict) -> str:
    """The notebook as nbformat writes it (so that an unchanged notebook stays byte for byte)."""
    for cell in nb["cells"]:  # nbformat stores sources as lists of lines
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def readme_block(notebooks: list[Path]) -> str:
    rows = ["| notebook | topic | open |", "|---|---|---|"]
    for path in sorted(notebooks):
        title = notebook_title(json.loads(path.read_text(encoding="utf-8"))).replace("|", "\\|")
        rows.append(f"| [`{path.name}`]({NOTEBOOK_DIR}/{path.name}) | {title} | {badge(path.name)} |")
    return "\n".join([README_BEGIN, *rows, README_END])


def refresh_readme(text: str, notebooks: list[Path]) -> str:
    """README text with the badge table between the markers rewritten; raises if the markers are missing."""
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no badge table: put these two lines where it goes:\n{README_BEGIN}\n{README_END}")
    return text[:start] + readme_block(notebooks) + text[end + len(README_END):]


def update(root: Path = _CHECKOUT, write: bool = True) -> list[str]:
    """Bring the badges and set-up cells under `root` up to date; returns the files that changed (or would)."""
    root = Path(root)
    notebooks = sorted((root / NOTEBOOK_DIR).glob("*.ipynb"))
    changed = []
    for path in notebooks:
        old = path.read_text(encoding="utf-8")
        new = dumps(refresh_notebook(json.loads(old), path.name))
        if new != old:
            changed.append(str(path.relative_to(root)))
            if write:
                path.write_text(new, encoding="utf-8")
    readme = root / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.exists() else ""
    new = refresh_readme(old, notebooks)
    if new != old:
        changed.append("README.md")
        if write:
            readme.write_text(new, encoding="utf-8")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.colab", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help="rewrite the badges (README, notebooks) and set-up cells")
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if --update would change a file")
    mode.add_argument("--readme-table", action="store_true", help="print the README badge table")
    parser.add_argument("--root", type=Path, default=_CHECKOUT, help="the course checkout (default: this one)")
    args = parser.parse_args(argv)
    if args.readme_table:
        print(readme_block(sorted((args.root / NOTEBOOK_DIR).glob("*.ipynb"))))
        return 0
    try:
        changed = update(args.root, write=args.update)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    verb = "updated" if args.update else "out of date (run `python -m course_utils.colab --update`)"
    for name in changed:
        print(f"{verb}: {name}")
    if not changed:
        print(f"badges and Colab set-up cells are up to date ({REPO}, branch {BRANCH})")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())

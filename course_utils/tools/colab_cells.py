"""Maintainers: the "Open in Colab" badges and the Colab set-up cell, generated and kept up to date.

Everything Colab-specific is generated from REPO and BRANCH below and from the package version:
change them in this one place when the course is published, then run
`python -m course_utils colab --update` to rewrite the badges (README.md and every notebook) and each
notebook's set-up cell. `--check` changes nothing and exits 1 if something is out of date
(tests/test_colab.py runs it). What the set-up cell does on Colab is course_utils/colab.py, the
learner-facing side.

The set-up cell pins course_utils to the git tag `v<version>` (`course_utils.__version__`), so a
notebook opened on Colab installs the package it was written with, not whatever the branch holds
today: tag every release `v<version>` when you publish it, and bump the version (pyproject.toml and
course_utils/__init__.py) before changing what notebooks call. It fetches only the datasets the
notebook loads (found by the `load_<dataset>(` calls in its code cells).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from .. import __version__
from .._files import atomic_write

# --- the one place to change when the course is published ------------------------------------
REPO = "github.com/large-models-course/large-models-course"
BRANCH = "main"
# ------------------------------------------------------------------------------------------------

NOTEBOOK_DIR = "notebooks"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_TAG = "colab-badge"  # tag (and cell id) of the notebook's first cell, which holds its badge
SETUP_TAG = "colab-setup"  # tag (and cell id) of the set-up cell, the notebook's first code cell
README_BEGIN = "<!-- colab-badges:begin (python -m course_utils colab --update writes this table) -->"
README_END = "<!-- colab-badges:end -->"
_CHECKOUT = Path(__file__).resolve().parents[2]


# --- what the badges and the set-up cell say ----------------------------------------------------
def _repo_path() -> str:
    """`org/name` from REPO (a github.com address, with or without https:// and .git)."""
    m = re.fullmatch(r"(?:https?://)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", REPO)
    if not m:
        raise ValueError(f"REPO must look like 'github.com/<org>/<repo>', got {REPO!r}")
    return f"{m.group(1)}/{m.group(2)}"


def release_tag() -> str:
    """The git tag the set-up cell installs from: the release this checkout's notebooks belong to."""
    return f"v{__version__}"


def pip_spec() -> str:
    return f"course_utils @ git+https://github.com/{_repo_path()}@{release_tag()}"


def colab_url(notebook: str) -> str:
    """The Colab address that opens notebooks/<notebook> from the configured repository."""
    return f"https://colab.research.google.com/github/{_repo_path()}/blob/{BRANCH}/{NOTEBOOK_DIR}/{Path(notebook).name}"


def badge(notebook: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook)})"


_LOADER_RE = re.compile(r"\bload_(\w+)\(")


def datasets_used(nb: dict) -> list[str]:
    """The registered datasets a notebook loads (`load_mnist(`, `load_imdb(` in its code cells)."""
    from ..data.registry import DATASETS

    code = "\n".join(_source(c) for c in nb.get("cells", []) if c.get("cell_type") == "code" and not _tagged(c, SETUP_TAG))
    return sorted({name for name in _LOADER_RE.findall(code) if name in DATASETS})


def setup_cell_source(datasets: list[str] = ()) -> str:
    """The notebook's first code cell: on Colab, install and set up; elsewhere, say how to get course_utils."""
    return (
        "# Set-up. On Colab: install the course_utils this notebook was written with, fetch its data, look for a GPU.\n"
        "# Elsewhere: make sure this kernel can import course_utils (nothing is installed or downloaded here).\n"
        "import os, sys\n"
        'if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:\n'
        f'    %pip install -q "{pip_spec()}"\n'
        "    import course_utils.colab\n"
        f"    course_utils.colab.setup(datasets={list(datasets)!r}, version={__version__!r})\n"
        "else:\n"
        "    try:\n"
        "        import course_utils\n"
        "    except ModuleNotFoundError:\n"
        "        raise ModuleNotFoundError(\n"
        '            f"course_utils is not installed for this kernel ({sys.executable}). Either open the notebook in the "\n'
        '            "course\'s JupyterLab (in the course folder run `bash scripts/lab.sh`; README.md, Start here, has the "\n'
        '            "command for Windows), or install the course into this Python from the course folder: "\n'
        '            f"`{sys.executable} -m pip install -r requirements.txt -e .`, then restart the kernel."\n'
        "        ) from None"
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


def _md_cell(source: str):
    return nbformat.v4.new_markdown_cell(source, id=BADGE_TAG, metadata={"tags": [BADGE_TAG]})


def _code_cell(source: str):
    return nbformat.v4.new_code_cell(source, id=SETUP_TAG, metadata={"tags": [SETUP_TAG]})


def refresh_notebook(nb: dict, notebook: str) -> dict:
    """A copy of the notebook with its badge cell first and the set-up cell as its first code cell.

    An existing badge or set-up cell is found by its tag and rewritten; a set-up cell whose source
    is already right keeps its outputs and execution count (so an executed notebook stays clean).
    """
    nb = nbformat.from_dict(nb)  # a deep copy
    cells = [c for c in nb["cells"] if not (_tagged(c, BADGE_TAG) or _tagged(c, SETUP_TAG))]
    old_setup = next((c for c in nb["cells"] if _tagged(c, SETUP_TAG)), None)
    setup_cell = _code_cell(setup_cell_source(datasets_used(nb)))
    if old_setup is not None and _source(old_setup) == setup_cell["source"]:
        setup_cell.update(execution_count=old_setup.get("execution_count"), outputs=old_setup.get("outputs", []))
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    cells.insert(first_code, setup_cell)
    cells.insert(0, _md_cell(badge(notebook)))
    nb["cells"] = cells
    if nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5  # cell ids need nbformat 4.5
    return nb


def dumps(nb) -> str:
    """The notebook as nbformat writes it (so that an unchanged notebook stays byte for byte)."""
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def readme_block(notebooks: list[Path]) -> str:
    rows = ["| notebook | topic | open |", "|---|---|---|"]
    for path in sorted(notebooks):
        title = notebook_title(nbformat.read(str(path), as_version=4)).replace("|", "\\|")
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
        new = dumps(refresh_notebook(nbformat.reads(old, as_version=4), path.name))
        if new != old:
            changed.append(str(path.relative_to(root)))
            if write:
                atomic_write(path, new)
    readme = root / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.exists() else ""
    new = refresh_readme(old, notebooks)
    if new != old:
        changed.append("README.md")
        if write:
            atomic_write(readme, new)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils colab", description=__doc__.split("\n")[0])
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
    verb = "updated" if args.update else "out of date (run `python -m course_utils colab --update`)"
    for name in changed:
        print(f"{verb}: {name}")
    if not changed:
        print(f"badges and Colab set-up cells are up to date ({REPO}, branch {BRANCH})")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the course website from the committed notebooks: `python site/build.py` (in the course env).

Why a staging folder: the website shows the notebooks as committed (stored outputs, nothing is
executed), with three changes that only make sense on a web page, made to copies under
_build/site-src/: the Colab badge's image is a local SVG (a page must not need the network to show
it; the link still goes to Colab), a download link to the unchanged notebook sits under the badge,
and the Colab set-up cell is hidden (it does nothing outside Colab). MathJax 3 is copied from the
django-static-mathjax package into the site, so maths renders offline.

Jupyter Book 1.x (Sphinx, pure Python) builds it; the site lands in _build/site/ (index.html),
with a stamp of its inputs in _build/site/.inputs-sha256 so that tests can reuse a fresh build.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from course_utils.tools.colab_cells import BADGE_IMAGE, BADGE_TAG, SETUP_TAG  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_build" / "site"
STAGE = ROOT / "_build" / "site-src"
WORK = ROOT / "_build" / "site-work"
SITE_FILES = ("_config.yml", "_toc.yml", "intro.md", "colab-badge.svg", "favicon.svg", "build.py")
STAMP = ".inputs-sha256"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def inputs_digest() -> str:
    """sha256 over everything the site is built from: the notebooks and the site's own files."""
    h = hashlib.sha256()
    for path in [*notebooks(), *(HERE / f for f in SITE_FILES)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def is_fresh() -> bool:
    stamp = OUT / STAMP
    return stamp.is_file() and stamp.read_text().strip() == inputs_digest()


def mathjax_dir() -> Path:
    spec = importlib.util.find_spec("mathjax")
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").is_file():
        raise SystemExit("error: MathJax 3 not found: the site needs the django-static-mathjax package; "
                         "run `python scripts/course.py setup` (or `bash scripts/ensure_env.sh`)")
    return es5


def check_toc() -> None:
    """Every chapter in notebooks/ is in _toc.yml, and the toc names no notebook that is gone."""
    listed = {line.split("file:")[1].strip() for line in (HERE / "_toc.yml").read_text().splitlines()
              if "file: notebooks/" in line}
    present = {f"notebooks/{p.stem}" for p in notebooks()}
    if listed != present:
        raise SystemExit(f"error: site/_toc.yml is out of date: add {sorted(present - listed)}, "
                         f"remove {sorted(listed - present)}")


def web_copy(src: Path, dest: Path) -> None:
    """The notebook as the web page shows it (badge image local, download link, set-up cell hidden)."""
    nb = nbformat.read(src, as_version=4)
    download = nbformat.v4.new_markdown_cell(
        f"{{download}}`Download {src.name} <../downloads/{src.name}>` to run it in Jupyter, "
        "or open it in Colab with the badge above.")
    download.metadata["tags"] = ["site-download"]
    download.id = "site-download"
    cells, placed = [], False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if BADGE_TAG in tags:
            cell.source = cell.source.replace(BADGE_IMAGE, "../colab-badge.svg")
            cells += [cell, download]
            placed = True
            continue
        if SETUP_TAG in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        cells.append(cell)
    if not placed:
        cells.insert(0, download)
    nb.cells = cells
    nbformat.write(nb, dest)


def stage() -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "notebooks").mkdir(parents=True)
    (STAGE / "downloads").mkdir()
    for name in SITE_FILES[:-1]:
        shutil.copy(HERE / name, STAGE / name)
    for nb in notebooks():
        shutil.copy(nb, STAGE / "downloads" / nb.name)
        web_copy(nb, STAGE / "notebooks" / nb.name)


def build(quiet: bool = True) -> Path:
    t0 = time.monotonic()
    check_toc()
    mathjax_dir()  # fail before the build when it is missing
    digest = inputs_digest()
    stage()
    if WORK.exists():
        shutil.rmtree(WORK)
    cmd = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
           "build", str(STAGE), "--path-output", str(WORK), "--builder", "html", "--keep-going"]
    if quiet:
        cmd.append("--quiet")
    rc = subprocess.call(cmd, cwd=ROOT)
    html = WORK / "_build" / "html"
    if rc != 0 or not (html / "index.html").is_file():
        raise SystemExit(f"error: jupyter-book build failed (exit code {rc}); the log is above")
    if OUT.exists():
        shutil.rmtree(OUT)
    shutil.move(str(html), str(OUT))
    # After the build, not in the source's _static: Jupyter Book adds a <script> for every .js there.
    shutil.copytree(mathjax_dir(), OUT / "_static" / "mathjax")
    shutil.rmtree(WORK)
    (OUT / STAMP).write_text(digest + "\n")
    pages = sorted(p.stem for p in (OUT / "notebooks").glob("*.html"))
    print(f"[site] {len(pages)} chapters built in {time.monotonic() - t0:.0f} s: open {OUT / 'index.html'}")
    return OUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--if-stale", action="store_true", help="do nothing when _build/site is up to date")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's full log")
    parser.add_argument("--json", action="store_true", help="print where the site is, as JSON")
    args = parser.parse_args(argv)
    if args.if_stale and is_fresh():
        print(f"[site] {OUT} is up to date")
    else:
        build(quiet=not args.verbose)
    if args.json:
        print(json.dumps({"site": str(OUT), "index": str(OUT / "index.html")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every committed notebook opens cleanly in JupyterLab: a table of contents that makes sense,
the course's kernel, one parameters cell, and outputs that are neither broken nor stale."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")

# Absolute paths that would only be true on the machine that ran the notebook.
_here = {str(ROOT), str(ROOT.parent), str(Path.home()), sys.prefix, os.path.realpath(tempfile.gettempdir())}
LOCAL_PATHS = sorted(p for p in _here if p not in ("/", "") and len(p) > 4)
FOREIGN_PATHS = re.compile(r"(/home/[\w.-]+/|/Users/[\w.-]+/|[A-Za-z]:\\\\?Users\\\\?|/root/|/work/|site-packages/)")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _headings(markdown: str):
    """(level, text) of ATX headings outside fenced code blocks."""
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = re.match(r"^(#{1,6})\s+(.*\S)", line)
        if m and not fenced:
            yield len(m.group(1)), m.group(2)


def _output_text(out) -> str:
    if out.get("output_type") == "stream":
        t = out.get("text", "")
        return "".join(t) if isinstance(t, list) else t
    if out.get("output_type") == "error":
        return "\n".join(out.get("traceback", []))
    parts = []
    for mime, value in out.get("data", {}).items():
        if mime in TEXT_MIMES or mime.endswith("+json"):
            parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else json.dumps(value))
    return "\n".join(parts)


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    path = request.param
    return path.name, json.loads(path.read_text(encoding="utf-8"))


def test_headings_form_a_table_of_contents(nb):
    name, nb = nb
    heads = [h for c in nb["cells"] if c["cell_type"] == "markdown" for h in _headings(_src(c))]
    titles = [t for level, t in heads if level == 1]
    assert len(titles) == 1, f"{name}: needs exactly one `#` title, found {titles}"
    assert heads and heads[0][0] == 1, f"{name}: the `#` title must be the first heading, found {heads[:1]}"
    assert any(level == 2 for level, _ in heads), f"{name}: no `##` sections (JupyterLab's table of contents)"
    for (prev, _), (level, text) in zip(heads, heads[1:]):
        assert level <= prev + 1, f"{name}: heading {'#' * level} {text!r} skips a level after a {'#' * prev} heading"


def test_kernel_metadata(nb):
    name, nb = nb
    ks = nb.get("metadata", {}).get("kernelspec", {})
    assert (ks.get("name"), ks.get("display_name"), ks.get("language")) == ("python3", "Python 3 (ipykernel)", "python"), (
        f"{name}: kernelspec is {ks}; expected python3 / 'Python 3 (ipykernel)'"
    )
    assert nb.get("metadata", {}).get("language_info", {}).get("name", "python") == "python"
    assert nb.get("nbformat") == 4


def test_exactly_one_parameters_cell_and_no_injected_one(nb):
    name, nb = nb
    tags = [c.get("metadata", {}).get("tags", []) for c in nb["cells"]]
    n_params = sum("parameters" in t for t in tags)
    assert n_params == 1, f"{name}: {n_params} cells tagged `parameters`, expected exactly one"
    assert not any("injected-parameters" in t for t in tags), (
        f"{name}: a papermill `injected-parameters` cell was committed; it would override $COURSE_PROFILE "
        "for every later run (nbval, a learner). Execute with --in-place through the course runner, or delete it."
    )


def test_no_error_outputs(nb):
    name, nb = nb
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{name}: cell {i} has an error output: {out.get('ename')}: {out.get('evalue')}"
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                assert "Traceback (most recent call last)" not in _output_text(out), f"{name}: cell {i} printed a traceback"


def test_execution_counts_in_order(nb):
    """Either a clean notebook (no counts) or one run top to bottom in a fresh kernel: 1, 2, 3, ..."""
    name, nb = nb
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _src(c).strip()]
    # The Colab set-up cell does nothing elsewhere: it may be left unexecuted (inserted after the run).
    kept = [c for c in code if not ("colab-setup" in c.get("metadata", {}).get("tags", [])
                                    and c.get("execution_count") is None and not c.get("outputs"))]
    first = 1 + (len(kept) < len(code))  # the run's count 1 went to the set-up cell rewritten since
    counts = [c.get("execution_count") for c in kept]
    if all(n is None for n in counts):
        assert not any(c.get("outputs") for c in kept), f"{name}: outputs without execution counts"
        return
    assert counts in (list(range(1, len(kept) + 1)), list(range(first, first + len(kept)))), (
        f"{name}: execution counts {counts} are not consecutive in cell order (a stale or re-run cell); "
        "re-execute it with `python -m course_utils run --profile full --in-place notebooks/" + name + "`"
    )


def test_no_paths_of_this_machine_in_outputs(nb):
    name, nb = nb
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            text = _output_text(out)
            for path in LOCAL_PATHS:
                assert path not in text, f"{name}: cell {i} output shows the local path {path!r}"
            m = FOREIGN_PATHS.search(text)
            assert m is None, f"{name}: cell {i} output shows a machine's path ({m.group(0)!r}): {text[max(0, m.start() - 60):m.end() + 60]!r}"

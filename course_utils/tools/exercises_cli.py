"""Exercises in the notebooks: nbgrader metadata on solution cells, and learner versions without solutions.

    python -m course_utils exercises --update notebooks/07_pretrain_finetune.ipynb   # authors, after editing
    python -m course_utils exercises --check                                         # CI: exit 1 if stale
    python -m course_utils exercises --learner learner/                              # every notebook

A solution is written once, in the committed (instructor) notebook, between the lines
`### BEGIN SOLUTION` and `### END SOLUTION`, inside a function body. The learner version replaces each
region with nbgrader's stub (`# YOUR CODE HERE` / `raise NotImplementedError()`, at the region's
indentation), so the function still defines and its check says "not attempted yet". Outputs are
cleared; everything else is kept. The rules are checked before anything is written: a region outside
a function body, unbalanced or nested markers, or a marker line spelt another way is refused with the
notebook and cell named (nbgrader matches the words anywhere in a line, so a near-miss would be cut
differently by it). docs/EXERCISES.md describes the scheme.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

from .._files import atomic_write
from ..profiles import ProfileError
from . import notebooks

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's code stub for Python
_CHECK_ID = re.compile(r"""\bcheck\(\s*["'](\d\d\.q?\d+)["']""")


class MarkerError(ProfileError):
    """Solution markers that break the authoring rules (the command exits 2 with this message)."""


def _lines(source: str) -> list[str]:
    return source.split("\n")


def regions(source: str, where: str = "cell") -> list[tuple[int, int, str]]:
    """(begin line, end line, indentation) of each solution region, 0-based; MarkerError if malformed."""
    found, start = [], None
    for i, line in enumerate(_lines(source)):
        text = line.strip()
        if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            if text not in (BEGIN, END):
                raise MarkerError(f"{where}, line {i + 1}: a marker line must be exactly {BEGIN!r} or {END!r} "
                                  f"(plus indentation), got {text!r}")
            if text == BEGIN:
                if start is not None:
                    raise MarkerError(f"{where}, line {i + 1}: {BEGIN!r} inside another solution region "
                                      f"(opened on line {start + 1}); close it with {END!r} first")
                start = i
            else:
                if start is None:
                    raise MarkerError(f"{where}, line {i + 1}: {END!r} without a {BEGIN!r} before it")
                indent = line[: len(line) - len(line.lstrip())]
                opened = _lines(source)[start]
                if indent != opened[: len(opened) - len(opened.lstrip())]:
                    raise MarkerError(f"{where}, lines {start + 1}-{i + 1}: the two markers must have the same indentation")
                found.append((start, i, indent))
                start = None
    if start is not None:
        raise MarkerError(f"{where}, line {start + 1}: {BEGIN!r} is never closed by {END!r}")
    return found


def strip_solutions(source: str, found=None) -> str:
    """The cell's source with every solution region replaced by nbgrader's stub at its indentation."""
    found = regions(source) if found is None else found
    lines, out, skip_to = _lines(source), [], -1
    begins = {b: (e, indent) for b, e, indent in found}
    for i, line in enumerate(lines):
        if i <= skip_to:
            continue
        if i in begins:
            end, indent = begins[i]
            out += [indent + s for s in STUB]
            skip_to = end
        else:
            out.append(line)
    return "\n".join(out)


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics turned into calls), for the syntax tree."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except ImportError:
        return source


def check_cell(source: str, where: str = "cell") -> list[tuple[int, int, str]]:
    """The cell's regions, after proving that each sits inside a function body (via the learner version)."""
    found = regions(source, where)
    if not found:
        return found
    try:
        ast.parse(_python(source))
    except SyntaxError as exc:
        raise MarkerError(f"{where}: the cell is not valid Python ({exc.msg}, line {exc.lineno})") from None
    learner = strip_solutions(source, found)
    try:
        tree = ast.parse(_python(learner))
    except SyntaxError as exc:
        raise MarkerError(f"{where}: without its solution the cell is not valid Python ({exc.msg}, line "
                          f"{exc.lineno}); put each region inside a function body, at the body's indentation") from None
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    shift = 0
    for begin, end, _ in found:
        raise_line = begin + shift + 2  # 1-based line of the stub's `raise`
        if not any(f.lineno < raise_line <= (f.end_lineno or f.lineno) for f in funcs):
            raise MarkerError(f"{where}, line {begin + 1}: a solution region must sit inside a function body "
                              f"(so that the learner version still runs); this one does not")
        shift += len(STUB) - (end - begin + 1)
    return found


def _where(nb_name: str, index: int, cell) -> str:
    return f"{nb_name}: cell {index} (id {cell.get('id', '?')})"


def grade_ids(nb, nb_name: str = "notebook") -> dict[int, str]:
    """{cell index: nbgrader grade_id} for each cell with a solution region; checks every cell's markers.

    The id comes from the exercise checked after the cell (`cu.check("07.3", ...)` -> `ex07_3`), else
    from the cell id; both are stable, so --update is idempotent.
    """
    solution = {}
    for i, cell in enumerate(nb.cells):
        src = cell.get("source", "")
        if cell.cell_type != "code":
            if "BEGIN SOLUTION" in src or "END SOLUTION" in src:
                raise MarkerError(f"{_where(nb_name, i, cell)}: solution markers belong in code cells, inside a "
                                  "function body (to write about them in text, leave out their exact words, which "
                                  "nbgrader would cut at)")
            continue
        if check_cell(src, _where(nb_name, i, cell)):
            solution[i] = None
    ids, used = {}, set()
    order = sorted(solution)
    for n, i in enumerate(order):
        stop = order[n + 1] if n + 1 < len(order) else len(nb.cells)
        found = None
        for cell in nb.cells[i:stop]:
            if cell.cell_type == "code":
                m = _CHECK_ID.search(cell.source)
                if m:
                    found = m.group(1)
                    break
        gid = f"ex{found.replace('.', '_')}" if found else f"solution_{nb.cells[i].get('id', i)}"
        if gid in used:
            gid = f"{gid}_{nb.cells[i].get('id', i)}"
        used.add(gid)
        ids[i] = re.sub(r"[^A-Za-z0-9_-]", "_", gid)
    return ids


def nbgrader_metadata(grade_id: str) -> dict:
    return {"solution": True, "grade": False, "locked": False, "grade_id": grade_id, "schema_version": 3}


def updated(nb, nb_name: str = "notebook"):
    """The notebook with nbgrader metadata on exactly the cells that hold solution regions (in place)."""
    ids = grade_ids(nb, nb_name)
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if i in ids:
            meta["nbgrader"] = nbgrader_metadata(ids[i])
            cell["metadata"] = meta
        elif meta.get("nbgrader", {}).get("solution"):  # markers removed: the stamp goes too
            del meta["nbgrader"]
    return nb


def learner_version(nb, nb_name: str = "notebook"):
    """A copy for learners: solution regions replaced by the stub, every output cleared."""
    nb = updated(nbformat.from_dict(nb), nb_name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return nb


def dumps(nb) -> str:
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def has_exercises(path) -> bool:
    """Whether a notebook holds any solution region."""
    nb = notebooks.read_notebook(path)
    return any(c.cell_type == "code" and regions(c.source) for c in nb.cells)


def _course_notebooks(names) -> list[Path]:
    from .run import find_notebooks

    return [Path(p) for p in find_notebooks(names)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils exercises", description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true",
                      help="authors: stamp nbgrader metadata on the cells with solution markers (name the notebooks)")
    mode.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if a notebook's markers or metadata are not up to date")
    mode.add_argument("--learner", type=Path, metavar="OUTDIR",
                      help="write learner versions (solutions replaced by stubs, outputs cleared) into OUTDIR")
    ap.add_argument("notebooks", nargs="*", help="paths, names or number prefixes (default for --check and "
                                                  "--learner: every notebook)")
    args = ap.parse_args(argv)
    try:
        if args.update and not args.notebooks:
            raise ProfileError("--update rewrites notebooks: name them (e.g. notebooks/07_pretrain_finetune.ipynb)")
        paths = _course_notebooks(args.notebooks)
        if args.learner is not None:
            return _learner(paths, args.learner)
        return _update(paths, write=args.update)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if not args.check else 1


def _update(paths: list[Path], write: bool) -> int:
    stale = []
    for path in paths:
        old = path.read_text(encoding="utf-8")
        nb = updated(notebooks.read_notebook(path), path.name)
        new = dumps(nb)
        n = sum(1 for c in nb.cells if c.get("metadata", {}).get("nbgrader"))
        if new != old:
            stale.append(path.name)
            if write:
                atomic_write(path, new)
        state = ("updated" if write else "NOT up to date") if new != old else "up to date"
        print(f"[exercises] {path.name}: {n} solution cell(s), {state}")
    if stale and not write:
        print("[exercises] run: python -m course_utils exercises --update " + " ".join(stale), file=sys.stderr)
        return 1
    return 0


def _learner(paths: list[Path], outdir: Path) -> int:
    outdir = outdir.resolve()
    if outdir.exists() and not outdir.is_dir():
        raise ProfileError(f"{outdir} is a file; give a folder for the learner versions")
    plans = []
    for path in paths:  # every notebook is checked before anything is written
        target = outdir / path.name
        if target.resolve() == path.resolve():
            raise ProfileError(f"{outdir} is where the instructor notebooks are: the learner versions would "
                               f"overwrite the solutions; give another folder")
        plans.append((path, target, learner_version(notebooks.read_notebook(path), path.name)))
    outdir.mkdir(parents=True, exist_ok=True)
    for path, target, nb in plans:
        atomic_write(target, dumps(nb))
        n = sum(len(regions(c.source)) for c in notebooks.read_notebook(path).cells if c.cell_type == "code")
        print(f"[exercises] {target}: {n} solution region(s) replaced by stubs, outputs cleared")
    return 0


if __name__ == "__main__":
    sys.exit(main())

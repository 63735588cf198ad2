"""Notebooks as the runners see them: read, check parameters, read results back, write in place.

Every notebook is read and written with nbformat, never as hand-parsed JSON. A file that is not a
notebook becomes a NotebookError (a ProfileError, so the commands exit 2 with a message).

Parameters: papermill injects whatever it is given, and a misspelt name is then silently ignored.
So the runners call `problems(...)` first: names and types come from the cell tagged `parameters`
(papermill's own `inspect_notebook`, with a fallback, below), values from the course-wide rules in
course_utils.profiles (`parameter_problem`), the same rules `resolve_profile` applies in the kernel.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from .._files import atomic_write
from ..profiles import ProfileError, parameter_problem
from ..results import MIME

_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None),
          "list": list, "dict": dict, "tuple": tuple}


class NotebookError(ProfileError):
    """A file that cannot be used as a course notebook (unreadable, no parameters cell...)."""


def read_notebook(path) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"no such notebook: {path}")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # invalid JSON, not nbformat, unreadable
        raise NotebookError(f"{path.name} is not a readable notebook ({type(exc).__name__}: "
                            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None


# -- parameters ---------------------------------------------------------------------------------


def _types(annotation: str | None) -> tuple[type, ...] | None:
    """'int', 'int | None', 'Optional[int]', 'Union[int, None]' -> (int, NoneType); None if unknown."""
    if not annotation or annotation == "None":  # papermill says 'None' for "no annotation"
        return None
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return None

    def walk(n):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            left, right = walk(n.left), walk(n.right)
            return None if left is None or right is None else left + right
        if isinstance(n, ast.Constant) and n.value is None:
            return (type(None),)
        if isinstance(n, ast.Name) and n.id in _TYPES:
            return (_TYPES[n.id],)
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            inner = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            parts = [walk(e) for e in inner]
            if None in parts:
                return None
            if n.value.id == "Optional":
                return parts[0] + (type(None),)
            if n.value.id == "Union":
                return sum(parts, ())
        return None

    return walk(node)


def read_parameters(nb_path) -> dict[str, dict]:
    """{name: {"default": value, "types": (type, ...) or None}} from the cell tagged `parameters`.

    Types come from papermill's `inspect_notebook`. Its pattern skips any line annotated with
    `X | None` (papermill 2.x), which is how the course writes optional parameters, so those
    names and annotations are taken from the cell's syntax tree instead; an unannotated name
    gets the type of its default. The cell may hold only `name[: type] = literal` lines.
    """
    nb_path = Path(nb_path)
    nb = read_notebook(nb_path)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise NotebookError(f"{nb_path.name}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise NotebookError(f"{nb_path.name}: the parameters cell is not valid Python ({exc.msg}, line {exc.lineno})") from None
    try:
        import papermill

        inspected = papermill.inspect_notebook(str(nb_path))
    except Exception:  # no kernelspec language, an old papermill: the syntax tree alone will do
        inspected = {}

    params = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            name, value_node, ann = stmt.target.id, stmt.value, ast.unparse(stmt.annotation)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value_node, ann = stmt.targets[0].id, stmt.value, None
        else:
            raise NotebookError(f"{nb_path.name}: the parameters cell may hold only `name = literal` lines")
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            raise NotebookError(f"{nb_path.name}: parameter {name} must be a plain literal") from None
        seen = inspected.get(name, {}).get("inferred_type_name")
        types = _types(seen) or _types(ann)
        if types is None and default is not None:
            types = (type(default),)
        params[name] = {"default": default, "types": types}
    return params


def _type_matches(value, types) -> bool:
    if types is None:
        return True
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def problems(known: dict, values: dict) -> list[str]:
    """Every problem with `values` for a notebook whose parameters are `known`: name, type, value."""
    found = []
    for name, value in values.items():
        if name not in known:
            found.append(f"unknown parameter {name!r}; this notebook takes: {', '.join(sorted(known))}")
            continue
        types = known[name]["types"]
        if not _type_matches(value, types):
            wanted = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            hint = ""
            if isinstance(value, str) and value in ("true", "false", "none", "null"):
                hint = f" (Python spells it {'None' if value in ('none', 'null') else value.capitalize()})"
            found.append(f"parameter {name}={value!r} is {type(value).__name__}, expected {wanted}{hint}")
            continue
        problem = parameter_problem(name, value)
        if problem:
            found.append(problem)
    return found


def validate(nb_path, values: dict) -> None:
    """Raise ProfileError naming every problem with `values` for this notebook."""
    found = problems(read_parameters(nb_path), values)
    if found:
        raise ProfileError(f"{Path(nb_path).name}: " + "; ".join(found))


# -- results and in-place writes ---------------------------------------------------------------


def read_results(nb_path) -> dict:
    """The results recorded (cu.record) in an executed notebook, in order; a later record wins."""
    found = {}
    for cell in read_notebook(nb_path).cells:
        for out in cell.get("outputs", []):
            item = out.get("data", {}).get(MIME)
            if item is not None:
                found[item["name"]] = item["value"]
    return found


def write_clean(executed, target) -> None:
    """Replace `target` with the executed copy, minus papermill's per-cell timing (a readable diff)."""
    nb = read_notebook(executed)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    atomic_write(target, nbformat.writes(nb) + "\n")

"""Read and check a notebook's papermill parameters before anything runs.

Papermill happily injects a misspelt parameter and the notebook then ignores it. The course
runner and the batch runner call `validate` first, so a typo stops the run with a message
instead of silently giving the default result.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from .profiles import PROFILES, ProfileError

_SIMPLE_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


def _parameters_source(nb_path: Path) -> str:
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ProfileError(f"{nb_path}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    src = cells[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def _annotation_types(node) -> tuple[type, ...] | None:
    if node is None:
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _annotation_types(node.left), _annotation_types(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Constant) and node.value is None:
        return (type(None),)
    if isinstance(node, ast.Name) and node.id in _SIMPLE_TYPES:
        return (_SIMPLE_TYPES[node.id],)
    return None


def read_parameters(nb_path) -> dict[str, dict]:
    """{name: {"default": value, "types": (type, ...)}} from the cell tagged `parameters`."""
    tree = ast.parse(_parameters_source(Path(nb_path)))
    params = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name, value_node, ann = stmt.target.id, stmt.value, stmt.annotation
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value_node, ann = stmt.targets[0].id, stmt.value, None
        else:
            raise ProfileError(f"{nb_path}: the parameters cell may hold only `name = literal` lines")
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            raise ProfileError(f"{nb_path}: parameter {name} must be a plain literal") from None
        types = _annotation_types(ann)
        if types is None:
            types = (type(default),) if default is not None else None
        params[name] = {"default": default, "types": types}
    return params


def _matches(value, types) -> bool:
    if types is None:
        return True
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def validate(nb_path, values: dict) -> None:
    """Refuse unknown parameter names, wrong types and unknown profiles, naming the fix."""
    known = read_parameters(nb_path)
    problems = []
    for name, value in values.items():
        if name not in known:
            problems.append(f"unknown parameter {name!r}; this notebook takes: {', '.join(sorted(known))}")
            continue
        types = known[name]["types"]
        if not _matches(value, types):
            wanted = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            problems.append(f"parameter {name}={value!r} is {type(value).__name__}, expected {wanted}")
        if name == "profile" and value is not None and value not in PROFILES:
            problems.append(f"unknown profile {value!r}; choose one of {', '.join(PROFILES)}")
    if problems:
        raise ProfileError(f"{Path(nb_path).name}: " + "; ".join(problems))

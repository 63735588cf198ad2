"""The package's shape: imports go one way (down), the tools sit on top, `import course_utils` is light.

The import graph is read from the source with `ast` (function-level imports included, since the
package imports heavy modules lazily), so a cycle or an upward import fails here before it can bite.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import course_utils

PACKAGE = Path(course_utils.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """course_utils modules that `path` imports, resolved to module names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("course_utils")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("course_utils"):
                continue
            for alias in node.names:  # `from . import distributed` names a module
                sub = f"{target}.{alias.name}"
                found.add(sub if _exists(sub) else target)
    return {m for m in found if m != name}


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PACKAGE.parent / rel.with_suffix(".py")).is_file() or (PACKAGE.parent / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ re-exporting its own modules is not a cycle: drop parent -> child edges
    graph = {m: {t for t in deps if not t.startswith(m + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_tools_sit_on_top():
    """No learner-facing module imports the instructor's tools (the command dispatcher aside)."""
    for module, deps in _graph().items():
        if module.startswith("course_utils.tools") or module == "course_utils.__main__":
            continue
        upward = sorted(d for d in deps if d.startswith("course_utils.tools"))
        assert not upward, f"{module} imports {upward}: tools import the package, never the other way"


def test_every_export_resolves_to_its_module():
    for name, module in course_utils._EXPORTS.items():
        assert (PACKAGE / f"{module}.py").is_file() or (PACKAGE / module / "__init__.py").is_file(), (name, module)
    assert set(course_utils.__all__) == set(course_utils._EXPORTS) | {"__version__"}


def test_import_is_light():
    code = ("import sys, course_utils, course_utils.data, course_utils.profiles, course_utils.results\n"
            "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'papermill', 'pandas', 'nbformat') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout

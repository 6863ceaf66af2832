"""The size limits of issue #16, kept by a test so that they stay kept.

No module in ``apps/`` over 300 lines (migrations aside), no function over 60 lines, and no
function that takes more than five positional parameters (keyword-only ones are free, and a
method's ``self``/``cls`` is not counted). A failure lists every offender, file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[2] / "apps"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
MAX_POSITIONAL = 5

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _modules() -> list[Path]:
    return sorted(p for p in APPS.rglob("*.py") if "migrations" not in p.relative_to(APPS).parts)


def _where(path: Path, line: int | None = None) -> str:
    name = str(path.relative_to(APPS.parent))
    return f"{name}:{line}" if line is not None else name


def _functions(tree: ast.Module) -> list[tuple[Function, bool]]:
    """Every function in the module, each with whether it is a method (defined in a class)."""
    found: list[tuple[Function, bool]] = []

    def visit(node: ast.AST, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((child, in_class))
                visit(child, False)
            else:
                visit(child, isinstance(child, ast.ClassDef) or in_class)

    visit(tree, False)
    return found


def _positional(function: Function, is_method: bool) -> int:
    names = [a.arg for a in function.args.posonlyargs + function.args.args]
    if is_method and names and names[0] in {"self", "cls", "mcs"}:
        names = names[1:]
    return len(names)


def _offenders() -> list[str]:
    offenders: list[str] = []
    for path in _modules():
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{_where(path)}: module has {lines} lines (> {MAX_MODULE_LINES})")
        for function, is_method in _functions(ast.parse(source, filename=str(path))):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                offenders.append(
                    f"{_where(path, function.lineno)}: {function.name} has {length} lines "
                    f"(> {MAX_FUNCTION_LINES})"
                )
            positional = _positional(function, is_method)
            if positional > MAX_POSITIONAL:
                offenders.append(
                    f"{_where(path, function.lineno)}: {function.name} takes {positional} "
                    f"positional parameters (> {MAX_POSITIONAL}; make the rest keyword-only)"
                )
    return offenders


def test_apps_stay_within_the_size_limits() -> None:
    # given every module of apps/ outside migrations
    # when each module and function is measured
    offenders = _offenders()
    # then none is over its limit
    if offenders:
        pytest.fail("over the size limits of #16:\n" + "\n".join(offenders), pytrace=False)


def test_the_measure_sees_an_offender(tmp_path: Path) -> None:
    # given a function over every limit
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = f"class C:\n    def f(self, a, b, c, d, e, g):\n{body}\n"
    function, is_method = _functions(ast.parse(source))[0]
    # when it is measured / then both limits catch it, and self is not counted
    assert is_method
    assert _positional(function, is_method) == 6
    assert (function.end_lineno or 0) - function.lineno + 1 > MAX_FUNCTION_LINES

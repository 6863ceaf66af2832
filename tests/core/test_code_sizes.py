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


def _modules(apps: Path) -> list[Path]:
    return sorted(p for p in apps.rglob("*.py") if "migrations" not in p.relative_to(apps).parts)


def _where(path: Path, apps: Path, line: int | None = None) -> str:
    name = str(path.relative_to(apps.parent))
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


def _offenders(apps: Path) -> list[str]:
    offenders: list[str] = []
    for path in _modules(apps):
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            where = _where(path, apps)
            offenders.append(f"{where}: module has {lines} lines (> {MAX_MODULE_LINES})")
        for function, is_method in _functions(ast.parse(source, filename=str(path))):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                offenders.append(
                    f"{_where(path, apps, function.lineno)}: {function.name} has {length} lines "
                    f"(> {MAX_FUNCTION_LINES})"
                )
            positional = _positional(function, is_method)
            if positional > MAX_POSITIONAL:
                offenders.append(
                    f"{_where(path, apps, function.lineno)}: {function.name} takes {positional} "
                    f"positional parameters (> {MAX_POSITIONAL}; make the rest keyword-only)"
                )
    return offenders


def test_apps_stay_within_the_size_limits() -> None:
    # given every module of apps/ outside migrations
    # when each module and function is measured
    offenders = _offenders(APPS)
    # then none is over its limit
    if offenders:
        pytest.fail("over the size limits of #16:\n" + "\n".join(offenders), pytrace=False)


def test_the_measure_sees_every_kind_of_offender(tmp_path: Path) -> None:
    # given a module over 300 lines with a method over 60 lines and six positional
    # parameters besides self, and a migration as long, which is not measured
    apps = tmp_path / "apps"
    (apps / "shop" / "migrations").mkdir(parents=True)
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_MODULE_LINES))
    source = f"class C:\n    def f(self, a, b, c, d, e, g, *, h=1):\n{body}\n"
    (apps / "shop" / "big.py").write_text(source)
    (apps / "shop" / "migrations" / "0001_initial.py").write_text(source)
    (apps / "shop" / "small.py").write_text("def g(a, b, c, d, e, *, f=1):\n    return a\n")
    # when it is measured
    offenders = _offenders(apps)
    # then all three limits catch the module, and nothing else is listed
    assert offenders == [
        f"apps/shop/big.py: module has {MAX_MODULE_LINES + 2} lines (> 300)",
        f"apps/shop/big.py:2: f has {MAX_MODULE_LINES + 1} lines (> 60)",
        "apps/shop/big.py:2: f takes 6 positional parameters (> 5; make the rest keyword-only)",
    ]

"""python -m gateway_client.generate: typed signatures from a live gateway's meta-schema."""

import os
import subprocess
import sys
from pathlib import Path

from gateway_client.generate import main, python_type

SRC = Path(__file__).resolve().parents[1] / "src"
USER_CODE = """
from gateway_client import AsyncGateway, Gateway
from gateway_services import typed

gw = typed(Gateway(base_url="http://gw.test", api_key="k"))
rates = gw.currency.latest_rates(base="EUR", symbols=["USD"])
pdf = gw.docs.html_to_pdf(html="<p>hi</p>", page_size="A4").content
gw.currency.convert({"from": "EUR", "to": "USD", "amount": "1.00"})


async def later() -> bytes:
    async with typed(AsyncGateway(base_url="http://gw.test", api_key="k")) as agw:
        await agw.currency.latest_rates(base="EUR")
        return (await agw.docs.html_to_pdf(html="<p>hi</p>")).content
"""
MISTAKES = """
gw.currency.latest_rates(bse="EUR")
gw.docs.html_to_pdf(html="<p>hi</p>", page_size="A9")
gw.currency.convert({"from": "EUR", "to": "USD"})
"""


def mypy(stubs: Path, *paths: Path) -> str:
    """mypy's report on `paths`, as a user's project with the stubs on MYPYPATH runs it."""
    env = {**os.environ, "MYPYPATH": f"{stubs}{os.pathsep}{SRC}"}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file=", "--no-incremental", *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=stubs.parent,
        timeout=300,
    ).stdout


def test_the_stubs_type_check_calls_as_the_gateway_describes_them(live_gateway, user, tmp_path):
    # when the user generates the stubs from the running gateway
    stubs = tmp_path / "stubs"
    assert main(["--url", live_gateway, "--api-key", user.key, "--out", str(stubs)]) == 0

    # then each method has its signature, fields that are Python keywords via a TypedDict
    stub = (stubs / "gateway_services.pyi").read_text()
    assert (
        "def latest_rates(self, *, base: str = ..., symbols: list[str] = ..., "
        "idempotency_key: str | None = ...) -> Result:" in stub
    )
    assert "def convert(self, payload: CurrencyConvertRequest, /, *," in stub
    assert "'from': str," in stub
    assert "def html_to_pdf(self, *, html: str, css: str = ..., page_size: Literal[" in stub
    assert ") -> Document:" in stub

    # and the user's code type-checks, while its mistakes do not
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(USER_CODE)
    bad.write_text(USER_CODE + MISTAKES)
    report = mypy(stubs, good, bad)
    assert "good.py" not in report, report
    assert 'Unexpected keyword argument "bse" for "latest_rates"' in report
    assert "Literal['A9']" in report
    assert 'Missing key "amount" for TypedDict "CurrencyConvertRequest"' in report
    assert "Found 3 errors in 1 file" in report

    # and the runtime half is importable: typed() hands back the gateway itself
    sys.path.insert(0, str(stubs))
    try:
        from gateway_services import typed  # type: ignore[import-not-found]

        marker = object()
        assert typed(marker) is marker
    finally:
        sys.path.remove(str(stubs))
        sys.modules.pop("gateway_services", None)


def test_json_schema_types_become_annotations():
    defs = {"Person": {"type": "object", "properties": {"email": {"type": "string"}}}}

    assert python_type({"type": "array", "items": {"type": "integer"}}, {}) == "list[int]"
    assert python_type({"enum": ["A4", "A5"], "type": "string"}, {}) == "Literal['A4', 'A5']"
    assert python_type({"$ref": "#/$defs/Person"}, defs) == "dict[str, Any]"
    assert python_type({"type": ["string", "null"]}, {}) == "str | None"
    assert python_type({"anyOf": [{"type": "number"}, {}]}, {}) == "Any"
    assert python_type({"type": "string", "format": "decimal"}, {}) == "str"

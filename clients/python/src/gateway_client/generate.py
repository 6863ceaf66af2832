"""Typed method signatures from a running gateway's meta-schema (GET /api/v1/services/).

    python -m gateway_client.generate --url http://127.0.0.1:8000 --out stubs/

writes stubs/gateway_services.py and its stub gateway_services.pyi. With stubs/ on the
path (PYTHONPATH, or your editor's extra paths):

    from gateway_client import Gateway
    from gateway_services import typed
    gw = typed(Gateway())                   # the same object, typed
    gw.currency.latest_rates(base="EUR")    # completed and type-checked
"""

from __future__ import annotations

import argparse
import keyword
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gateway_client.catalog import Catalog, MethodInfo
from gateway_client.client import Gateway

MODULE = "gateway_services"
SIMPLE = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
RUNTIME = '''"""{header}"""

from typing import Any


def typed(gateway: Any) -> Any:
    """The gateway itself: {module}.pyi beside this file gives it its methods' types."""
    return gateway
'''


def python_type(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> str:
    """The annotation for a JSON Schema (2020-12) as the gateway writes them."""
    if depth > 8:
        return "Any"
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return python_type(target, defs, depth + 1) if isinstance(target, dict) else "Any"
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return f"Literal[{', '.join(repr(v) for v in values)}]"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return _union(python_type(s, defs, depth + 1) for s in schema[combinator])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union(python_type({**schema, "type": k}, defs, depth + 1) for k in kind)
    if kind == "array":
        return f"list[{python_type(schema.get('items') or {}, defs, depth + 1)}]"
    if kind == "object":
        return "dict[str, Any]"
    return SIMPLE.get(str(kind), "Any")


def _union(types: Any) -> str:
    unique = list(dict.fromkeys(types))
    return "Any" if "Any" in unique else " | ".join(unique)


def _class_name(key: str, suffix: str = "") -> str:
    return "".join(part.capitalize() for part in key.replace(".", "_").split("_")) + suffix


def _request_typeddict(method: MethodInfo) -> list[str]:
    # The functional form: field names such as "from" are Python keywords.
    schema, name = method.request_schema, _class_name(method.key, "Request")
    defs, required = schema.get("$defs", {}), set(schema.get("required", []))
    lines = [f"{name} = TypedDict({name!r}, {{"]
    for field, field_schema in schema.get("properties", {}).items():
        annotation = python_type(field_schema, defs)
        if field not in required:
            annotation = f"NotRequired[{annotation}]"
        lines.append(f"    {field!r}: {annotation},")
    return [*lines, "})"]


def _signature(method: MethodInfo, is_async: bool) -> list[str]:
    schema = method.request_schema
    defs, required = schema.get("$defs", {}), set(schema.get("required", []))
    properties: dict[str, Any] = schema.get("properties", {})
    returns = "Document" if method.is_document else "Result"
    prefix = "async def" if is_async else "def"
    as_keywords = all(k.isidentifier() and not keyword.iskeyword(k) for k in properties)
    if as_keywords:
        params = [f"{k}: {python_type(v, defs)}" for k, v in properties.items() if k in required]
        params += [
            f"{k}: {python_type(v, defs)} = ..." for k, v in properties.items() if k not in required
        ]
        arguments = ", ".join(["self", "*", *params, "idempotency_key: str | None = ..."])
    else:
        payload = _class_name(method.key, "Request")
        arguments = f"self, payload: {payload}, /, *, idempotency_key: str | None = ..."
    doc = (method.summary or method.key).replace('"""', "'''")
    return [f"    {prefix} {method.name}({arguments}) -> {returns}:", f'        """{doc}"""']


def render_stub(catalog: Catalog, header: str) -> str:
    lines = [
        f'"""{header}"""',
        "",
        "from typing import Any, Literal, TypedDict, overload",
        "",
        "from typing_extensions import NotRequired",
        "",
        "from gateway_client import AsyncGateway, Document, Gateway, Result",
        "",
    ]
    for method in catalog.methods.values():
        lines += [*_request_typeddict(method), ""]
    for is_async in (False, True):
        for service in catalog.services:
            lines.append(f"class {'Async' if is_async else ''}{_class_name(service)}Service:")
            for method in catalog.service_methods(service):
                lines += _signature(method, is_async)
            lines.append("")
    for is_async, base in ((False, "Gateway"), (True, "AsyncGateway")):
        prefix = "Async" if is_async else ""
        lines.append(f"class Typed{base}({base}):")
        for service in catalog.services:
            lines.append(f"    {service}: {prefix}{_class_name(service)}Service")
        enter = "async def __aenter__" if is_async else "def __enter__"
        lines += [f"    {enter}(self) -> Typed{base}: ...", ""]
    lines += [
        "@overload",
        "def typed(gateway: AsyncGateway) -> TypedAsyncGateway: ...",
        "@overload",
        "def typed(gateway: Gateway) -> TypedGateway: ...",
        "",
    ]
    return "\n".join(lines)


def generate(gateway: Gateway, out: Path, module: str = MODULE) -> list[Path]:
    """Write `module`.py and `module`.pyi for the gateway's catalog into `out`."""
    catalog = gateway.catalog(refresh=True)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"Methods of the gateway at {gateway.config.base_url}, generated by "
        f"gateway_client.generate on {when}. Do not edit: generate again."
    )
    out.mkdir(parents=True, exist_ok=True)
    runtime, stub = out / f"{module}.py", out / f"{module}.pyi"
    runtime.write_text(RUNTIME.format(header=header, module=module), encoding="utf-8")
    stub.write_text(render_stub(catalog, header), encoding="utf-8")
    return [runtime, stub]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway_client.generate", description=__doc__)
    parser.add_argument("--url", help="the gateway's base URL (default: $GATEWAY_URL)")
    parser.add_argument("--api-key", help="an API key (default: $GATEWAY_API_KEY)")
    parser.add_argument("--out", default="stubs", help="directory to write (default: stubs)")
    parser.add_argument("--module", default=MODULE, help="module name (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.module.isidentifier():
        parser.error(f"--module must be a Python identifier: {args.module!r}")
    try:
        gateway = Gateway(base_url=args.url, api_key=args.api_key)
    except ValueError as missing:
        parser.error(str(missing))
    with gateway:
        written = generate(gateway, Path(args.out), args.module)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

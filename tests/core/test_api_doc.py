"""docs/api.md names every route and every problem type the code has: a new endpoint or
error that is not documented fails here, in the change that adds it."""

import re
from collections.abc import Iterator
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.errors import GatewayError
from apps.gateway.http import CALL_PATH
from apps.gateway.websocket import websocket_urlpatterns

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CALL_ROUTE = "api/v1/services/<slug:service>/<slug:method>/"
PARAMETER = re.compile(r"<(?:\w+:)?\w+>|\{[^}]*\}")


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + route)
        else:
            yield prefix + route


def _shape(path: str) -> str:
    """A path with its parameters blanked: <slug:service> and {service} compare equal."""
    return PARAMETER.sub("{}", path)


def _names(text: str, path: str) -> bool:
    """Whether `text` names `path` whole: "/api/v1/ledger/" is not named by ".../summary/"."""
    return re.search(rf"(?<![\w/]){re.escape(path)}(?![\w/.])", text) is not None


def _subclasses(cls: type[GatewayError]) -> Iterator[type[GatewayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_http_and_websocket_route_is_in_the_api_doc() -> None:
    # given the routes the gateway serves, but the admin's own and the /api/ catch-all; each
    # method's own route (an action of its service's ViewSet) is the documented call path
    http = [
        CALL_ROUTE if CALL_PATH.match(f"/{r}") else r
        for r in _routes(get_resolver().url_patterns)
        if not r.startswith(("admin/", "^"))
    ]
    websocket = [str(p.pattern) for p in websocket_urlpatterns]
    assert "" in http and CALL_ROUTE in http

    # when docs/api.md is read
    documented = _shape(API_DOC.read_text())

    # then each one appears there as a path
    missing = [f"/{r}" for r in http + websocket if not _names(documented, _shape(f"/{r}"))]
    assert missing == []


def test_every_problem_type_is_in_the_api_doc() -> None:
    # given every problem type an error of the gateway can answer with
    import apps.messaging.errors  # noqa: F401  (webhook errors live with the webhooks)

    codes = {GatewayError.code} | {cls.code for cls in _subclasses(GatewayError)}

    # when the error table of docs/api.md is read
    documented = set(re.findall(r"^\| \d{3} \| `([a-z-]+)` \|", API_DOC.read_text(), re.M))

    # then both name the same types
    assert codes == documented

"""The Django-side entry of a call: POST /api/v1/services/{service}/{method}/ as a DRF
ViewSet per service, with an action per method.

Production serves calls before Django (apps.gateway.asgi_calls); these views serve them when
Django has the request: under runserver, a WSGI server, or an ASGI server without the fast
path. Both entries share apps.gateway.http, so they check, call and answer alike. The
actions are what drf-spectacular documents (apps.gateway.openapi.MethodCallSchema), and the
browsable API shows a call's answer to a browser that asks for HTML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.catalog.documents import CHUNK_BYTES
from apps.catalog.registry import MethodSpec, ServiceDefinition
from apps.core import state
from apps.core.errors import GatewayError
from apps.core.log_context import call_logged
from apps.core.middleware import request_id_for
from apps.gateway.http import (
    CALL_PATH,
    HttpAnswer,
    answer_call,
    gateway_request_from_http,
    problem_answer,
)
from apps.gateway.openapi import MethodCallSchema
from apps.gateway.stages import GatewayRequest
from apps.routing.http import close_http_client

# What the browsable API leaves to DRF: it writes its own type and length for its page.
_PAGE_HEADERS = frozenset({"content-type", "content-length"})


class CallNegotiation(DefaultContentNegotiation):
    """A call answers JSON (or its document) whatever Accept or ?format= say, as the ASGI
    entry does; only a browser asking for HTML gets the browsable API's page of it."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        chosen = self._asked(request, renderers, format_suffix)
        if isinstance(chosen, BrowsableAPIRenderer):
            return chosen, chosen.media_type
        return renderers[0], renderers[0].media_type

    def _asked(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None
    ) -> BaseRenderer | None:
        try:
            return super().select_renderer(request, renderers, format_suffix)[0]
        except (NotAcceptable, Http404):  # no renderer for Accept, an unknown ?format=
            return None


class MethodCallViewSet(viewsets.ViewSet):
    """Calls a method of the gateway. The body is the method's JSON request; the answer is
    its envelope (or its document), or an application/problem+json error."""

    # The pipeline authenticates (API key or internal JWT), rate-limits and answers every
    # refusal itself, as it does for the ASGI entry.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()
    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)
    content_negotiation_class = CallNegotiation
    schema = MethodCallSchema()
    # The method of each action (an action per method, in the per-service subclasses).
    method_specs: ClassVar[dict[str, MethodSpec]] = {}

    @property
    def method_spec(self) -> MethodSpec | None:
        return self.method_specs.get(getattr(self, "action", None) or "")

    @property
    def default_response_headers(self) -> dict[str, str]:
        # Not DRF's `Allow: POST, OPTIONS` and `Vary` on every answer: a call answers the
        # headers apps.gateway.http gives it (`Allow: POST` on its 405).
        return {}

    def call(self, request: Request, **kwargs: Any) -> HttpResponseBase:
        """Any method, known or not: the pipeline answers (a 404 problem for an unknown one)."""
        return self.serve(request)

    # DRF's stubs want a Response from these two; a call's answer is a plain HttpResponse.
    def http_method_not_allowed(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        return self.serve(request)  # the 405 problem, as the ASGI entry answers it

    def options(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        return self.serve(request)  # no DRF metadata: a call is POST only

    def serve(self, request: Request) -> HttpResponseBase:
        django_request = request._request
        # RequestIdMiddleware's, which it also sends back (a replay's id replaces it below).
        request_id = getattr(django_request, "request_id", None) or request_id_for(
            request.headers.get("X-Request-ID", "")
        )
        call_path = CALL_PATH.match(django_request.path_info)
        names = call_path.groupdict() if call_path else {}
        with call_logged(
            request_id, channel="http", service=names.get("service"), method=names.get("method")
        ) as log:
            answer = _answer(django_request, request_id)
            log.status = answer.status
        django_request.request_id = answer.request_id  # type: ignore[attr-defined]
        if answer.document is None and isinstance(request.accepted_renderer, BrowsableAPIRenderer):
            return _page(answer)
        return _response(answer)


def _answer(django_request: HttpRequest, request_id: str) -> HttpAnswer:
    http_method = django_request.method or ""
    try:
        body: bytes | None = django_request.body if http_method == "POST" else b""
    except RequestDataTooBig:
        body = None
    try:
        request = gateway_request_from_http(
            http_method=http_method,
            host=django_request.get_host(),  # Django has checked it against ALLOWED_HOSTS
            path=django_request.path_info,
            headers=django_request.headers,
            body=body,
            client_ip=django_request.META.get("REMOTE_ADDR"),
            request_id=request_id,
        )
    except GatewayError as error:
        return problem_answer(error, request_id)
    # Under WSGI (and Django's test client) each call runs in an event loop of its own, which
    # ends with it: its Redis and HTTP connections are closed with it, the breakers' queued
    # successes written first.
    return async_to_sync(_answer_in_loop)(request, isinstance(django_request, WSGIRequest))


async def _answer_in_loop(request: GatewayRequest, loop_ends: bool) -> HttpAnswer:
    try:
        return await answer_call(request)
    finally:
        if loop_ends:
            await state.close_async_client()
            await close_http_client()


def _response(answer: HttpAnswer) -> HttpResponseBase:
    response: HttpResponseBase
    if answer.document is not None:
        # The document in CHUNK_BYTES blocks; the response closes it once it is sent.
        response = FileResponse(answer.document.open(), status=answer.status)
        response.block_size = CHUNK_BYTES
    else:
        response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


def _page(answer: HttpAnswer) -> Response:
    """The browsable API's HTML page of the answer (the same body and headers)."""
    headers = {k: v for k, v in answer.headers if k.lower() not in _PAGE_HEADERS}
    return Response(json.loads(answer.body), status=answer.status, headers=headers)


def _method_action(spec: MethodSpec) -> Any:
    def serve(self: MethodCallViewSet, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self.serve(request)

    serve.__name__ = serve.__qualname__ = f"call_{spec.name}"
    serve.__doc__ = spec.summary
    return action(detail=False, methods=["post"], url_path=spec.name, url_name=spec.name)(serve)


def service_viewset(service: type[ServiceDefinition]) -> type[MethodCallViewSet]:
    """The ViewSet of one service: an action per method, each at its method's path."""
    actions = {f"call_{spec.name}": _method_action(spec) for spec in service.methods.values()}
    camel = "".join(part.title() for part in service.slug.replace("-", "_").split("_"))
    return type(
        f"{camel}MethodsViewSet",
        (MethodCallViewSet,),
        {
            "__doc__": service.description or service.name,
            "__module__": __name__,
            "method_specs": {f"call_{spec.name}": spec for spec in service.methods.values()},
            **actions,
        },
    )

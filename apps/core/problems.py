"""Rendering errors as application/problem+json (RFC 9457), for every view of the API."""

import json
import logging
import sys
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from apps.core.errors import GatewayError, database_unavailable
from apps.core.logging import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_type(code: str) -> str:
    # A relative URI reference, documented in docs/errors.md.
    return f"/problems/{code}"


def problem_body(error: GatewayError, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(error.code),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "request_id": request_id,
    }
    if error.errors is not None:
        body["errors"] = error.errors
    if error.attempts is not None:
        body["attempts"] = error.attempts
    return body


def problem_response(error: GatewayError, request_id: str | None = None) -> HttpResponse:
    request_id = request_id or request_id_var.get()
    response = HttpResponse(
        json.dumps(problem_body(error, request_id)),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def _translate_drf(exc: drf_exceptions.APIException) -> GatewayError:
    from apps.core import errors

    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail
        field_errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return errors.ValidationFailed(errors=_flatten(field_errors))
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return errors.NotAuthenticated(str(exc.detail))
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return errors.PermissionDenied(str(exc.detail))
    if isinstance(exc, drf_exceptions.NotFound):
        return errors.NotFound(str(exc.detail))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return errors.MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError | drf_exceptions.UnsupportedMediaType):
        return errors.InvalidRequest(str(exc.detail))
    if isinstance(exc, drf_exceptions.Throttled):
        return errors.RateLimited(str(exc.detail))
    generic = GatewayError(str(exc.detail))
    generic.status = exc.status_code
    return generic


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail to {"dotted.field.path": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        messages = detail if isinstance(detail, list) else [detail]
        flat[prefix or "non_field_errors"] = [str(m) for m in messages]
    return flat


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error leaves as problem+json."""
    if isinstance(exc, GatewayError):
        error = exc
    elif (unavailable := database_unavailable(exc)) is not None:
        error = unavailable
    elif isinstance(exc, drf_exceptions.APIException):
        error = _translate_drf(exc)
    else:
        handled = drf_default_handler(exc, context)  # Http404, Django PermissionDenied
        if handled is None:
            return None
        error = _translate_drf(
            drf_exceptions.NotFound()
            if handled.status_code == 404
            else drf_exceptions.PermissionDenied()
        )
    response = Response(
        problem_body(error, request_id_var.get()),
        status=error.status,
        headers=error.headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    return response


def flatten_validation_errors(detail: Any) -> dict[str, list[str]]:
    return _flatten(detail)


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    from apps.core.errors import NotFound

    return problem_response(NotFound(f"No such endpoint: {request.path}"))


def server_error_view(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 while handling the exception, so it is still at hand.
    unavailable = database_unavailable(exc) if (exc := sys.exc_info()[1]) else None
    if unavailable is not None:
        return problem_response(unavailable)
    return problem_response(GatewayError("The gateway failed to handle this request."))

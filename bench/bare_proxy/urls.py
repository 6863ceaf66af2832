"""One route, shaped like the gateway's: POST /api/v1/services/<service>/<method>/."""

import asyncio
import json
import weakref

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)


def _http() -> httpx.AsyncClient:
    """One pooled client per event loop, configured like the gateway's (apps/routing/http.py)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
            headers={"User-Agent": "bench-bare-proxy/1.0"},
            follow_redirects=False,
        )
        _clients[loop] = client
    return client


@csrf_exempt
async def proxy(request: HttpRequest, service: str, method: str) -> HttpResponse:
    payload = json.loads(request.body or b"{}")
    params = {"access_key": "bench", "base": payload.get("base", "EUR")}
    if payload.get("symbols"):
        params["symbols"] = ",".join(payload["symbols"])
    upstream = await _http().get(
        f"{settings.BENCH_UPSTREAM_URL}/latest", params=params, timeout=2.0
    )
    return JsonResponse(json.loads(upstream.content), status=upstream.status_code)


urlpatterns = [path("api/v1/services/<slug:service>/<slug:method>/", proxy)]

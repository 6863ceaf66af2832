"""GET /: one page saying what the gateway is and where its documentation and probes are.

It names no version and no setting: the page is public in production.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    # The curl on the page is copied as is, so it names the host the reader came in through
    # (already checked against ALLOWED_HOSTS, and the scheme the proxy reported).
    base_url = request.build_absolute_uri("/").rstrip("/")
    return render(request, "core/landing.html", {"base_url": base_url})

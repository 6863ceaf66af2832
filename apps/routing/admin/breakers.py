"""Circuit breakers in the admin: state columns, the breakers of a provider, ops' actions.

Mixed into the provider and offering pages of apps.routing.admin.

Breaker state lives in Redis (apps.routing.breakers), not in rows: a changelist reads the
breakers of every row on its page in one round trip. Forcing a breaker (drain, force closed,
back to automatic) is kept on the offering rows, so that it outlives Redis; it reaches every
process with the catalog at once.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.catalog.models import Offering, Provider
from apps.routing import breakers
from apps.routing.breakers import BreakerView
from apps.routing.health import offering_breakers, provider_breakers, providers_health_check
from apps.routing.services import offering_breaker_force

_COLOURS = {
    "closed": "#2e7d32",
    "half_open": "#b26a00",
    "cooling_down": "#b26a00",
    "open": "#ba2121",
    "forced_open": "#ba2121",
    "forced_closed": "#555",
}
_SEVERITY = ["closed", "forced_closed", "half_open", "cooling_down", "open", "forced_open"]


def state_badge(view: BreakerView | None) -> str:
    if view is None:
        return "—"
    label = view.state.replace("_", " ")
    if view.open_until is not None:
        label += f" for {max(0, round(view.open_until - breakers.clock()))} s"
    return format_html(
        '<strong style="color:{}">{}</strong>', _COLOURS.get(view.state, "#555"), label
    )


def fault_rate_text(view: BreakerView | None) -> str:
    if view is None or view.fault_rate is None:
        return "—"
    return f"{view.fault_rate:.0%} of {view.calls_in_window}"


def latency_text(view: BreakerView | None) -> str:
    if view is None or view.last_latency_ms is None:
        return "—"
    average = f" (avg {view.ewma_ms:.0f})" if view.ewma_ms is not None else ""
    return f"{view.last_latency_ms} ms{average}"


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class OfferingBreakerAdmin(admin.ModelAdmin):
    """Breaker columns and actions for the offering changelist."""

    breaker_actions = ("force_open", "force_closed", "reset_breakers")

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)  # evaluated once; the template reuses these rows
        views = offering_breakers(page)
        for offering in page:
            offering._breaker = views[offering.pk]  # type: ignore[attr-defined]
        return changelist

    @admin.display(description="breaker")
    def breaker_state(self, obj: Offering) -> str:
        return state_badge(getattr(obj, "_breaker", None))

    @admin.display(description="fault rate")
    def breaker_fault_rate(self, obj: Offering) -> str:
        return fault_rate_text(getattr(obj, "_breaker", None))

    @admin.display(description="last latency")
    def breaker_latency(self, obj: Offering) -> str:
        return latency_text(getattr(obj, "_breaker", None))

    @admin.display(description="last error")
    def breaker_last_error(self, obj: Offering) -> str:
        view = getattr(obj, "_breaker", None)
        return view.last_error[:120] if view and view.last_error else "—"

    @admin.action(description="Force breaker open (drain)", permissions=["change"])
    def force_open(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        _force(self, request, list(queryset.values_list("pk", flat=True)), breakers.FORCE_OPEN)

    @admin.action(description="Force breaker closed", permissions=["change"])
    def force_closed(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        _force(self, request, list(queryset.values_list("pk", flat=True)), breakers.FORCE_CLOSED)

    @admin.action(description="Reset breaker to automatic", permissions=["change"])
    def reset_breakers(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        _force(self, request, list(queryset.values_list("pk", flat=True)), breakers.AUTOMATIC)


class ProviderBreakerAdmin(admin.ModelAdmin):
    """Breaker summary, the breakers of each offering, and ops' actions for providers."""

    breaker_actions = (
        "force_providers_open",
        "force_providers_closed",
        "reset_provider_breakers",
        "probe_now",
    )
    breaker_fields = (
        "breaker_failures",
        "breaker_fault_rate",
        "breaker_window_s",
        "breaker_min_calls",
        "breaker_cooldown_s",
    )

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)
        grouped = provider_breakers(page)
        for provider in page:
            provider._breakers = grouped.get(provider.pk, [])  # type: ignore[attr-defined]
        return changelist

    @admin.display(description="breakers")
    def breaker_summary(self, obj: Provider) -> str:
        """The worst breaker of its offerings, and how many are in that state."""
        rows = getattr(obj, "_breakers", None)
        if rows is None:
            rows = provider_breakers([obj]).get(obj.pk, [])
        if not rows:
            return "—"
        worst = max((view for _, view in rows), key=lambda v: _SEVERITY.index(v.state))
        count = sum(1 for _, view in rows if view.state == worst.state)
        return format_html("{} ({} of {})", state_badge(worst), count, len(rows))

    @admin.display(description="breakers of its offerings")
    def breaker_table(self, obj: Provider) -> str:
        rows = provider_breakers([obj]).get(obj.pk, [])
        if not rows:
            return "No offerings."
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr>",
            "method",
            "breaker",
            "faults in a row",
            "fault rate",
            "last latency",
            "last error",
            "last health check",
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "</tr>",
            (
                (
                    offering.method.key,
                    state_badge(view),
                    view.consecutive_faults,
                    fault_rate_text(view),
                    latency_text(view),
                    view.last_error[:200] or "—",
                    f"{view.probe_outcome} at {when(view.probe_at)}" if view.probe_at else "never",
                )
                for offering, view in rows
            ),
        )
        return format_html("<table>{}{}</table>", header, body)

    @admin.action(description="Force breakers open (drain)", permissions=["change"])
    def force_providers_open(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        _force(self, request, _offering_ids(queryset), breakers.FORCE_OPEN)

    @admin.action(description="Force breakers closed", permissions=["change"])
    def force_providers_closed(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        _force(self, request, _offering_ids(queryset), breakers.FORCE_CLOSED)

    @admin.action(description="Reset breakers to automatic", permissions=["change"])
    def reset_provider_breakers(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        _force(self, request, _offering_ids(queryset), breakers.AUTOMATIC)

    @admin.action(description="Probe now (health check)", permissions=["change"])
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        results = providers_health_check(provider_ids=queryset.values_list("pk", flat=True))
        if not results:
            self.message_user(request, "None of these has a health probe.", messages.WARNING)
        for result in results:
            if result.healthy:
                self.message_user(
                    request, f"{result.provider}: ok in {result.latency_ms} ms", messages.SUCCESS
                )
            else:
                self.message_user(
                    request,
                    f"{result.provider}: {result.outcome} — {result.error}",
                    messages.ERROR,
                )


def _offering_ids(providers: QuerySet[Provider]) -> list[int]:
    return list(Offering.objects.filter(provider__in=providers).values_list("pk", flat=True))


_DONE = {
    breakers.FORCE_OPEN: "Forced open (drained) {} breaker(s): calls skip them until reset.",
    breakers.FORCE_CLOSED: "Forced closed {} breaker(s): tried whatever their faults, until reset.",
    breakers.AUTOMATIC: "Reset {} breaker(s) to automatic, with a clean slate.",
}


def _force(model_admin: Any, request: HttpRequest, offering_ids: list[int], mode: str) -> None:
    offering_breaker_force(offering_ids=offering_ids, mode=mode)
    model_admin.message_user(request, _DONE[mode].format(len(offering_ids)), messages.SUCCESS)

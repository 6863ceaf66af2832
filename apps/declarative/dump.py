"""Write the current catalog, plans and clients in the format gateway_apply reads.

Applying a dump changes nothing. Secrets are written only when asked for; otherwise a comment
lists which credentials are set, and the `credentials` key is left out so that applying the
dump keeps them. Every optional key is written out, so a dump is the complete state.
"""

from __future__ import annotations

import json
from typing import Any

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets
from apps.declarative.document import BREAKER_KEYS
from apps.declarative.plans import plan_dump
from apps.declarative.yaml_text import flow, scalar

HEADER = (
    "# Service Gateway configuration, written by `python manage.py gateway_dump`.\n"
    "# Apply it with `python manage.py gateway_apply FILE.yaml`.\n"
)


def config_dump(*, with_secrets: bool = False) -> str:
    """The whole configuration as YAML text; provider secrets only when `with_secrets`."""
    out = [HEADER]
    out += _section("providers", [_provider(p, with_secrets) for p in Provider.objects.all()])
    offerings = (
        Offering.objects.select_related("provider", "method__service")
        .prefetch_related("country_costs")
        .order_by("provider__slug", "method__service__slug", "method__slug")
    )
    out += _section("offerings", [_offering(o) for o in offerings])
    policies = RoutingPolicy.objects.select_related("method__service")
    out.append("routing:" + ("" if policies else " {}"))
    out += [f"  {scalar(p.method.key)}: {flow(_routing(p))}" for p in policies]
    plans = Plan.objects.prefetch_related(
        "prices__method__service", "prices__country_prices", "rate_limits"
    )
    out += _section("plans", [_plan(p) for p in plans])
    out += _section("clients", [_client(c) for c in Client.objects.select_related("plan")])
    return "\n".join(out) + "\n"


def _section(name: str, entries: list[list[str]]) -> list[str]:
    if not entries:
        return [f"{name}: []"]
    lines = [f"{name}:"]
    for entry in entries:
        lines.append(f"  - {entry[0]}")
        lines += [f"    {line}" for line in entry[1:]]
    return lines


def _provider(provider: Provider, with_secrets: bool) -> list[str]:
    lines = [
        f"slug: {scalar(provider.slug)}",
        f"name: {scalar(provider.name)}",
        f"adapter: {scalar(provider.adapter)}",
        f"base_url: {scalar(provider.base_url)}",
        f"timeout_ms: {provider.timeout_ms}",
        f"enabled: {scalar(provider.enabled)}",
        "breaker: " + flow({key: getattr(provider, name) for key, name in BREAKER_KEYS.items()}),
    ]
    if provider.countries:  # left out: every country its adapter serves
        lines.append(f"countries: [{', '.join(scalar(code) for code in provider.countries)}]")
    secrets = provider.credentials
    adapter = registry.adapters.get(provider.adapter)
    takes = ", ".join(adapter.credential_fields) if adapter else ""
    if isinstance(secrets, UnreadableSecrets):
        lines.append("# credentials: stored, but no configured FIELD_ENCRYPTION_KEY decrypts them")
    elif with_secrets:
        quoted = ", ".join(f"{scalar(k)}: {json.dumps(v)}" for k, v in sorted(secrets.items()))
        lines.append(f"credentials: {{{quoted}}}")
    elif secrets:
        lines.append(
            f"# credentials set: {', '.join(sorted(secrets))} (values only with --with-secrets)"
        )
    elif takes:
        lines.append(f"# credentials: none set (takes {takes})")
    return lines


def _offering(offering: Offering) -> list[str]:
    lines = [
        f"provider: {scalar(offering.provider.slug)}",
        f"method: {scalar(offering.method.key)}",
        f"enabled: {scalar(offering.enabled)}",
        f"priority: {offering.priority}",
        f"weight: {offering.weight}",
        f"cost: {scalar(offering.cost)}",
    ]
    by_country = {c.country: c.cost for c in offering.country_costs.all()}
    if by_country:
        lines.append(f"cost_by_country: {flow(by_country)}")
    return lines


def _routing(policy: RoutingPolicy) -> dict[str, Any]:
    values: dict[str, Any] = {
        "strategy": policy.strategy,
        "failover": policy.failover,
        "max_attempts": policy.max_attempts,
        "deadline_ms": policy.deadline_ms,
    }
    if policy.cache_ttl_s is not None:
        values["cache_ttl_s"] = policy.cache_ttl_s
    return values


def _plan(plan: Plan) -> list[str]:
    lines = [
        f"slug: {scalar(plan.slug)}",
        f"name: {scalar(plan.name)}",
        f"charge_failed_calls: {scalar(plan.charge_failed_calls)}",
    ]
    prices = sorted((p.method.key, p.price) for p in plan.prices.all())
    if not prices:
        return [*lines, "prices: {}", *plan_dump(plan)]
    return [
        *lines,
        "prices:",
        *(f"  {scalar(key)}: {scalar(price)}" for key, price in prices),
        *plan_dump(plan),  # country prices, free calls, rate limits
    ]


def _client(client: Client) -> list[str]:
    return [
        f"slug: {scalar(client.slug)}",
        f"name: {scalar(client.name)}",
        f"country: {scalar(client.country)}",
        f"plan: {scalar(client.plan.slug)}",
        f"credit_limit: {scalar(client.credit_limit)}",
        f"active: {scalar(client.is_active)}",
    ]

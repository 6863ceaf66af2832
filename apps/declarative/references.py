"""What a file refers to must exist, in the file or in the database: providers, adapters that
implement the offered methods, plans. Read-only; shared by apply and diff."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from apps.billing.models import Plan
from apps.catalog.models import Provider
from apps.catalog.registry import Registry
from apps.declarative.document import (
    ConfigDocument,
    ConfigIssue,
    Located,
    OfferingEntry,
    ProviderEntry,
)


def references_check(
    document: ConfigDocument,
    code: Registry,
    *,
    providers: Mapping[str, Provider] | None = None,
    plans: Iterable[str] | None = None,
) -> list[ConfigIssue]:
    """Every reference the file makes that neither the file nor the database can satisfy.

    `providers` (by slug) and `plans` (slugs) are the stored rows the caller has loaded
    already; left out, they are read here.
    """
    if providers is None:
        slugs = {p.slug for p in document.providers} | {o.provider for o in document.offerings}
        providers = {p.slug: p for p in Provider.objects.filter(slug__in=slugs)}
    if plans is None:
        plans = Plan.objects.filter(slug__in={c.plan for c in document.clients}).values_list(
            "slug", flat=True
        )
    issues: list[ConfigIssue] = []
    adapters = {slug: p.adapter for slug, p in providers.items()}
    adapters.update({p.slug: p.adapter for p in document.providers})
    for provider in document.providers:
        issues.extend(_adapter_change_problems(provider, providers.get(provider.slug), code))
    for offering in document.offerings:
        problem = _offering_problem(offering, adapters, code)
        if problem is not None:
            issues.append(problem)
    known_plans = set(plans) | {p.slug for p in document.plans}
    for client in document.clients:
        if client.plan not in known_plans:
            issues.append(
                issue(client, "plan", f"unknown plan {client.plan!r}: define it under plans")
            )
    return issues


def _offering_problem(
    offering: OfferingEntry, adapters: Mapping[str, str], code: Registry
) -> ConfigIssue | None:
    """Why an offering's provider or method cannot be served; None when it can."""
    if offering.provider not in adapters:
        return issue(
            offering,
            "provider",
            f"unknown provider {offering.provider!r}: define it under providers",
        )
    adapter = code.adapters.get(adapters[offering.provider])
    service, _, method_name = offering.method.partition(".")
    if adapter is None:
        return issue(
            offering,
            "provider",
            f"provider {offering.provider!r} uses adapter "
            f"{adapters[offering.provider]!r}, which is not in the code registry",
        )
    if adapter.service != service or method_name not in adapter.provided_methods:
        return issue(
            offering,
            "method",
            f"adapter {adapter.key} (provider "
            f"{offering.provider!r}) does not implement {offering.method}",
        )
    return None


def _adapter_change_problems(
    entry: ProviderEntry, stored: Provider | None, code: Registry
) -> Iterable[ConfigIssue]:
    adapter = code.adapters.get(entry.adapter)
    if stored is None or adapter is None or stored.adapter == entry.adapter:
        return
    for offering in stored.offerings.select_related("method__service"):
        method = offering.method
        if adapter.service != method.service.slug or method.slug not in adapter.provided_methods:
            yield issue(
                entry,
                "adapter",
                f"{entry.adapter} does not implement {method.key}, which "
                f"provider {entry.slug!r} already offers; remove that offering first",
            )


def issue(entry: Located, key: str, message: str) -> ConfigIssue:
    return ConfigIssue(entry.line_of(key), f"{entry.path}.{key}", message)

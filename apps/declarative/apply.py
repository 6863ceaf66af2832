"""Upsert a parsed configuration file into the catalog, plans and clients, all or nothing.

Rows are matched by their natural keys (provider slug, provider x method, method key, plan
slug, client slug) and only saved when a value differs, so applying the same file twice
changes nothing. Rows the file does not mention are left alone (unless pruning); the only
other deletions are the country costs of an offering and the prices of a plan that the file
lists, since those sets are given whole.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import Client
from apps.billing.models import Plan, Price
from apps.catalog.credential_scope import credentials_scope, has_secrets
from apps.catalog.models import Method, Offering, OfferingCountryCost, Provider, RoutingPolicy
from apps.catalog.registry import Registry, registry
from apps.catalog.services import catalog_cache_invalidate, provider_set_credentials
from apps.catalog.sync import catalog_sync
from apps.declarative.document import (
    ConfigDocument,
    ConfigInvalid,
    ConfigIssue,
    OfferingEntry,
    ProviderEntry,
)
from apps.declarative.plans import PlanApplier
from apps.declarative.prune import prune_run, prune_steps
from apps.declarative.references import references_check
from apps.declarative.report import ApplyReport
from apps.declarative.rows import RowInvalid, row_save, rows_replace


def config_apply(
    *,
    document: ConfigDocument,
    dry_run: bool = False,
    prune: bool = False,
    code: Registry = registry,
) -> ApplyReport:
    """Apply a parsed file in one transaction; raise ConfigInvalid (changing nothing) on errors.

    Runs the registry sync first so every method row exists, checks every reference the file
    makes against the file and the database, then upserts. With `prune`, rows of the file's
    sections that it does not list are then disabled or deleted (apps.declarative.prune).
    """
    with transaction.atomic():
        report = ApplyReport(synced=catalog_sync(source=code), dry_run=dry_run)
        applier = _Applier(document, report, code)
        issues = references_check(document, code, providers=applier.providers, plans=applier.plans)
        if issues:
            raise ConfigInvalid(document.source, issues)
        try:
            applier.apply()
            if prune:
                prune_run(prune_steps(document), report)
        except RowInvalid as invalid:
            raise ConfigInvalid(document.source, [invalid.issue]) from invalid
        if dry_run:
            transaction.set_rollback(True)
        elif report.changed:
            catalog_cache_invalidate()
    return report


class _Applier:
    def __init__(self, document: ConfigDocument, report: ApplyReport, code: Registry) -> None:
        self.document = document
        self.report = report
        self.code = code
        self.methods = {m.key: m for m in Method.objects.select_related("service")}
        provider_slugs = {p.slug for p in document.providers} | {
            o.provider for o in document.offerings
        }
        self.providers = {p.slug: p for p in Provider.objects.filter(slug__in=provider_slugs)}
        plan_slugs = {p.slug for p in document.plans} | {c.plan for c in document.clients}
        self.plans = {p.slug: p for p in Plan.objects.filter(slug__in=plan_slugs)}

    # -- writes ----------------------------------------------------------------------------

    def apply(self) -> None:
        self.apply_providers()
        self.apply_offerings()
        self.apply_routing()
        self.apply_plans()
        self.apply_clients()

    def apply_providers(self) -> None:
        counts = self.report.counts["providers"]
        for entry in self.document.providers:
            wanted: dict[str, Any] = {
                "adapter": entry.adapter,
                "base_url": entry.base_url,
                "timeout_ms": entry.timeout_ms,
                "enabled": entry.enabled,
                "countries": list(entry.countries),
                **entry.breaker,
            }
            if entry.name is not None:
                wanted["name"] = entry.name
            if entry.credentials is not None:
                wanted["credentials"] = dict(entry.credentials)
            provider = self.providers.get(entry.slug)
            if provider is None:
                name = entry.name or self.code.adapters[entry.adapter].display_name
                provider = Provider(slug=entry.slug, name=name)
            moving = provider.pk is not None and _moves_secrets(provider, entry)
            created, changed = row_save(provider, wanted, entry)
            counts.count(created=created, changed=changed)
            self.providers[entry.slug] = provider
            if moving:
                self._follow_move(provider, entry)
            self._warn_missing_credentials(provider, entry)

    def _follow_move(self, provider: Provider, entry: ProviderEntry) -> None:
        """The save dropped the stored secrets (Provider.save): the file's own go to the new
        host; without any, say so."""
        if entry.credentials is not None:
            # Given in the file, by whoever wrote it for this host: stored as given, even
            # the values that equal the dropped ones.
            provider_set_credentials(provider=provider, credentials=dict(entry.credentials))
            return
        self.report.warnings.append(
            ConfigIssue(
                entry.line,
                entry.path,
                "base_url host or adapter changed: the stored credentials were cleared; give "
                "them under credentials (or in the admin) if they are meant for the new host",
            ).render(self.document.source)
        )

    def _warn_missing_credentials(self, provider: Provider, entry: ProviderEntry) -> None:
        adapter = self.code.adapters[provider.adapter]
        missing = adapter.missing_credentials(provider.credentials)
        if provider.enabled and missing:
            self.report.warnings.append(
                ConfigIssue(
                    entry.line,
                    entry.path,
                    f"enabled without credentials {', '.join(missing)}: its calls fail over "
                    "until they are set",
                ).render(self.document.source)
            )

    def apply_offerings(self) -> None:
        counts = self.report.counts["offerings"]
        stored = {
            (o.provider.slug, o.method.key): o
            for o in Offering.objects.filter(provider__slug__in=self.providers)
            .select_related("provider", "method__service")
            .prefetch_related("country_costs")
        }
        for entry in self.document.offerings:
            offering = stored.get((entry.provider, entry.method))
            if offering is None:
                offering = Offering(
                    provider=self.providers[entry.provider], method=self.methods[entry.method]
                )
            wanted = {
                "enabled": entry.enabled,
                "priority": entry.priority,
                "weight": entry.weight,
                "cost": entry.cost,
            }
            created, changed = row_save(offering, wanted, entry)
            costs_changed = self._replace_country_costs(offering, entry, fresh=created)
            counts.count(created=created, changed=changed or costs_changed)

    def _replace_country_costs(
        self, offering: Offering, entry: OfferingEntry, *, fresh: bool
    ) -> bool:
        current = {} if fresh else {c.country: c for c in offering.country_costs.all()}
        return rows_replace(
            current,
            entry.cost_by_country,
            make=lambda country, cost: OfferingCountryCost(
                offering=offering, country=country, cost=cost
            ),
            amount_field="cost",
            entry=entry,
        )

    def apply_routing(self) -> None:
        counts = self.report.counts["routing"]
        stored = {
            r.method.key: r
            for r in RoutingPolicy.objects.select_related("method__service").filter(
                method__in=[self.methods[e.method] for e in self.document.routing]
            )
        }
        for entry in self.document.routing:
            policy = stored.get(entry.method) or RoutingPolicy(method=self.methods[entry.method])
            wanted = {
                "strategy": entry.strategy,
                "failover": entry.failover,
                "max_attempts": entry.max_attempts,
                "deadline_ms": entry.deadline_ms,
                "cache_ttl_s": entry.cache_ttl_s,
            }
            created, changed = row_save(policy, wanted, entry)
            counts.count(created=created, changed=changed)

    def apply_plans(self) -> None:
        counts = self.report.counts["plans"]
        prices: dict[int, dict[str, Price]] = {}
        for price in Price.objects.filter(plan__in=self.plans.values()).select_related(
            "method__service"
        ):
            prices.setdefault(price.plan_id, {})[price.method.key] = price
        for entry in self.document.plans:
            plan = self.plans.get(entry.slug) or Plan(slug=entry.slug, name=entry.slug)
            wanted: dict[str, Any] = {"charge_failed_calls": entry.charge_failed_calls}
            if entry.name is not None:
                wanted["name"] = entry.name
            created, changed = row_save(plan, wanted, entry)
            self.plans[entry.slug] = plan
            # Prices, country prices, free calls and rate limits: apps.declarative.plans
            plan_changed = PlanApplier(self.methods).apply(plan, entry, prices.get(plan.pk, {}))
            counts.count(created=created, changed=changed or plan_changed)

    def apply_clients(self) -> None:
        counts = self.report.counts["clients"]
        stored = {
            c.slug: c
            for c in Client.objects.filter(slug__in=[e.slug for e in self.document.clients])
        }
        for entry in self.document.clients:
            client = stored.get(entry.slug) or Client(slug=entry.slug)
            wanted = {
                "name": entry.name,
                "country": entry.country,
                "plan_id": self.plans[entry.plan].pk,
                "credit_limit": entry.credit_limit,
                "is_active": entry.active,
            }
            created, changed = row_save(client, wanted, entry)
            counts.count(created=created, changed=changed)


def _moves_secrets(provider: Provider, entry: ProviderEntry) -> bool:
    """The entry moves stored secrets to another host or adapter (apps.catalog.credential_scope)."""
    return has_secrets(provider.credentials) and credentials_scope(
        provider.adapter, provider.base_url
    ) != credentials_scope(entry.adapter, entry.base_url)

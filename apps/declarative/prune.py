"""`gateway_apply --prune`: what the file no longer lists is disabled or deleted.

Only the sections the file has are pruned (write `clients: []` to prune every client).
Nothing the ledger or a client still refers to is deleted:

- providers: disabled, never deleted (the ledger names the provider that served each call);
- offerings: disabled (their weights, costs and history stay, to enable again);
- routing: the policy is reset to the defaults (every method has one: the registry sync
  makes it);
- plans: deleted, unless a client is still on one (then kept, and said so);
- clients: suspended (active: false), never deleted (their ledger rows protect them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.declarative.changes import Change, FieldChange, render
from apps.declarative.document import ConfigDocument
from apps.declarative.report import ApplyReport

NOT_LISTED = "not in the file"
ROUTING_FIELDS = ("strategy", "failover", "max_attempts", "deadline_ms", "cache_ttl_s")


@dataclass(frozen=True)
class PruneStep:
    change: Change
    row: models.Model
    values: Mapping[str, Any] = field(default_factory=dict)  # what "disable" or "reset" sets


def prune_steps(document: ConfigDocument) -> list[PruneStep]:
    """What pruning would do to the rows the file does not list (reads only)."""
    sections = document.sections
    steps: list[PruneStep] = []
    if "providers" in sections:
        listed = {p.slug for p in document.providers}
        for provider in Provider.objects.filter(enabled=True).exclude(slug__in=listed):
            steps.append(_disable("providers", provider.slug, provider, "enabled"))
    if "offerings" in sections:
        listed_offerings = {(o.provider, o.method) for o in document.offerings}
        offerings = Offering.objects.filter(enabled=True).select_related(
            "provider", "method__service"
        )
        for offering in offerings.order_by("provider__slug", "pk"):
            key = (offering.provider.slug, offering.method.key)
            if key not in listed_offerings:
                steps.append(_disable("offerings", " ".join(key), offering, "enabled"))
    if "routing" in sections:
        steps += _routing_steps({r.method for r in document.routing})
    if "plans" in sections:
        steps += _plan_steps({p.slug for p in document.plans})
    if "clients" in sections:
        listed = {c.slug for c in document.clients}
        for client in Client.objects.filter(is_active=True).exclude(slug__in=listed):
            steps.append(_disable("clients", client.slug, client, "is_active", shown="active"))
    return steps


def _routing_steps(listed: set[str]) -> list[PruneStep]:
    fresh = RoutingPolicy()
    defaults = {name: getattr(fresh, name) for name in ROUTING_FIELDS}
    steps = []
    for policy in RoutingPolicy.objects.select_related("method__service"):
        if policy.method.key in listed:
            continue
        diffs = tuple(
            FieldChange(name, render(getattr(policy, name)), render(value))
            for name, value in defaults.items()
            if getattr(policy, name) != value
        )
        if diffs:
            note = f"{NOT_LISTED}: back to the default policy"
            change = Change("routing", policy.method.key, "reset", diffs, note)
            steps.append(PruneStep(change, policy, defaults))
    return steps


def _plan_steps(listed: set[str]) -> list[PruneStep]:
    steps = []
    plans = Plan.objects.exclude(slug__in=listed).annotate(client_count=Count("clients"))
    for plan in plans:
        if plan.client_count:
            users = Client.objects.filter(plan=plan).order_by("slug").values_list("slug", flat=True)
            shown = ", ".join(users[:3]) + (", ..." if plan.client_count > 3 else "")
            note = f"{NOT_LISTED}, but kept: clients are on it ({shown})"
            steps.append(PruneStep(Change("plans", plan.slug, "keep", (), note), plan))
        else:
            steps.append(PruneStep(Change("plans", plan.slug, "delete", (), NOT_LISTED), plan))
    return steps


def _disable(
    kind: str, key: str, row: models.Model, flag: str, *, shown: str = "enabled"
) -> PruneStep:
    change = Change(kind, key, "disable", (FieldChange(shown, "true", "false"),), NOT_LISTED)
    return PruneStep(change, row, {flag: False})


def prune_run(steps: list[PruneStep], report: ApplyReport) -> None:
    """Carry out the steps (inside the apply's transaction) and count them in `report`."""
    for step in steps:
        counts = report.counts[step.change.kind]
        if step.change.action in ("disable", "reset"):
            for name, value in step.values.items():
                setattr(step.row, name, value)
            step.row.save(update_fields=[*step.values, "updated_at"])
            if step.change.action == "disable":
                counts.disabled += 1
            else:
                counts.reset += 1
        elif step.change.action == "delete":
            step.row.delete()
            counts.deleted += 1
        else:
            counts.kept += 1

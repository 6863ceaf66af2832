"""Sync the code registry into catalog rows, after every migrate.

Code owns names, descriptions and the idempotent/cacheable flags; ops own everything they
tune (enabled, priority, weight, cost, credentials, strategy), which a sync never overwrites.
New adapters arrive as disabled providers: ops (or gateway_apply) switch them on.
"""

import logging
from typing import Any

from django.db import transaction

from apps.catalog.models import Method, Offering, Provider, RoutingPolicy, Service
from apps.catalog.registry import Registry, registry

logger = logging.getLogger(__name__)


@transaction.atomic
def catalog_sync(*, source: Registry = registry) -> dict[str, int]:
    created = {"services": 0, "methods": 0, "providers": 0, "offerings": 0}
    methods: dict[str, Method] = {}
    for definition in source.services.values():
        service, new = Service.objects.get_or_create(
            slug=definition.slug,
            defaults={"name": definition.name, "description": definition.description},
        )
        created["services"] += new
        if not new and (service.name, service.description) != (
            definition.name,
            definition.description,
        ):
            service.name, service.description = definition.name, definition.description
            service.save(update_fields=["name", "description", "updated_at"])
        for spec in definition.methods.values():
            code_owned = {
                "name": spec.summary,
                "description": spec.description,
                "idempotent": spec.idempotent,
                "cacheable": spec.cacheable,
            }
            method, new = Method.objects.get_or_create(
                service=service, slug=spec.name, defaults=code_owned
            )
            created["methods"] += new
            if not new and any(getattr(method, k) != v for k, v in code_owned.items()):
                for k, v in code_owned.items():
                    setattr(method, k, v)
                method.save(update_fields=[*code_owned, "updated_at"])
            RoutingPolicy.objects.get_or_create(method=method)
            methods[spec.key] = method

    for adapter in source.adapters.values():
        provider = Provider.objects.filter(adapter=adapter.key).order_by("pk").first()
        if provider is None:
            provider, new = Provider.objects.get_or_create(
                slug=adapter.default_slug,
                defaults={
                    "name": adapter.display_name,
                    "adapter": adapter.key,
                    "base_url": adapter.default_base_url,
                    "timeout_ms": adapter.default_timeout_ms,
                    "enabled": False,
                },
            )
            created["providers"] += new
        for method_name in adapter.provided_methods:
            method = methods[f"{adapter.service}.{method_name}"]
            _, new = Offering.objects.get_or_create(provider=provider, method=method)
            created["offerings"] += new
    return created


def sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    created = catalog_sync()
    if any(created.values()) and kwargs.get("verbosity", 1) >= 1:
        logger.info("catalog sync created %s", created)

"""The staff roles: `ops` tunes the catalog, routing and pricing; `finance` reads the ledger.

Created by migration ledger 0005 and set again after every `migrate` (post_migrate), so the
groups always hold exactly these permissions. Superusers need no group.
"""

from __future__ import annotations

from typing import Any

ALL = ("add", "change", "delete", "view")

ROLES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "ops": {
        "catalog": {
            "service": ("change", "view"),
            "method": ("change", "view"),
            "provider": ALL,  # its credentials are write-only in the admin
            "offering": ALL,
            "offeringcountrycost": ALL,
            "routingpolicy": ALL,
        },
        "billing": {
            "plan": ALL,
            "price": ALL,
            "countryprice": ALL,
            "clientprice": ALL,
            "planratelimit": ALL,
            "clientratelimit": ALL,
        },
        "accounts": {"client": ("view",)},
        # The control room links dangling holds to the runs that release them.
        "ledger": {"holdreleaserun": ("view",)},
    },
    "finance": {
        "ledger": {
            "ledgerentry": ("view", "book"),  # the ledger API, export, refunds
            "holdreleaserun": ("view",),
        },
        "accounts": {"client": ("view",)},
        "billing": {
            "plan": ("view",),
            "price": ("view",),
            "countryprice": ("view",),
            "clientprice": ("view",),
        },
    },
}


def roles_apply(*, group_model: Any, permission_model: Any, registry: Any = None) -> None:
    """Create the groups and give each exactly its permissions (models from any app registry).

    A migration passes its historical `registry`: models it does not have yet are left for the
    post_migrate pass, which runs with every model.
    """
    for name, by_app in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = []
        for app_label, by_model in by_app.items():
            for model, actions in by_model.items():
                if registry is not None and not _has_model(registry, app_label, model):
                    continue
                for action in actions:
                    permissions.append(
                        permission_model.objects.get(
                            content_type__app_label=app_label,
                            codename=f"{action}_{model}",
                        )
                    )
        group.permissions.set(permissions)


def _has_model(registry: Any, app_label: str, model: str) -> bool:
    try:
        registry.get_model(app_label, model)
    except LookupError:
        return False
    return True


def roles_after_migrate(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    roles_apply(group_model=Group, permission_model=Permission)

"""The order of the OpenAPI document: what a client developer reads first comes first.

drf-spectacular sorts paths alphabetically, so the staff-only ledger used to open the
document and Swagger UI. Here the catalog and the service methods (in the registry's order)
come first, then a call's status and the client's usage, then the vendors' webhooks, and
the ledger last. Swagger UI groups operations by the top-level `tags` list, in its order.
"""

from typing import Any

from apps.catalog.registry import registry

# The tags of the Django views (everything but the method calls), and what each is for.
_BEFORE_METHODS = {"catalog": "Which services and methods this key may call, with their schemas."}
_AFTER_METHODS = {
    "calls": "The status and result of a call, by its request id (for background calls).",
    "usage": "The calling client's own calls and charges.",
}
_LAST = {
    "webhooks": "Delivery events that email and SMS vendors post, each signed by its vendor.",
    "ledger": "Finance staff only (a staff token): every call's cost, price and margin.",
}


def _tags(used: set[str]) -> list[dict[str, str]]:
    services = {
        slug: service.description or service.name for slug, service in registry.services.items()
    }
    known = {**_BEFORE_METHODS, **services, **_AFTER_METHODS}
    others = {tag: "" for tag in sorted(used - set(known) - set(_LAST))}
    ordered = {**known, **others, **_LAST}
    return [
        {"name": name, **({"description": text} if text else {})}
        for name, text in ordered.items()
        if name in used
    ]


def _tag_of(item: dict[str, Any]) -> str:
    for operation in item.values():
        if isinstance(operation, dict) and operation.get("tags"):
            return str(operation["tags"][0])
    return ""


def order_for_clients(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (the last): paths and tags in reading order."""
    paths: dict[str, Any] = result.get("paths", {})
    used = {_tag_of(item) for item in paths.values()} - {""}
    tags = _tags(used)
    rank = {tag["name"]: position for position, tag in enumerate(tags)}
    # Within a tag: a service's methods in the registry's order, the views' as they came
    # (alphabetical; sorted() is stable).
    methods = {
        f"/api/v1/services/{spec.service}/{spec.name}/": position
        for position, spec in enumerate(registry.all_methods())
    }
    result["paths"] = dict(
        sorted(
            paths.items(),
            key=lambda path: (rank.get(_tag_of(path[1]), len(rank)), methods.get(path[0], -1)),
        )
    )
    result["tags"] = tags
    return result

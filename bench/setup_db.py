"""Configure a freshly migrated bench database and print a client API key on the last line.

Routes currency.latest_rates to one provider only (by default fixer, pointing at the local
upstream), disables every other provider, and creates a plan with a price for the method and
a client with a credit limit no benchmark can reach.

    DJANGO_SETTINGS_MODULE=gateway_project.settings DATABASE_URL=... \
        python bench/setup_db.py --base-url http://127.0.0.1:18081

Used by bench/run.sh when `manage.py gateway_apply` / `create_api_key` are not available.
"""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from apps.accounts.models import Client, ClientApiKey  # noqa: E402
from apps.billing.models import Plan, Price  # noqa: E402
from apps.catalog.models import Method, Offering, Provider  # noqa: E402
from apps.catalog.registry import registry  # noqa: E402

METHOD = ("currency", "latest_rates")


@transaction.atomic
def configure(*, adapter: str, slug: str, base_url: str, price: Decimal) -> str:
    if adapter not in registry.adapters:
        raise SystemExit(f"adapter {adapter} is not registered; known: {sorted(registry.adapters)}")
    method = Method.objects.get(service__slug=METHOD[0], slug=METHOD[1])

    provider = Provider.objects.filter(adapter=adapter).order_by("pk").first()
    if provider is None:
        provider = Provider(adapter=adapter, name=slug)
    provider.slug = slug
    provider.base_url = base_url
    provider.timeout_ms = 2000
    provider.enabled = True
    provider.credentials = {"access_key": "bench"}
    provider.full_clean()
    provider.save()
    Provider.objects.exclude(pk=provider.pk).update(enabled=False)

    offering, _ = Offering.objects.get_or_create(provider=provider, method=method)
    offering.enabled, offering.priority, offering.weight = True, 1, 1
    offering.cost = Decimal("0.0002")
    offering.save()

    plan, _ = Plan.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Price.objects.update_or_create(plan=plan, method=method, defaults={"price": price})
    client, _ = Client.objects.update_or_create(
        slug="bench",
        defaults={
            "name": "Bench client",
            "country": "DE",
            "plan": plan,
            "credit_limit": Decimal("999999999.0000"),
            "is_active": True,
        },
    )
    _, key = ClientApiKey.objects.create_key(client=client, name="bench")
    return str(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default="currency.fixer")
    parser.add_argument("--slug", default="fixer")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--price", default="0.0010")
    args = parser.parse_args()
    key = configure(
        adapter=args.adapter, slug=args.slug, base_url=args.base_url, price=Decimal(args.price)
    )
    print(key)


if __name__ == "__main__":
    main()

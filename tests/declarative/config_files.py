"""What the declarative tests share: a configuration file, test adapters, and the commands
run as ops run them (tests/declarative, and the catalog's tests of what the file sets)."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework import serializers

from apps.accounts.models import Client
from apps.billing.models import Plan, Price
from apps.catalog.models import Offering, OfferingCountryCost, Provider, RoutingPolicy
from apps.catalog.providers import CallContext, ProviderAdapter, provides
from apps.catalog.registry import MethodSpec, ServiceDefinition
from apps.declarative.services import config_dump

SECRET = "s3cr3t-access-key-0123456789"

FILE = """\
providers:
  - slug: sandbox
    adapter: currency.sandbox
    base_url: sandbox://rates
    timeout_ms: 800
    enabled: true
  - slug: sandbox-b
    name: Second sandbox
    adapter: currency.sandbox
    base_url: sandbox://backup
    enabled: false
offerings:
  - provider: sandbox
    method: currency.latest_rates
    priority: 1
    weight: 3
    cost: "0.0010"
    cost_by_country: {DE: "0.0008", NO: "0.0009"}
  - provider: sandbox-b
    method: currency.latest_rates
    priority: 2
    cost: "0.0020"
routing:
  currency.latest_rates: {strategy: priority, failover: false, max_attempts: 2, deadline_ms: 4000,
                          cache_ttl_s: 60}
plans:
  - slug: standard
    name: Standard
    charge_failed_calls: true
    prices: {currency.latest_rates: "0.0100", currency.convert: "0.0050"}
clients:
  - slug: acme
    name: ACME Ltd
    country: DE
    plan: standard
    credit_limit: "100.00"
"""


class ToyService(ServiceDefinition):
    """Registered only inside the tests that need a method that is not cacheable."""

    slug = "toy"
    name = "Toy"
    ping = MethodSpec(
        request=serializers.Serializer, response=serializers.Serializer, summary="Ping"
    )


class VaultRates(ProviderAdapter):
    """A test adapter that needs a credential and serves only latest_rates."""

    key = "currency.vault"
    service = "currency"
    default_slug = "vault"
    display_name = "Vault rates"
    default_base_url = "https://vault.example/api"
    credential_fields = ("access_key",)

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        return {}


def apply(tmp_path: Path, text: str, *args: str, name: str = "config.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    out = StringIO()
    call_command("gateway_apply", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def apply_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CommandError) as error:
        apply(tmp_path, text)
    return str(error.value)


def dump(*args: str) -> str:
    out = StringIO()
    call_command("gateway_dump", *args, stdout=out)
    return out.getvalue()


def state() -> dict[str, Any]:
    """Everything apply may touch, including every row's updated_at."""
    return {
        "dump": config_dump(with_secrets=True),
        "stamps": sorted(
            str(stamp)
            for model in (Provider, Offering, RoutingPolicy, Plan, Client)
            for stamp in model.objects.values_list("updated_at", flat=True)
        ),
        "country_costs": sorted(OfferingCountryCost.objects.values_list("pk", "cost")),
        "prices": sorted(Price.objects.values_list("pk", "price")),
    }


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


VAULT = f"""\
providers:
  - slug: vault
    adapter: currency.vault
    base_url: https://vault.example/api
    enabled: true
    credentials: {{access_key: "{SECRET}"}}
offerings:
  - {{provider: vault, method: currency.latest_rates, priority: 5, cost: "0.0030"}}
"""

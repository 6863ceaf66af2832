"""A new vendor is one module in its service's providers folder: found, named from its key."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.catalog.providers import ProviderAdapter
from apps.catalog.registry import registry

VENDOR = """
from apps.catalog.providers import ProviderAdapter, provides
from apps.catalog.registry import registry


@registry.provider
class Frankfurter(ProviderAdapter):
    key = "currency.frankfurter"
    display_name = "Frankfurter"

    @provides("latest_rates")
    async def latest_rates(self, payload, context):
        return {}
"""


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the test registers is forgotten after it."""
    monkeypatch.setattr(registry, "services", dict(registry.services))
    monkeypatch.setattr(registry, "adapters", dict(registry.adapters))


@pytest.fixture
def service_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A service package on the path: the currency service, and a providers folder."""
    package = tmp_path / "fx_demo"
    (package / "providers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "service.py").write_text("from apps.integrations.currency.service import *\n")
    (package / "providers" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fx_demo"
    for name in [m for m in sys.modules if m == "fx_demo" or m.startswith("fx_demo.")]:
        del sys.modules[name]


def test_a_vendor_module_dropped_in_the_providers_folder_is_registered(
    fresh_registry, service_package, tmp_path
):
    # given one new module in the providers folder, listed nowhere else
    (tmp_path / service_package / "providers" / "frankfurter.py").write_text(VENDOR)

    # when the service app is discovered (what its AppConfig.ready does)
    registry.discover(service_package)

    # then the adapter serves its key's service, under its key's vendor name
    adapter = registry.adapters["currency.frankfurter"]
    assert adapter.service == "currency"
    assert adapter.default_slug == "frankfurter"
    assert adapter in registry.adapters_for("currency.latest_rates")


def test_a_slug_set_by_the_vendor_wins_over_the_derived_one():
    class Console(ProviderAdapter):
        key = "sms.console"
        default_slug = "sms-console"

    assert (Console.service, Console.default_slug) == ("sms", "sms-console")


def test_a_key_and_a_service_that_disagree_are_refused_at_import():
    with pytest.raises(TypeError, match="serves 'email'"):

        class Mixed(ProviderAdapter):
            key = "sms.mixed"
            service = "email"


@pytest.mark.parametrize("key", ["frankfurter", "currency.", ".frankfurter"])
def test_a_key_without_service_and_vendor_is_refused(key):
    with pytest.raises(TypeError, match=r"service\.vendor"):
        type("Bad", (ProviderAdapter,), {"key": key})

import pytest

from apps.catalog.registry import registry
from tests.declarative.config_files import ToyService, VaultRates


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.services, ToyService.slug, ToyService)
    monkeypatch.setitem(registry.adapters, VaultRates.key, VaultRates)

"""Settings a test module may give a shared fixture, without shadowing a conftest fixture."""

from __future__ import annotations

from typing import Any

import pytest


def module_fixture_or(request: pytest.FixtureRequest, name: str, default: Any) -> Any:
    """The value of fixture `name` where the test's module (or a conftest below) defines
    one, else `default`. No conftest defines `name`, so a module's definition shadows none.

    A module whose `name` fixture is parametrized lists it in `usefixtures`, so that pytest
    parametrizes the tests with it.
    """
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return default

"""Fixtures shared by the money tests."""

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from apps.core import asyncdb


@pytest.fixture
async def statements_sent(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """The event loop's pool, and the text of every statement sent over it."""
    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def spy(self: psycopg.AsyncCursor[Any], query: Any, params: Any = None, **kw: Any) -> Any:
        sent.append(str(query))
        return await execute(self, query, params, **kw)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", spy)
    await asyncdb.open_db_pool()
    yield sent
    await asyncdb.close_db_pool()

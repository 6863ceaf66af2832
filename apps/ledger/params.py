"""The query parameters of the finance and usage APIs that are more than plain text: instants
and cursors, both checked so that no value a client sends reaches a query it would fail."""

from __future__ import annotations

from base64 import b64decode
from datetime import UTC, date, datetime, time
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from apps.core.errors import InvalidRequest
from apps.ledger.rollup import accounting_tz


class InstantField(serializers.Field):
    """A date (midnight in the accounting time zone) or an ISO 8601 date-time."""

    default_error_messages = {
        "invalid": "Use a date (2026-11-01) or an ISO 8601 date-time.",
        "range": "Out of range: use a year from 1 to 9999 in UTC and in the accounting time zone.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time())
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=accounting_tz())
        if not instant_in_range(moment):
            self.fail("range")
        # The same instant in UTC: Python takes offsets up to a day, PostgreSQL only to 15:59.
        return moment.astimezone(UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def instant_in_range(moment: datetime) -> bool:
    """Whether the moment is a datetime in UTC and in the accounting time zone too: queries
    compare in UTC and the daily rollup in accounting days (0001-01-01T00:00+05:00 is
    in year 0 in UTC, which Python cannot hold)."""
    try:
        moment.astimezone(UTC)
        moment.astimezone(accounting_tz())
    except (OverflowError, ValueError):
        return False
    return True


class LedgerCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        """`page_size` from 1 to max_page_size; DRF quietly ignores any other value, which
        hides a client's mistake behind a page of another size."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise InvalidRequest(
                "page_size is not a page size this API gives.",
                errors={
                    self.page_size_query_param: [
                        f"Use a whole number from 1 to {self.max_page_size}."
                    ]
                },
            )
        return int(raw)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, checked: strict base64, and a position that is a created_at (DRF
        would hand any text to the query, a 500; and it answers 404 for a bad cursor)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            b64decode(encoded.encode("ascii"), validate=True)
            cursor = super().decode_cursor(request)
        except (ValueError, NotFound):  # binascii.Error and UnicodeError are ValueErrors
            cursor = None
        if cursor is None or (
            cursor.position is not None and not _position_ok(str(cursor.position))
        ):
            raise InvalidRequest(
                "The cursor is not one this API gave out.",
                errors={self.cursor_query_param: ["Use the next or previous link as given."]},
            )
        return cursor


def _position_ok(position: str) -> bool:
    try:
        moment = datetime.fromisoformat(position)
    except ValueError:
        return False
    return timezone.is_aware(moment) and instant_in_range(moment)

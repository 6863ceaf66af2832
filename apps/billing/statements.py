"""The credit side of the money statements, each written once: as SQL for PostgreSQL and,
beside it, as the ORM steps other databases take (run by apps.core.statements).

- CREDIT_HOLD reserves a call's price (`held`) only while balance - held - price >=
  -credit_limit, so concurrent calls can never spend past the limit, and writes the
  CreditHold row that names the call.
- The settle's credit half (SETTLE_CREDIT_CTES, credit_settle_orm) moves the balance by the
  ledger row's amount and drops the hold. It runs inside the ledger's settle statement
  (apps.ledger.statements), in the transaction that writes the call's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core.group_commit import AGAIN, Again, GroupStatement
from apps.core.statements import Row


@dataclass(frozen=True)
class HeldCredit:
    """A hold taken for one call: the settle drops it."""

    id: int
    amount: Decimal


@dataclass(frozen=True)
class HoldRequest:
    """What CREDIT_HOLD reserves, and for which call."""

    client_id: int
    amount: Decimal
    request_id: str
    method: str
    now: datetime


_CLIENT = Client._meta.db_table
# In a condition of a statement that is a transaction of its own: its commit does not wait
# for the WAL to reach the disk (set_config(..., true) lasts until that commit).
_ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true) IS NOT NULL"
_HOLD = CreditHold._meta.db_table


class CreditHoldStatement(GroupStatement[HoldRequest, HeldCredit | None]):
    """The hold: None when the client's credit does not cover the amount.

    Its group form (apps.core.group_commit) reserves, per client, the sum of the group's
    amounts at once when the credit covers that sum, and writes every hold of the group;
    the calls of a client whose sum does not fit are sent again one by one (AGAIN), so each
    still gets the verdict it would have got alone."""

    sql = f"""
WITH reserved AS (
    UPDATE {_CLIENT} SET held = held + %(amount)s
    WHERE id = %(client_id)s AND balance - held - %(amount)s >= -credit_limit
    RETURNING id
)
INSERT INTO {_HOLD} (client_id, request_id, method, amount, created_at)
SELECT id, %(request_id)s, %(method)s, %(amount)s, %(now)s FROM reserved
RETURNING id
"""  # noqa: S608 (table names come from the models, values are parameters)

    def params(self, args: HoldRequest) -> dict[str, Any]:
        return {
            "amount": args.amount,
            "client_id": args.client_id,
            "request_id": args.request_id,
            "method": args.method,
            "now": args.now,
        }

    def result(self, args: HoldRequest, row: Row | None) -> HeldCredit | None:
        return HeldCredit(id=row[0], amount=args.amount) if row else None

    # Over the call pool a hold is a transaction of its own, and its commit does not wait for
    # the disk (synchronous_commit off for that transaction alone; a durable commit costs a
    # WAL flush, milliseconds on some disks). A hold lost in a database crash is a hold never
    # taken: its `held` went with it, the balance never depended on it, and the call's settle
    # (always durable, and flushing every earlier commit with it) drops nothing. Statements
    # run in a caller's transaction (`run`) keep the sync text: it would make theirs async.
    pool_sql = sql.replace(
        "AND balance - held - %(amount)s >= -credit_limit",
        f"AND balance - held - %(amount)s >= -credit_limit AND {_ASYNC_COMMIT}",
    )

    # Arrays go in PostgreSQL's binary format (%b): the text format quotes every element.
    # The clients' rows are locked in id order (`locked`, which the UPDATE waits for) before
    # any is updated: two groups over the same clients never take them in opposite orders.
    group_sql = f"""
WITH call AS (
    SELECT * FROM UNNEST((%b)::bigint[], (%b)::numeric[], (%b)::varchar[], (%b)::varchar[],
                         (%b)::timestamptz[])
    WITH ORDINALITY AS call(client_id, amount, request_id, method, created_at, n)
),
locked AS MATERIALIZED (
    SELECT id FROM {_CLIENT} WHERE id IN (SELECT client_id FROM call)
    ORDER BY id FOR NO KEY UPDATE
),
reserved AS (
    UPDATE {_CLIENT} AS client SET held = client.held + wanted.amount
    FROM (SELECT client_id, sum(amount) AS amount FROM call
          WHERE (SELECT count(*) FROM locked) >= 0 GROUP BY client_id) AS wanted
    WHERE client.id = wanted.client_id
      AND client.balance - client.held - wanted.amount >= -client.credit_limit
    RETURNING client.id
)
INSERT INTO {_HOLD} (client_id, request_id, method, amount, created_at)
SELECT client_id, request_id, method, amount, created_at FROM call
WHERE client_id IN (SELECT id FROM reserved) AND {_ASYNC_COMMIT} ORDER BY n
RETURNING id, client_id
"""  # noqa: S608 (table names come from the models, values are parameters)

    def group_params(self, group: Sequence[HoldRequest]) -> list[list[Any]]:
        return [
            [args.client_id for args in group],
            [args.amount for args in group],
            [args.request_id for args in group],
            [args.method for args in group],
            [args.now for args in group],
        ]

    def group_results(
        self, group: Sequence[HoldRequest], rows: list[Row]
    ) -> list[HeldCredit | Again | None]:
        """The holds come back in the calls' order, every call of a reserved client's."""
        held = iter(rows)
        reserved = {client_id for _, client_id in rows}
        return [_held(next(held), args) if args.client_id in reserved else AGAIN for args in group]

    def orm(self, args: HoldRequest) -> HeldCredit | None:
        with transaction.atomic():
            reserved = Client.objects.filter(
                pk=args.client_id, balance__gte=F("held") + args.amount - F("credit_limit")
            ).update(held=F("held") + args.amount)
            if not reserved:
                return None
            hold = CreditHold.objects.create(
                client_id=args.client_id,
                request_id=args.request_id,
                method=args.method,
                amount=args.amount,
                created_at=args.now,
            )
        return HeldCredit(id=hold.pk, amount=args.amount)


CREDIT_HOLD = CreditHoldStatement()


def _held(row: Row, args: HoldRequest) -> HeldCredit:
    hold_id, client_id = row
    if client_id != args.client_id:  # the rows come back in the calls' order, or not at all
        raise AssertionError(f"hold {hold_id} of client {client_id} for {args.request_id}")
    return HeldCredit(id=hold_id, amount=args.amount)


# The settle's credit half, as two CTEs (`released`, `settled`) of the ledger's settle
# statement. A hold released already (by the dangling-hold release) is not released twice;
# a call with neither an amount nor a hold leaves the client's row alone. A hold is dropped
# by its id and its client: should a database crash lose a hold's (asynchronous) commit and
# its id be handed out again, the late settle of the lost one can never touch the `held` of
# another client. The client's row is taken only after the ledger statement's `day` bucket,
# in every form (the ORM's too), so no two settles take them in opposite orders. (A pending
# settle, apps.gateway.settle, locks its client first; a deadlock with a group is broken by
# PostgreSQL and both are written again.)
SETTLE_CREDIT_CTES = (
    f"released AS (DELETE FROM {_HOLD} WHERE id = %s AND client_id = %s "  # noqa: S608
    "RETURNING amount), "
    f"settled AS (UPDATE {_CLIENT} SET balance = balance + %s, "
    "held = held - COALESCE((SELECT amount FROM released), 0) "
    "WHERE id = %s AND (%s <> 0 OR EXISTS (SELECT 1 FROM released)) "
    "AND (SELECT count(*) FROM day) >= 0)"
)


# The same for a group of calls (apps.core.group_commit): every hold of the group dropped,
# and each client's row moved once, by the sum of its calls' amounts and released holds;
# the rows are locked in id order (`locked`) after the day buckets, before any is updated.
SETTLE_GROUP_CREDIT_CTES = (
    f"released AS (DELETE FROM {_HOLD} AS hold "  # noqa: S608
    "USING UNNEST((%s)::bigint[], (%s)::bigint[]) AS dropped(id, client_id) "
    "WHERE hold.id = dropped.id AND hold.client_id = dropped.client_id "
    "RETURNING hold.client_id, hold.amount), "
    "moved AS (SELECT client_id, sum(amount) AS amount, sum(released) AS released, "
    "bool_or(dropped) AS dropped FROM ("
    "SELECT client_id, amount, 0 AS released, false AS dropped "
    "FROM UNNEST((%s)::bigint[], (%s)::numeric[]) AS call(client_id, amount) "
    "UNION ALL SELECT client_id, 0, amount, true FROM released) AS each_one "
    "GROUP BY client_id), "
    f"locked AS MATERIALIZED (SELECT id FROM {_CLIENT} WHERE id IN "
    "(SELECT client_id FROM moved) AND (SELECT count(*) FROM day) >= 0 "
    "ORDER BY id FOR NO KEY UPDATE), "
    f"settled AS (UPDATE {_CLIENT} AS client SET balance = client.balance + moved.amount, "
    "held = client.held - moved.released FROM moved "
    "WHERE client.id = moved.client_id AND (moved.amount <> 0 OR moved.dropped) "
    "AND (SELECT count(*) FROM locked) >= 0)"
)


def settle_group_credit_params(
    *, client_ids: list[int], amounts: list[Decimal], holds: list[HeldCredit | None]
) -> list[Any]:
    """The parameters of SETTLE_GROUP_CREDIT_CTES: the holds to drop, then each call's
    client and amount."""
    pairs = zip(holds, client_ids, strict=True)
    dropped = [(hold.id, client_id) for hold, client_id in pairs if hold is not None]
    return [[id_ for id_, _ in dropped], [client for _, client in dropped], client_ids, amounts]


def settle_credit_params(*, client_id: int, amount: Decimal, hold: HeldCredit | None) -> list[Any]:
    """The parameters of SETTLE_CREDIT_CTES, in order."""
    return [hold.id if hold else None, client_id, amount, client_id, amount]


def credit_settle_orm(*, client_id: int, amount: Decimal, hold: HeldCredit | None) -> None:
    """SETTLE_CREDIT_CTES through the ORM, in the caller's transaction."""
    if hold is None:
        if amount:
            Client.objects.filter(pk=client_id).update(balance=F("balance") + amount)
        return
    deleted, _ = CreditHold.objects.filter(pk=hold.id, client_id=client_id).delete()
    Client.objects.filter(pk=client_id).update(
        balance=F("balance") + amount, held=F("held") - (hold.amount if deleted else 0)
    )

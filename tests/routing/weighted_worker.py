"""One gateway process's share of weighted routing, run as its own OS process by the tests.

    python -m tests.routing.weighted_worker CALLS

Steps the shared rotation CALLS times, exactly as a call does, for three offerings weighted
5:3:2, and prints how often each came first, as JSON. REDIS_URL names the shared Redis.
"""

import asyncio
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings_test")

import django

django.setup()

from apps.routing import breakers  # noqa: E402
from apps.routing.strategies import RoutingContext, strategies  # noqa: E402
from tests.support.routing import route_of  # noqa: E402

OFFERINGS = [
    route_of("alpha", offering_id=101, weight=5),
    route_of("beta", offering_id=102, weight=3),
    route_of("gamma", offering_id=103, weight=2),
]


async def main(calls: int) -> dict[str, int]:
    strategy = strategies["weighted"]
    counts = {o.provider.slug: 0 for o in OFFERINGS}
    for _ in range(calls):
        state = await breakers.route_begin(OFFERINGS, method="currency.latest_rates", rotate=True)
        context = RoutingContext("currency.latest_rates", "acme", "DE", state=state)
        first = (await strategy.order(OFFERINGS, context))[0]
        counts[first.provider.slug] += 1
    return counts


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1])))))

"""Who may scrape `GET /metrics`: a source address in METRICS_ALLOWED_NETWORKS and, when
METRICS_TOKEN is set, `Authorization: Bearer <token>` as well.

The default networks are loopback and the private ranges, where a Prometheus server sits
beside the gateway; a scraper from anywhere else needs its network listed (and should carry
the token). The address is REMOTE_ADDR, which uvicorn takes from X-Forwarded-For only for
the proxies in FORWARDED_ALLOW_IPS, so a client cannot claim a private address.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings

from apps.core.errors import GatewayError, NotAuthenticated, PermissionDenied

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def address_allowed(address: str | None) -> bool:
    """Whether `address` lies in one of METRICS_ALLOWED_NETWORKS."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False  # no peer address (a unix socket) or an unreadable one
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def token_matches(authorization: str) -> bool:
    """Whether the header carries METRICS_TOKEN (compared in constant time); True unset."""
    token: str = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, sent = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())


def scrape_refusal(address: str | None, authorization: str) -> GatewayError | None:
    """Why this scrape is refused (403 from elsewhere, 401 without the token), or None."""
    if not address_allowed(address):
        return PermissionDenied(
            "Metrics are not served to this address (METRICS_ALLOWED_NETWORKS)."
        )
    if not token_matches(authorization):
        return NotAuthenticated(
            "Metrics need the bearer token (METRICS_TOKEN).",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return None

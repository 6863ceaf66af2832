"""Where the gateway may connect when a client or ops chose the destination.

A callback URL comes from a client; a provider's base URL and an SMTP host from ops in the
admin. None of them may make the gateway reach inside its own network: loopback, private,
link-local, shared (CGNAT), multicast, reserved and unspecified addresses are refused, in any
spelling (127.1, 0x7f000001, 2130706433, [::ffff:127.0.0.1], fe80::1%eth0, a name that
resolves to one...).

The check is made on the address a socket is about to connect to, never on the name in the
URL: the name is resolved once, every address it resolves to is checked, and the connection
goes to exactly a checked address, so a DNS answer that changes between check and connect
(DNS rebinding) changes nothing.

Two settings, both from the environment only (ops in the admin cannot change them):
- GATEWAY_EGRESS_ALLOW_PRIVATE: allow private and loopback addresses (local development,
  the benchmark, tests with a local listener). Multicast and unspecified stay refused.
- GATEWAY_EGRESS_ALLOWED_NETWORKS: CIDRs that are allowed although private (an internal
  document service, an SMTP relay on the private network).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# 64:ff9b::/96 (RFC 6052): a NAT64 gateway turns it into the IPv4 address in its low bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# What inet_aton accepts (and so the OS resolver): 1 to 4 parts, decimal, octal or hex.
_INET_ATON = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class EgressRefused(OSError):
    """A destination the egress policy forbids. An OSError, so that every HTTP and SMTP
    client treats it as a connection that could not be made (nothing was sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EgressForbidden(EgressRefused):
    """The address itself is forbidden by the policy (not a name that failed to resolve):
    asking again later gets the same answer, so callers need not retry."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped, NAT64, 6to4 or Teredo client."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in cidrs)


def _allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # Parsed once per list (settings validated it at start; tests change it).
    return _networks(tuple(settings.GATEWAY_EGRESS_ALLOWED_NETWORKS))


def address_refusal(address: IPAddress) -> str | None:
    """Why the gateway may not connect to `address`; None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "an IPv6 address with a zone id"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # The packets go to the IPv4 address: that is the one to judge.
            return address_refusal(embedded)
    if address.is_multicast or address.is_unspecified:
        return "a multicast or unspecified address"
    if any(address in network for network in _allowed_networks()):
        return None
    if address.is_link_local:
        # Cloud metadata (169.254.169.254) lives here: refused even with ALLOW_PRIVATE on,
        # which is for a developer's loopback and private network; allow it by network only.
        return "a link-local address"
    if settings.GATEWAY_EGRESS_ALLOW_PRIVATE:
        return None
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or not address.is_global  # also 100.64.0.0/10, 192.0.0.0/24, documentation ranges
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    ):
        return "a loopback, private, link-local or reserved address"
    return None


def check_address(address: str | IPAddress) -> IPAddress:
    """The address, parsed; EgressRefused when the policy forbids it."""
    parsed = ipaddress.ip_address(address) if isinstance(address, str) else address
    reason = address_refusal(parsed)
    if reason is not None:
        raise EgressForbidden(f"refused: {reason}")
    return parsed


def literal_address(host: str) -> IPAddress | None:
    """The address a host name spells without DNS, read the way the OS resolver reads it
    (inet_aton's short, octal and hex IPv4 forms; a trailing dot); None for a real name."""
    host = host.strip("[]")
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _INET_ATON.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def url_refusal(url: str) -> str | None:
    """What can be known of a URL without DNS: why its host is refused, or None.

    For an early 400 on an obviously internal callback URL; the connection itself is
    checked again, address by address, when it is made.
    """
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return "no host"
    name = host.rstrip(".")
    if (name == "localhost" or name.endswith(".localhost")) and not _private_allowed():
        return "a loopback name"  # RFC 6761: always loopback, never asked of DNS
    address = literal_address(host)
    if address is None:
        return None
    return address_refusal(address)


def _private_allowed() -> bool:
    return bool(settings.GATEWAY_EGRESS_ALLOW_PRIVATE)


def resolve(host: str, port: int) -> list[tuple[int, str]]:
    """Every (family, address) `host` resolves to, each checked; EgressRefused if any is
    refused (a name that also points inside is not used at all)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EgressRefused(f"the name does not resolve ({exc.strerror})") from exc
    checked: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        check_address(_sockaddr_address(sockaddr))
        if (family, str(sockaddr[0])) not in checked:
            checked.append((family, str(sockaddr[0])))
    return checked


def _sockaddr_address(sockaddr: tuple[Any, ...]) -> IPAddress:
    address = ipaddress.ip_address(sockaddr[0])
    if isinstance(address, ipaddress.IPv6Address) and len(sockaddr) == 4 and sockaddr[3]:
        return ipaddress.IPv6Address(f"{address}%{sockaddr[3]}")  # keep the zone (scope id)
    return address


def checked_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """aiohttp's socket_factory: a socket for `addr_info`, only when its address is allowed.

    aiohttp (through aiohappyeyeballs) connects the socket to exactly this addr_info's
    address, for resolved names and IP literals alike (which skip the resolver).
    """
    family, type_, proto, _, sockaddr = addr_info
    check_address(_sockaddr_address(sockaddr))
    return socket.socket(family=family, type=type_, proto=proto)


def connect(host: str, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to `host`, made to one of its checked addresses (smtplib, httpcore)."""
    last_error: OSError | None = None
    for family, address in resolve(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    raise last_error or EgressRefused("the name resolves to no address")

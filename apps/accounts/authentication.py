"""Who is calling: a client's API key, or an internal service's signed JWT.

  Authorization: Api-Key <key>     (or X-API-Key: <key>)
  Authorization: Bearer <JWT>      HS256 with INTERNAL_GATEWAY_KEY; claim entity_id is the
                                   client's slug, exp is required

Lookups are cached per process, dropped whenever a client or key changes (through the shared
version in Redis), and in any case after GATEWAY_AUTH_CACHE_TTL_S seconds: without Redis, or
while it is unreachable, a version bump reaches only the process that made it, and the expiry
is what bounds how long another process may still accept a revoked key or a suspended client.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import jwt
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication
from rest_framework.request import Request
from rest_framework_api_key.crypto import KeyGenerator

from apps.accounts.models import Client, ClientApiKey
from apps.accounts.signals import PRINCIPALS_VERSION
from apps.core import state
from apps.core.db import then_release_connection
from apps.core.errors import NotAuthenticated, PermissionDenied


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    client_id: int
    client_slug: str
    country: str
    plan_id: int
    credit_limit: Decimal
    key_id: str | None  # None for internal (JWT) callers
    internal: bool

    @property
    def is_internal(self) -> bool:
        return self.internal

    @classmethod
    def for_client(cls, client: Client | _ClientRecord, *, key_id: str | None) -> Principal:
        """The caller `client`, through its key `key_id` (None: an internal JWT caller)."""
        return cls(
            client_id=client.pk,
            client_slug=client.slug,
            country=client.country,
            plan_id=client.plan_id,
            credit_limit=client.credit_limit,
            key_id=key_id,
            internal=key_id is None,
        )


@dataclass(frozen=True)
class _KeyRecord:
    hashed_key: str
    key_id: str
    revoked: bool
    expiry_date: datetime | None
    client: _ClientRecord


@dataclass(frozen=True)
class _ClientRecord:
    id: int
    slug: str
    country: str
    plan_id: int
    credit_limit: Decimal
    is_active: bool

    @property
    def pk(self) -> int:
        return self.id


class _PrincipalCache:
    """A bounded LRU of key and client lookups, valid for one principals version and for
    GATEWAY_AUTH_CACHE_TTL_S seconds after each lookup."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.version: int | None = None
        # key -> (monotonic time it expires at, value)
        self.entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def sync_version(self, version: int) -> None:
        with self.lock:
            if version != self.version:
                self.entries.clear()
                self.version = version

    def get(self, key: str) -> Any:
        with self.lock:
            if key in self.entries:
                expires_at, value = self.entries[key]
                if time.monotonic() < expires_at:
                    self.entries.move_to_end(key)
                    return value
                del self.entries[key]
        raise KeyError(key)

    def put(self, key: str, value: Any) -> None:
        expires_at = time.monotonic() + settings.GATEWAY_AUTH_CACHE_TTL_S
        with self.lock:
            self.entries[key] = (expires_at, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_cache = _PrincipalCache()
_keygen = KeyGenerator()


def _client_record(client: Client) -> _ClientRecord:
    return _ClientRecord(
        id=client.pk,
        slug=client.slug,
        country=client.country,
        plan_id=client.plan_id,
        credit_limit=client.credit_limit,
        is_active=client.is_active,
    )


def _load_key(prefix: str) -> _KeyRecord | None:
    key = ClientApiKey.objects.select_related("client").filter(prefix=prefix).first()
    if key is None:
        return None
    return _KeyRecord(
        hashed_key=key.hashed_key,
        key_id=key.pk,
        revoked=key.revoked,
        expiry_date=key.expiry_date,
        client=_client_record(key.client),
    )


def _load_client(slug: str) -> _ClientRecord | None:
    client = Client.objects.filter(slug=slug).first()
    return _client_record(client) if client else None


def _parse_credentials(headers: Mapping[str, str]) -> tuple[str, str]:
    """("api-key" | "jwt", token) from the request headers."""
    authorization = headers.get("Authorization", "").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        scheme, token = scheme.lower(), token.strip()
        if scheme == "api-key" and token:
            return "api-key", token
        if scheme == "bearer" and token:
            return "jwt", token
        raise NotAuthenticated("Use 'Authorization: Api-Key <key>' or 'Bearer <JWT>'.")
    api_key = headers.get("X-API-Key", "").strip()
    if api_key:
        return "api-key", api_key
    raise NotAuthenticated("An API key is required: send 'Authorization: Api-Key <key>'.")


def _principal_from_key(token: str, record: _KeyRecord | None) -> Principal:
    if record is None or not _keygen.verify(token, record.hashed_key):
        raise NotAuthenticated("Unknown API key.")
    if record.revoked:
        raise NotAuthenticated("This API key has been revoked.")
    if record.expiry_date is not None and record.expiry_date < timezone.now():
        raise NotAuthenticated("This API key has expired.")
    return _principal(record.client, key_id=record.key_id)


def _principal(client: _ClientRecord, *, key_id: str | None) -> Principal:
    if not client.is_active:
        raise PermissionDenied(f"Client {client.slug} is suspended.")
    return Principal.for_client(client, key_id=key_id)


def _jwt_subject(token: str) -> str:
    if not settings.INTERNAL_GATEWAY_KEY:
        raise NotAuthenticated("Internal (JWT) authentication is not configured.")
    try:
        claims = jwt.decode(
            token,
            settings.INTERNAL_GATEWAY_KEY,
            algorithms=["HS256"],
            options={"require": ["exp", "entity_id"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticated("The token has expired.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise NotAuthenticated("The token lacks a required claim (exp, entity_id).") from exc
    except jwt.InvalidSignatureError as exc:
        raise NotAuthenticated("The token's signature does not verify.") from exc
    except jwt.PyJWTError as exc:
        # Our own words, never the library's text (docs/security.md).
        raise NotAuthenticated("The token is not a valid JWT.") from exc
    return str(claims["entity_id"])


async def authenticate_headers(
    headers: Mapping[str, str], *, version: int | None = None
) -> Principal:
    """Authenticate a call on the async hot path (no database hit when cached).

    `version` is the principals version when the caller has already read it.
    """
    scheme, token = _parse_credentials(headers)
    if version is None:
        (version,) = await state.read_versions(PRINCIPALS_VERSION)
    _cache.sync_version(version)
    if scheme == "api-key":
        prefix = token.partition(".")[0]
        try:
            record = _cache.get("key:" + prefix)
        except KeyError:
            record = await sync_to_async(then_release_connection(_load_key))(prefix)
            _cache.put("key:" + prefix, record)
        return _principal_from_key(token, record)
    slug = _jwt_subject(token)
    try:
        client = _cache.get("client:" + slug)
    except KeyError:
        client = await sync_to_async(then_release_connection(_load_client))(slug)
        _cache.put("client:" + slug, client)
    if client is None:
        raise NotAuthenticated(f"Unknown client {slug!r} in the token.")
    return _principal(client, key_id=None)


def authenticate_headers_sync(headers: Mapping[str, str]) -> Principal:
    scheme, token = _parse_credentials(headers)
    if scheme == "api-key":
        return _principal_from_key(token, _load_key(token.partition(".")[0]))
    client = _load_client(_jwt_subject(token))
    if client is None:
        raise NotAuthenticated("Unknown client in the token.")
    return _principal(client, key_id=None)


class ClientKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication for client-facing endpoints; request.auth is the Principal."""

    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        headers = request.headers
        if not headers.get("Authorization") and not headers.get("X-API-Key"):
            return None
        if headers.get("Authorization", "").lower().startswith(("basic", "session")):
            return None
        principal = authenticate_headers_sync(headers)
        return ClientUser(principal), principal

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="gateway"'


class ClientUser:
    """Stands in for request.user when a client key authenticated the request."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.pk = None
        self.username = f"client:{principal.client_slug}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username

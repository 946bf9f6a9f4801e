"""The relying-party (client) registry: registrations, their validation, secrets, lookup.

Owns the ``oidc_client`` table. Routes and grants see ``RegisteredClient``, an immutable
view with the client's JWKS already parsed, cached in memory for ``cache_seconds`` so
the hot path does not query the database per request; a client added from the command
line in another process becomes visible within that time.

Client secrets are stored only as a keyed hash (``client_secrets``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from jwt import PyJWK
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, col, select

from identity_service.db import IdentityBase
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.registration import (
    ClientRegistration,
    ClientRegistrationError,
    validate_registration,
)

DEFAULT_CACHE_SECONDS = 30.0
MAX_CLIENT_ID_LENGTH = 128
CLIENT_SECRET_BYTES = 32


class ClientRecord(IdentityBase, table=True):
    """A registered relying party, as stored."""

    __tablename__ = "oidc_client"

    client_id: str = Field(primary_key=True, max_length=MAX_CLIENT_ID_LENGTH)
    name: str
    client_secret_hash: str | None = None
    redirect_uris: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    grant_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    token_endpoint_auth_method: str = Field(max_length=32)
    jwks: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    id_token_signed_response_alg: str = Field(max_length=16)
    min_level: int = 1
    sector_identifier: str
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    require_signed_request_object: bool = False
    fapi2: bool = False


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key from the client's JWKS, parsed once (private_key_jwt assertions)."""

    kid: str | None
    key_type: str
    alg: str | None  # as declared in the JWK; None means any algorithm of its key type
    key: Any


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A client as the provider uses it; never carries a secret in the clear."""

    client_id: str
    name: str
    client_secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    backchannel_logout_uri: str | None
    backchannel_logout_session_required: bool
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    jwks: dict[str, Any] | None
    id_token_signed_response_alg: str
    min_level: int
    sector_identifier: str
    created_at: datetime
    # The high-assurance switches (see ``registration.ClientRegistration``).
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    require_signed_request_object: bool = False
    fapi2: bool = False
    # Parsed once per cache load, so assertions never re-deserialise keys.
    verification_keys: tuple[VerificationKey, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    def allows_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def public_view(self) -> dict[str, Any]:
        """The registration as ``natid clients list --json`` shows it (no secret hash)."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": self.backchannel_logout_session_required,
            "scopes": list(self.scopes),
            "grant_types": list(self.grant_types),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "min_level": self.min_level,
            "sector_identifier": self.sector_identifier,
            "has_jwks": self.jwks is not None,
            "require_pushed_authorization_requests": self.require_pushed_authorization_requests,
            "dpop_bound_access_tokens": self.dpop_bound_access_tokens,
            "require_signed_request_object": self.require_signed_request_object,
            "fapi2": self.fapi2,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: ClientRecord) -> RegisteredClient:
        keys = tuple(
            VerificationKey(jwk.get("kid"), jwk["kty"], jwk.get("alg"), PyJWK(jwk).key)
            for jwk in (record.jwks or {}).get("keys", [])
        )
        created_at = record.created_at
        if created_at.tzinfo is None:  # SQLite returns naive datetimes, written in UTC
            created_at = created_at.replace(tzinfo=UTC)
        return cls(
            client_id=record.client_id,
            name=record.name,
            client_secret_hash=record.client_secret_hash,
            redirect_uris=tuple(record.redirect_uris),
            post_logout_redirect_uris=tuple(record.post_logout_redirect_uris),
            backchannel_logout_uri=record.backchannel_logout_uri,
            backchannel_logout_session_required=record.backchannel_logout_session_required,
            scopes=tuple(record.scopes),
            grant_types=tuple(record.grant_types),
            token_endpoint_auth_method=record.token_endpoint_auth_method,
            jwks=record.jwks,
            id_token_signed_response_alg=record.id_token_signed_response_alg,
            min_level=record.min_level,
            sector_identifier=record.sector_identifier,
            created_at=created_at,
            require_pushed_authorization_requests=record.require_pushed_authorization_requests,
            dpop_bound_access_tokens=record.dpop_bound_access_tokens,
            require_signed_request_object=record.require_signed_request_object,
            fapi2=record.fapi2,
            verification_keys=keys,
        )


@dataclass(frozen=True, slots=True)
class NewClient:
    """The result of a registration: the client and its secret, shown exactly once."""

    client: RegisteredClient
    client_secret: str | None


class ClientRegistry:
    """Registered clients in the identity database, with a short in-memory cache."""

    def __init__(
        self,
        engine: Engine,
        hasher: ClientSecretHasher,
        *,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._hasher = hasher
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[RegisteredClient, float]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str) -> RegisteredClient | None:
        """The client, or None; unknown ids are looked up every time (never cached)."""
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        cached = self._cache.get(client_id)
        if cached is not None and self._clock() - cached[1] < self._cache_seconds:
            return cached[0]
        with Session(self._engine) as session:
            record = session.get(ClientRecord, client_id)
            client = None if record is None else RegisteredClient.from_record(record)
        with self._lock:
            if client is None:
                self._cache.pop(client_id, None)
            else:
                self._cache[client_id] = (client, self._clock())
        return client

    def verify_secret(self, client: RegisteredClient | None, presented_secret: str) -> bool:
        """Constant-time check; an unknown client (None) still pays one hash, then fails."""
        stored = None if client is None else client.client_secret_hash
        return self._hasher.verify(stored, presented_secret)

    def list_clients(self) -> list[RegisteredClient]:
        with Session(self._engine) as session:
            records = session.exec(select(ClientRecord).order_by(col(ClientRecord.created_at)))
            return [RegisteredClient.from_record(record) for record in records]

    def register(self, registration: ClientRegistration) -> NewClient:
        """Validate and store a new client; its secret is generated and returned once.

        Raises ``ClientRegistrationError`` for an invalid registration or a taken id.
        """
        valid = validate_registration(registration)
        client_secret = None
        if valid.token_endpoint_auth_method.startswith("client_secret_"):
            client_secret = registration.client_secret or secrets.token_urlsafe(CLIENT_SECRET_BYTES)
        record = self._record(valid, client_secret)
        try:
            with Session(self._engine) as session:
                session.add(record)
                session.commit()
                session.refresh(record)
                client = RegisteredClient.from_record(record)
        except IntegrityError:
            raise ClientRegistrationError(
                f"a client with id {registration.client_id!r} already exists"
            ) from None
        return NewClient(client, client_secret)

    def upsert(self, registration: ClientRegistration) -> bool:
        """Create or update a client to match ``registration`` (seed files); True if written.

        Idempotent: an unchanged registration writes nothing. Several workers starting
        at once may race to insert the same client; the loser finds it stored.
        """
        valid = validate_registration(registration)
        if valid.client_id is None:
            raise ClientRegistrationError("a stored registration needs a fixed client_id")
        wanted = self._record(valid, registration.client_secret)
        with Session(self._engine) as session:
            existing = session.get(ClientRecord, valid.client_id)
            if existing is not None:
                if _same_registration(existing, wanted):
                    return False
                for name in _MUTABLE_FIELDS:
                    setattr(existing, name, getattr(wanted, name))
                session.add(existing)
            else:
                session.add(wanted)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        with self._lock:
            self._cache.pop(valid.client_id, None)
        return True

    def _record(self, valid: ClientRegistration, client_secret: str | None) -> ClientRecord:
        return ClientRecord(
            client_id=valid.client_id or secrets.token_urlsafe(18),
            name=valid.name,
            client_secret_hash=None if client_secret is None else self._hasher.hash(client_secret),
            redirect_uris=list(valid.redirect_uris),
            post_logout_redirect_uris=list(valid.post_logout_redirect_uris),
            backchannel_logout_uri=valid.backchannel_logout_uri,
            backchannel_logout_session_required=valid.backchannel_logout_session_required,
            scopes=list(valid.scopes),
            grant_types=list(valid.grant_types),
            token_endpoint_auth_method=valid.token_endpoint_auth_method,
            jwks=valid.jwks,
            id_token_signed_response_alg=valid.id_token_signed_response_alg,
            min_level=valid.min_level,
            sector_identifier=valid.sector_identifier or "",
            created_at=datetime.now(UTC),
            require_pushed_authorization_requests=valid.require_pushed_authorization_requests,
            dpop_bound_access_tokens=valid.dpop_bound_access_tokens,
            require_signed_request_object=valid.require_signed_request_object,
            fapi2=valid.fapi2,
        )


_MUTABLE_FIELDS = (
    "name",
    "client_secret_hash",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "scopes",
    "grant_types",
    "token_endpoint_auth_method",
    "jwks",
    "id_token_signed_response_alg",
    "min_level",
    "sector_identifier",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "require_signed_request_object",
    "fapi2",
)


def _same_registration(stored: ClientRecord, wanted: ClientRecord) -> bool:
    return all(getattr(stored, name) == getattr(wanted, name) for name in _MUTABLE_FIELDS)

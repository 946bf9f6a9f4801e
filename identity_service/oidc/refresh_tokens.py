"""Refresh tokens: opaque, stored only as a keyed hash, rotated on every use, revoked by family.

Owns the ``oidc_refresh_token`` table. A refresh token is 256 random bits (base64url); the
table keeps HMAC-SHA256 of it under a key derived from the server secret, so neither a
leaked table nor a log line that names a row yields a usable token. One row per token:
its family (every token rotated from one code exchange), client, citizen, scopes, the
authentication it carries (``acr``, ``amr``, ``auth_time``, ``sid``), the access token
issued with it, and its times as Unix seconds (issued, expires, used, revoked).

Rotation (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): using a token marks it used and
issues its successor in one transaction, guarded by ``used_at IS NULL``, so of two
concurrent uses exactly one wins, across processes. A used token presented again means
it was copied: the whole family is revoked, together with the access tokens issued from
it (their ``jti`` marked revoked in the state store until they expire). A family lives
``ttl`` seconds from the code exchange; rotation does not extend it.

A token issued against a DPoP proof to a public client is bound to the proof's key
(``dpop_jkt``, RFC 9449 §5); its successors stay bound to the same key. FAPI 2.0 clients
refresh without rotation (FAPI 2.0 Security Profile §5.3.2.1: a retried refresh must
succeed): ``refresh_in_place`` leaves the token usable and adds a spent tracking row per
access token it issues, so revoking the family still finds every live access token.

Expired rows are purged at most once an hour per process, started by the issuing paths
and run in a thread of its own: the request that happens to start it does not wait for
a DELETE over the table (it may be on the event loop, ``api.routes.token``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, Index, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field

from identity_service.db import (
    IdentityBase,
    read_row,
    refuse_write_that_would_wait,
    sqlite_write_transaction,
)
from identity_service.oidc.access_tokens import AccessTokenRecords

REFRESH_TOKEN_BYTES = 32
PURGE_INTERVAL_SECONDS = 3600
_MAX_TOKEN_LENGTH = 128
_log = logging.getLogger(__name__)
_HASH_KEY_LABEL = b"natid/refresh-token-hash/v1"


class RefreshTokenRecord(IdentityBase, table=True):
    """One refresh token as stored (never the token itself)."""

    __tablename__ = "oidc_refresh_token"
    __table_args__ = (
        Index("ix_oidc_refresh_token_family", "family_id"),
        Index("ix_oidc_refresh_token_citizen_client", "personal_id_number", "client_id"),
    )

    token_hash: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(max_length=64)
    client_id: str = Field(max_length=128)
    personal_id_number: str = Field(max_length=12)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    acr: str = Field(max_length=64)
    amr: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    auth_time: int
    sid: str | None = Field(default=None, max_length=64)
    # The access token issued together with this refresh token (revoked with the family).
    access_token_jti: str | None = Field(default=None, max_length=128)
    # RFC 7638 thumbprint of the DPoP key the token is bound to (public clients).
    dpop_jkt: str | None = Field(default=None, max_length=64)
    issued_at: int
    expires_at: int
    used_at: int | None = None
    revoked_at: int | None = None


_TABLE = RefreshTokenRecord.__table__  # type: ignore[attr-defined]

# The statements of the token endpoint's path, built once: building a statement, its
# fifteen bound values and its cache key anew each time cost SQLAlchemy about 150 µs per
# statement, several times what SQLite spends running it. Bound names avoid the
# column names, which an UPDATE would take for SET values.
_INSERT = insert(_TABLE)
_USABLE = (
    _TABLE.c.token_hash == bindparam("hash"),
    _TABLE.c.client_id == bindparam("client"),
    _TABLE.c.used_at.is_(None),
    _TABLE.c.revoked_at.is_(None),
    _TABLE.c.expires_at > bindparam("now"),
)
# Marks the token used and reads its row in one statement; of several concurrent uses
# only one matches ``used_at IS NULL``. It takes the write lock before anything is read.
_SPEND = update(_TABLE).where(*_USABLE).values(used_at=bindparam("now")).returning(*_TABLE.c)
_USABLE_ROW = select(_TABLE).where(*_USABLE)

# On SQLite the spend and the insert go through the driver's own connection (as the
# audit log's append does), and the lookup through ``db.read_row`` on either database:
# SQLAlchemy's execution machinery costs about 40 µs a statement, SQLite about 10.
_COLUMNS = tuple(column.name for column in _TABLE.c)
_JSON_COLUMNS = frozenset({"scopes", "amr"})
_COLUMN_LIST = ", ".join(_COLUMNS)
_LOOKUP_BY_HASH = f"SELECT {_COLUMN_LIST} FROM oidc_refresh_token WHERE token_hash = :hash"
_SQLITE_SPEND = (
    "UPDATE oidc_refresh_token SET used_at = ? WHERE token_hash = ? AND client_id = ?"
    " AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?"
    f" RETURNING {_COLUMN_LIST}"
)
_SQLITE_INSERT = (
    f"INSERT INTO oidc_refresh_token ({_COLUMN_LIST}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """What a refresh token stands for: the grant of one code exchange and its authentication."""

    family_id: str
    client_id: str
    personal_id_number: str
    scopes: tuple[str, ...]
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str | None
    issued_at: int
    expires_at: int
    dpop_jkt: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRefreshToken:
    """A token's grant and its state, as ``lookup`` finds it."""

    grant: RefreshGrant
    used: bool
    revoked: bool
    expired: bool

    @property
    def usable(self) -> bool:
        return not (self.used or self.revoked or self.expired)


class RefreshTokens:
    """The refresh token table, and the revocation of a family's access tokens."""

    def __init__(
        self,
        engine: Engine,
        server_secret: bytes,
        *,
        access_tokens: AccessTokenRecords,
        access_token_ttl: int,
        ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._key = hmac.new(server_secret, _HASH_KEY_LABEL, hashlib.sha256).digest()
        self._access_tokens = access_tokens
        self._access_token_ttl = access_token_ttl
        self.ttl = ttl
        self._clock = clock
        self._purged_at = float("-inf")
        self._sqlite = engine.dialect.name == "sqlite"

    def issue(
        self,
        *,
        family_id: str,
        client_id: str,
        personal_id_number: str,
        scopes: tuple[str, ...],
        acr: str,
        amr: tuple[str, ...],
        auth_time: int,
        sid: str | None,
        access_token_jti: str,
        dpop_jkt: str | None = None,
    ) -> str:
        """The first token of a new family (at a code exchange; ``new_family_id()``)."""
        now = self._now()
        grant = RefreshGrant(
            family_id=family_id,
            client_id=client_id,
            personal_id_number=personal_id_number,
            scopes=scopes,
            acr=acr,
            amr=amr,
            auth_time=auth_time,
            sid=sid,
            issued_at=now,
            expires_at=now + self.ttl,
            dpop_jkt=dpop_jkt,
        )
        token = _new_token()
        row = self._row(token, grant, access_token_jti)
        if self._sqlite:
            with sqlite_write_transaction(self._engine, "refresh token issue") as driver:
                driver.execute(_SQLITE_INSERT, _sqlite_values(row))
        else:
            with self._engine.begin() as connection:
                connection.execute(_INSERT, row)
        self._purge_now_and_then(now)
        return token

    def lookup(self, token: str) -> StoredRefreshToken | None:
        """The token's grant and state, or None if it was never issued; changes nothing."""
        if not _plausible(token):
            return None
        found = read_row(
            self._engine, _LOOKUP_BY_HASH, {"hash": self._hash(token)}, "refresh token lookup"
        )
        if found is None:
            return None
        row = _row_of(found)
        return StoredRefreshToken(
            grant=_grant_of(row),
            used=row["used_at"] is not None,
            revoked=row["revoked_at"] is not None,
            expired=row["expires_at"] <= self._clock(),
        )

    def rotate(
        self,
        token: str,
        *,
        client_id: str,
        access_token_jti: str,
        admit: Callable[[RefreshGrant], object] | None = None,
    ) -> tuple[str, RefreshGrant] | None:
        """Mark ``token`` used and issue its successor in the same family, atomically.

        None if the token was not, at that moment, an unused, unrevoked, unexpired token of
        ``client_id`` (e.g. a concurrent request used it first): nothing is changed then.
        ``admit``, given the token's grant inside the transaction, may refuse the request
        by raising: the rotation is rolled back and the exception propagates (checks that
        need the grant cost no read of their own this way).
        """
        if not _plausible(token):
            return None
        now = self._now()
        token_hash = self._hash(token)
        successor = _new_token()
        if self._sqlite:
            with sqlite_write_transaction(self._engine, "refresh token rotation") as driver:
                spent = driver.execute(_SQLITE_SPEND, (now, token_hash, client_id, now)).fetchone()
                if spent is None:
                    return None
                grant = _grant_of(_row_of(spent))
                if admit is not None:
                    admit(grant)
                row = self._row(successor, grant, access_token_jti, now=now)
                driver.execute(_SQLITE_INSERT, _sqlite_values(row))
        else:
            with self._engine.begin() as connection:
                result = connection.execute(
                    _SPEND, {"hash": token_hash, "client": client_id, "now": now}
                ).first()
                if result is None:
                    return None
                grant = _grant_of(result._mapping)
                if admit is not None:
                    admit(grant)
                connection.execute(_INSERT, self._row(successor, grant, access_token_jti, now=now))
        self._purge_now_and_then(now)
        return successor, grant

    def refresh_in_place(
        self, token: str, *, client_id: str, access_token_jti: str
    ) -> RefreshGrant | None:
        """Use ``token`` without rotating it: it stays valid, and a spent tracking row
        remembers the new access token for revocation. None when the token is not, now, a
        usable token of ``client_id``."""
        if not _plausible(token):
            return None
        refuse_write_that_would_wait("refresh in place")
        now = self._now()
        token_hash = self._hash(token)
        with self._engine.begin() as connection:
            row = connection.execute(
                _USABLE_ROW, {"hash": token_hash, "client": client_id, "now": now}
            ).first()
            if row is None:
                return None
            grant = _grant_of(row._mapping)
            # '#' never occurs in a token (base64url), so no presented token hashes here.
            tracking = self._row(f"{token}#{access_token_jti}", grant, access_token_jti, now=now)
            connection.execute(_INSERT, {**tracking, "used_at": now})
        self._purge_now_and_then(now)
        return grant

    def revoke_family(self, family_id: str) -> int:
        """Revoke every token of the family and the access tokens issued from it.

        Returns the number of still-live access tokens revoked.
        """
        return self._revoke(_TABLE.c.family_id == family_id)

    def revoke_grants(self, personal_id_number: str, client_id: str) -> int:
        """Revoke every family of this citizen at this client (consent withdrawn)."""
        return self._revoke(
            (_TABLE.c.personal_id_number == personal_id_number) & (_TABLE.c.client_id == client_id)
        )

    def delete_expired(self) -> int:
        """Remove rows whose family has expired (reuse detection no longer needs them)."""
        refuse_write_that_would_wait("refresh token purge")
        now = self._now()
        with self._engine.begin() as connection:
            result = connection.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now))
        self._purged_at = now
        return result.rowcount

    # -- internals ------------------------------------------------------------------------

    def _revoke(self, condition: sa.ColumnElement[bool]) -> int:
        refuse_write_that_would_wait("refresh token revocation")
        now = self._now()
        with self._engine.begin() as connection:
            connection.execute(
                update(_TABLE)
                .where(condition, _TABLE.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            issued = connection.execute(
                select(_TABLE.c.access_token_jti, _TABLE.c.issued_at).where(
                    condition,
                    _TABLE.c.access_token_jti.is_not(None),
                    _TABLE.c.issued_at > now - self._access_token_ttl,
                )
            ).all()
        for jti, issued_at in issued:
            remaining = issued_at + self._access_token_ttl - now
            self._access_tokens.revoke(jti, max(remaining, 1))
        return len(issued)

    def _row(
        self,
        token: str,
        grant: RefreshGrant,
        access_token_jti: str,
        *,
        now: int | None = None,
    ) -> dict[str, object]:
        return {
            "token_hash": self._hash(token),
            "family_id": grant.family_id,
            "client_id": grant.client_id,
            "personal_id_number": grant.personal_id_number,
            "scopes": list(grant.scopes),
            "acr": grant.acr,
            "amr": list(grant.amr),
            "auth_time": grant.auth_time,
            "sid": grant.sid,
            "access_token_jti": access_token_jti,
            "dpop_jkt": grant.dpop_jkt,
            "issued_at": grant.issued_at if now is None else now,
            "expires_at": grant.expires_at,
            "used_at": None,
            "revoked_at": None,
        }

    def _hash(self, token: str) -> str:
        return hmac.digest(self._key, token.encode("utf-8"), "sha256").hex()

    def _now(self) -> int:
        return int(self._clock())

    def _purge_now_and_then(self, now: int) -> None:
        if now - self._purged_at < PURGE_INTERVAL_SECONDS:
            return
        self._purged_at = now  # one purge at a time; the next an hour on
        # A new thread starts with an empty context: outside any caller's
        # sqlite_writes_without_waiting, so its DELETE waits its turn.
        threading.Thread(target=self._purge, name="natid-refresh-purge", daemon=True).start()

    def _purge(self) -> None:
        try:
            self.delete_expired()
        except SQLAlchemyError as error:  # the next purge tries again
            _log.warning("refresh token purge failed: %s", error.__class__.__name__)


def new_family_id() -> str:
    return secrets.token_urlsafe(16)


def _new_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def _plausible(token: str) -> bool:
    return bool(token) and len(token) <= _MAX_TOKEN_LENGTH


def _grant_of(row: Mapping[str, Any]) -> RefreshGrant:
    return RefreshGrant(
        family_id=row["family_id"],
        client_id=row["client_id"],
        personal_id_number=row["personal_id_number"],
        scopes=tuple(row["scopes"]),
        acr=row["acr"],
        amr=tuple(row["amr"]),
        auth_time=row["auth_time"],
        sid=row["sid"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        dpop_jkt=row["dpop_jkt"],
    )


def _row_of(values: tuple[Any, ...]) -> dict[str, Any]:
    """A row as the driver returns it, its JSON columns parsed (as ``sa.JSON`` would):
    text from SQLite, already parsed by PostgreSQL's driver."""
    row = dict(zip(_COLUMNS, values, strict=True))
    for name in _JSON_COLUMNS:
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row


def _sqlite_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row's values in column order, its JSON columns as the text ``sa.JSON`` stores."""
    return tuple(json.dumps(row[name]) if name in _JSON_COLUMNS else row[name] for name in _COLUMNS)

"""The signing key store: one active key per algorithm, rotation, JWKS, encryption at rest.

Owns the ``signing_key`` table and the in-memory cache of decrypted keys. Key ids are
RFC 7638 JWK thumbprints. Private keys are stored as PKCS#8 PEM encrypted with the key
passphrase; only public members ever reach the JWKS.

Life of a key: ``active`` (signs, published) → ``retiring`` after a rotation (published
and verifiable until ``retire_at``, the moment every token it signed has expired) →
``retired`` (unpublished, private key wiped). The store re-reads the table every few
seconds, so a rotation made by ``natid keys rotate`` in another process is picked up by
running servers without a restart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK
from jwt.exceptions import PyJWKError
from sqlalchemy import DateTime, Engine, Index, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, Session, col, select

from identity_service.db import IdentityBase

# The JWK helpers live in identity_service.jwk; the key store's callers may keep importing
# them from here (the "as" form marks the re-export).
from identity_service.jwk import RSA_KEY_BITS as RSA_KEY_BITS
from identity_service.jwk import SUPPORTED_ALGORITHMS as SUPPORTED_ALGORITHMS
from identity_service.jwk import JwkError
from identity_service.jwk import PrivateKey as PrivateKey
from identity_service.jwk import PublicKey as PublicKey
from identity_service.jwk import generate_private_key as generate_private_key
from identity_service.jwk import jwk_thumbprint as jwk_thumbprint
from identity_service.jwk import public_jwk_members as public_jwk_members

if TYPE_CHECKING:
    from identity_service.config import IdentitySettings

logger = logging.getLogger(__name__)

DEVELOPMENT_KEY_PASSPHRASE = b"natid-development-key-passphrase"
# How often a running store re-reads the table for rotations made elsewhere.
DEFAULT_REFRESH_SECONDS = 5.0
# An unknown kid may be a key rotated in by another process; look again, but at most this
# often, so tokens with made-up kids cannot hammer the database.
UNKNOWN_KID_REFRESH_SECONDS = 1.0

STATUS_ACTIVE = "active"
STATUS_RETIRING = "retiring"
STATUS_RETIRED = "retired"


class KeyStoreError(Exception):
    """The key store cannot provide a key (wrong passphrase, no key, concurrent rotation)."""


class SigningKeyRecord(IdentityBase, table=True):
    """One signing key as stored: public JWK in clear, private key encrypted."""

    __tablename__ = "signing_key"
    __table_args__ = (
        # At most one active key per algorithm, even with several processes racing.
        Index(
            "uq_signing_key_active_alg",
            "alg",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: str
    private_pem: str | None = None  # encrypted PKCS#8 PEM; wiped when retired
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    activated_at: datetime = Field(sa_type=DateTime(timezone=True))
    retire_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    status: str = Field(default=STATUS_ACTIVE, max_length=16, index=True)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A decrypted private key ready to hand to PyJWT."""

    kid: str
    alg: str
    private_key: PrivateKey


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A key in the JWKS: its public JWK, the key object, and when it stops being valid."""

    kid: str
    alg: str
    public_key: PublicKey
    jwk: dict[str, str]
    retire_at: float | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A row of ``natid keys list``."""

    kid: str
    alg: str
    status: str
    created_at: datetime
    retire_at: datetime | None


@dataclass(slots=True)
class _KeySet:
    signing: dict[str, SigningKey] = field(default_factory=dict)
    published: dict[str, PublishedKey] = field(default_factory=dict)
    loaded_at: float = float("-inf")


class KeyStore:
    """Signing keys in the identity database, decrypted once and cached in memory.

    Call ``create_identity_schema`` on the engine first. Thread-safe: readers take the
    current immutable key set; reloads and writes happen under a lock.
    """

    def __init__(
        self,
        engine: Engine,
        passphrase: bytes,
        *,
        clock: Callable[[], float] = time.time,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        if not passphrase:
            raise KeyStoreError("the key passphrase must not be empty")
        if passphrase == DEVELOPMENT_KEY_PASSPHRASE:
            logger.warning(
                "!!! SIGNING KEYS USE THE DEVELOPMENT PASSPHRASE: private keys are NOT "
                "protected at rest. Set NATID_KEY_PASSPHRASE for any real deployment. !!!"
            )
        self._engine = engine
        self._passphrase = passphrase
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._keys = _KeySet()
        self._last_unknown_kid_reload = float("-inf")

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: IdentitySettings, *, clock: Callable[[], float] = time.time
    ) -> KeyStore:
        """A store using ``settings.key_passphrase`` (the development passphrase if unset)."""
        return cls(engine, key_passphrase(settings), clock=clock)

    # -- reading (hot path) ---------------------------------------------------------------

    def signing_key(self, alg: str) -> SigningKey:
        """The newest active key for ``alg``."""
        key = self._current().signing.get(alg)
        if key is None:
            if alg not in SUPPORTED_ALGORITHMS:
                raise KeyStoreError(f"unsupported signing algorithm {alg!r}")
            raise KeyStoreError(f"no active {alg} signing key; run ensure_keys() or rotate")
        return key

    def published_key(self, kid: str) -> PublishedKey | None:
        """The published key with this kid, or None if unknown or past its retire time."""
        key = self._current().published.get(kid)
        if key is None:
            now = self._clock()
            if now - self._last_unknown_kid_reload >= UNKNOWN_KID_REFRESH_SECONDS:
                self._last_unknown_kid_reload = now
                key = self._reload_quietly().published.get(kid)
        if key is None or (key.retire_at is not None and key.retire_at <= self._clock()):
            return None
        return key

    def public_key(self, kid: str) -> PublicKey | None:
        """The public key object for ``kid`` (for verifying our own tokens), or None."""
        key = self.published_key(kid)
        return None if key is None else key.public_key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """``{"keys": [...]}``: active keys and retiring keys not yet past retire time."""
        now = self._clock()
        return {
            "keys": [
                dict(key.jwk)
                for key in self._current().published.values()
                if key.retire_at is None or key.retire_at > now
            ]
        }

    def list_keys(self) -> list[KeyInfo]:
        """Every stored key, newest first (for the command line)."""
        with Session(self._engine) as session:
            records = session.exec(
                select(SigningKeyRecord).order_by(col(SigningKeyRecord.created_at).desc())
            ).all()
        return [
            KeyInfo(
                kid=record.kid,
                alg=record.alg,
                status=record.status,
                created_at=_as_utc(record.created_at),
                retire_at=None if record.retire_at is None else _as_utc(record.retire_at),
            )
            for record in records
        ]

    # -- writing --------------------------------------------------------------------------

    def ensure_keys(self) -> None:
        """Create an active key for every supported algorithm that has none."""
        current = self.reload()
        missing = [alg for alg in SUPPORTED_ALGORITHMS if alg not in current.signing]
        for alg in missing:
            record = self._new_record(alg)
            try:
                with Session(self._engine) as session:
                    session.add(record)
                    session.commit()
            except IntegrityError:
                # Another process created this algorithm's key at the same moment: use it.
                logger.info("another process created the %s signing key first", alg)
        if missing:
            self.reload()

    def rotate(self, alg: str | None = None, *, retain_seconds: int) -> list[str]:
        """New active keys for ``alg`` (or every algorithm); returns the new kids.

        The previous active key becomes ``retiring`` and stays published for
        ``retain_seconds`` — pass the longest token lifetime.
        """
        if retain_seconds < 0:
            raise KeyStoreError("retain_seconds must not be negative")
        algorithms = SUPPORTED_ALGORITHMS if alg is None else (alg,)
        # Decrypting the current keys proves the passphrase before new keys are written
        # with it: a mistyped passphrase must not leave keys no server can open.
        self.reload()
        # Generate before opening a transaction: RSA generation takes a while.
        records = [self._new_record(name) for name in algorithms]
        new_keys = [(record.alg, record.kid) for record in records]
        retire_at = _from_timestamp(self._clock() + retain_seconds)
        try:
            with Session(self._engine) as session:
                for record in records:
                    previous = session.exec(
                        select(SigningKeyRecord)
                        .where(SigningKeyRecord.alg == record.alg)
                        .where(SigningKeyRecord.status == STATUS_ACTIVE)
                    ).all()
                    for old in previous:
                        old.status = STATUS_RETIRING
                        old.retire_at = retire_at
                        session.add(old)
                    session.flush()
                    session.add(record)
                session.commit()
        except IntegrityError as error:
            raise KeyStoreError("another key rotation ran at the same time; try again") from error
        self.reload()
        for new_alg, new_kid in new_keys:
            logger.info("rotated %s signing key: new kid %s", new_alg, new_kid)
        return [new_kid for _, new_kid in new_keys]

    def retire_expired(self) -> list[str]:
        """Unpublish retiring keys whose retire time has passed; returns their kids."""
        now = _from_timestamp(self._clock())
        with Session(self._engine) as session:
            records = session.exec(
                select(SigningKeyRecord).where(SigningKeyRecord.status == STATUS_RETIRING)
            ).all()
            expired = [r for r in records if r.retire_at is None or _as_utc(r.retire_at) <= now]
            for record in expired:
                record.status = STATUS_RETIRED
                record.private_pem = None
                session.add(record)
            session.commit()
            kids = [record.kid for record in expired]
        if kids:
            self.reload()
            logger.info("retired signing keys %s", ", ".join(kids))
        return kids

    def reload(self) -> _KeySet:
        """Re-read the table now; decrypts only keys not already cached."""
        with self._lock:
            try:
                with Session(self._engine) as session:
                    records = session.exec(
                        select(SigningKeyRecord)
                        .where(col(SigningKeyRecord.status).in_([STATUS_ACTIVE, STATUS_RETIRING]))
                        .order_by(col(SigningKeyRecord.activated_at))
                    ).all()
            except SQLAlchemyError as error:
                raise KeyStoreError(
                    f"cannot read signing keys: {error.__class__.__name__}"
                ) from error
            self._keys = self._build_key_set(records)
            return self._keys

    # -- internals ------------------------------------------------------------------------

    def _current(self) -> _KeySet:
        keys = self._keys
        if self._clock() - keys.loaded_at >= self._refresh_seconds:
            keys = self._reload_quietly()
        return keys

    def _reload_quietly(self) -> _KeySet:
        """Reload, but keep serving the cached keys if the database is briefly unavailable."""
        try:
            return self.reload()
        except KeyStoreError as error:
            if not self._keys.signing and not self._keys.published:
                raise
            logger.warning("keeping cached signing keys: %s", error)
            self._keys.loaded_at = self._clock()
            return self._keys

    def _build_key_set(self, records: list[SigningKeyRecord]) -> _KeySet:
        cached = self._keys
        key_set = _KeySet(loaded_at=self._clock())
        for record in records:  # oldest first, so the newest active key wins per alg
            if record.status == STATUS_ACTIVE:
                signing = cached.signing.get(record.alg)
                if signing is None or signing.kid != record.kid:
                    signing = SigningKey(record.kid, record.alg, self._decrypt(record))
                key_set.signing[record.alg] = signing
            published = cached.published.get(record.kid)
            retire_at = None if record.retire_at is None else _as_utc(record.retire_at).timestamp()
            if published is None:
                published = _published_from_record(record, retire_at)
            elif published.retire_at != retire_at:
                published = PublishedKey(
                    published.kid, published.alg, published.public_key, published.jwk, retire_at
                )
            key_set.published[record.kid] = published
        return key_set

    def _decrypt(self, record: SigningKeyRecord) -> PrivateKey:
        if record.private_pem is None:
            raise KeyStoreError(f"signing key {record.kid} has no private key")
        try:
            key = serialization.load_pem_private_key(
                record.private_pem.encode("ascii"), password=self._passphrase
            )
        except (ValueError, TypeError):
            raise KeyStoreError(
                f"cannot decrypt signing key {record.kid}: wrong key passphrase "
                "(NATID_KEY_PASSPHRASE) or corrupted key"
            ) from None
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise KeyStoreError(f"signing key {record.kid} has an unsupported type")
        return key

    def _new_record(self, alg: str) -> SigningKeyRecord:
        try:
            private_key = generate_private_key(alg)
            jwk = public_jwk_members(private_key.public_key())
            kid = jwk_thumbprint(jwk)
        except JwkError as error:
            raise KeyStoreError(str(error)) from error
        public_jwk = {**jwk, "kid": kid, "alg": alg, "use": "sig"}
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        now = _from_timestamp(self._clock())
        return SigningKeyRecord(
            kid=kid,
            alg=alg,
            public_jwk=json.dumps(public_jwk, sort_keys=True),
            private_pem=pem.decode("ascii"),
            created_at=now,
            activated_at=now,
            status=STATUS_ACTIVE,
        )


def key_passphrase(settings: IdentitySettings) -> bytes:
    """The configured key passphrase, or the development one when none is set."""
    if settings.key_passphrase:
        return settings.key_passphrase.encode("utf-8")
    return DEVELOPMENT_KEY_PASSPHRASE


def _published_from_record(record: SigningKeyRecord, retire_at: float | None) -> PublishedKey:
    # Built from the stored public JWK, so retiring keys never need decrypting.
    jwk = json.loads(record.public_jwk)
    try:
        public_key = PyJWK(jwk, algorithm=record.alg).key
    except PyJWKError as error:
        raise KeyStoreError(f"stored public key {record.kid} is invalid: {error}") from error
    return PublishedKey(record.kid, record.alg, public_key, jwk, retire_at)


def _from_timestamp(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

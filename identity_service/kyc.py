"""The e-KYC verification service: does what a relying party holds match the population record?

A bank or clinic sends a personal ID number with the attributes it was given (full name,
birth date, gender) and, optionally, the citizen's current one-time code from their e-ID
account. The answer is a JWS signed with the provider's ES256 key (verifiable with the
JWKS; header ``typ: kyc-result+jwt``) whose claims are::

    {"iss": "<issuer>", "aud": "<client_id>", "iat": 1735689600,
     "jti": "<transaction id, a UUID>", "result": "match" | "no_match",
     "matched": {"full_name": true, "birth_date": true, "gender": false}, "level": 1,
     "query_sha256": "<base64url SHA-256 of the query, see query_digest>"}

* It never carries anything from the record itself: only the per-attribute flags.
* ``query_sha256`` binds the answer to the question: the SHA-256 (base64url, no padding)
  of the query's four attributes exactly as the relying party sent them, as canonical
  JSON (``query_digest``; the one-time code is not part of it). Kept as evidence, the
  answer then says which number and attributes it vouches for, and an answer to one
  query cannot be passed off as the answer to another.
* ``result`` is ``match`` only when every attribute matches.
* ``level`` is what the answer vouches for: 2 when the answer is a match *and* the
  one-time code was valid for that citizen's level-2 account (the citizen took part), 1
  otherwise. A code is checked through the account service, with its replay guard,
  lockout and rate limits, exactly like a login's second step.
* An unknown number is indistinguishable from a mismatch: the same shape, every flag
  false, and the same work (the comparisons run against a placeholder record, a code is
  checked even so). A deceased citizen's record answers like an unknown number, every
  flag false: a verification exists to let a living person open an account or be
  treated, and a death is not the relying party's to learn from this API.
* The answer has no ``exp``: it is evidence of what the register said at ``iat``. It
  stays verifiable with the JWKS as long as the signing key is published.

Every answer is appended to the audit log (``kyc.verify``: the subject as a keyed hash,
the relying party, the level, the result, the flags, the transaction id and whether a
one-time code was absent, verified, failed or locked out) before it is returned; if the
audit log cannot take it, no answer is given.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from identity_service.accounts.errors import (
    AccountLockedError,
    AuthenticationError,
    RateLimitedError,
)
from identity_service.accounts.service import AccountService
from identity_service.audit import AuditEvent, NewAuditEntry
from identity_service.audit_writer import AuditWriter
from identity_service.compact_jws import sign_compact_jws
from identity_service.keys import KeyStore
from population_db.registry import CitizenRecord, PopulationRegistry, normalize_name

RESULT_TYPE = "kyc-result+jwt"
SIGNING_ALGORITHM = "ES256"
MATCH = "match"
NO_MATCH = "no_match"
ATTRIBUTES = ("full_name", "birth_date", "gender")
# Compared against when the number is unknown (or the citizen deceased), so that both
# cases do the same work; the flags are forced false regardless of what it holds.
_PLACEHOLDER_NAME = normalize_name("placeholder citizen")
_PLACEHOLDER_BIRTH_DATE = dt.date(1900, 1, 1)
_PLACEHOLDER_GENDER = "female"


class KycOtpLockedError(Exception):
    """Too many wrong one-time codes for this citizen: retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"one-time code attempts locked for {retry_after} s")


@dataclass(frozen=True, slots=True)
class KycQuery:
    """What the relying party holds. ``personal_id_number`` is 12 digits (validated)."""

    personal_id_number: str
    full_name: str
    birth_date: dt.date
    gender: str
    otp: str | None = None


@dataclass(frozen=True, slots=True)
class KycAnswer:
    transaction_id: str
    result: str
    matched: dict[str, bool]
    level: int
    result_jws: str


class KycService:
    """Answers verification queries for authenticated relying parties (see module doc)."""

    def __init__(
        self,
        *,
        registry: PopulationRegistry,
        accounts: AccountService,
        keys: KeyStore,
        audit: AuditWriter,
        subject_ref: Callable[[str], str],
        issuer: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._accounts = accounts
        self._keys = keys
        self._audit = audit
        self._subject_ref = subject_ref
        self._issuer = issuer
        self._clock = clock

    async def verify(
        self, client_id: str, query: KycQuery, *, in_thread: bool = False
    ) -> KycAnswer:
        """Compare, sign, and return once the answer is audited.

        Raises ``KycOtpLockedError`` (after auditing the refusal) when the one-time code
        may not be tried now, ``AuditError`` when the audit log cannot take the entry.
        The comparison runs in the caller's thread (one primary-key read and a signature,
        short enough for an event loop), or in a worker thread with ``in_thread`` (a code
        check, or storage that may wait on a network). The answer waits for the audit
        commit either way: here, or, inside ``audit_writer.answer_waits``, where the HTTP
        layer waits (then a failed commit is answered there with a 503).
        """
        if in_thread:
            evaluated = await anyio.to_thread.run_sync(self.evaluate, client_id, query)
        else:
            evaluated = self.evaluate(client_id, query)
        answer, locked_for, entry = evaluated
        # Committed before the answer leaves: here, or where the HTTP layer waits for it
        # (``api.commit_before_answer``).
        await self._audit.record_before_answer([entry])
        if locked_for is not None:
            raise KycOtpLockedError(locked_for)
        return answer

    def evaluate(
        self, client_id: str, query: KycQuery
    ) -> tuple[KycAnswer, int | None, NewAuditEntry]:
        """The signed answer, the seconds a locked-out code check must wait (or None), and
        the audit entry to append before either is given to the relying party."""
        record = self._registry.get(query.personal_id_number)
        known = record is not None and not record.is_deceased
        matched = _compare(record if known else None, query)
        transaction_id = str(uuid.uuid4())
        second_factor, locked_for = "absent", None
        if query.otp is not None:
            try:
                second_factor = self._check_otp(client_id, query)
            except KycOtpLockedError as error:
                second_factor, locked_for = "locked", error.retry_after
        result = MATCH if known and all(matched.values()) else NO_MATCH
        level = 2 if result == MATCH and second_factor == "verified" else 1
        result_jws = self._sign(
            client_id, transaction_id, result, matched, level, query_digest(query)
        )
        entry = NewAuditEntry(
            AuditEvent.KYC_VERIFY,
            subject=query.personal_id_number,
            client_id=client_id,
            level=level,
            details={
                "result": "otp_locked" if locked_for is not None else result,
                "transaction_id": transaction_id,
                "matched": matched,
                "second_factor": second_factor,
            },
        )
        return KycAnswer(transaction_id, result, matched, level, result_jws), locked_for, entry

    # -- internals ------------------------------------------------------------------------

    def _check_otp(self, client_id: str, query: KycQuery) -> str:
        # Counted per relying party and citizen (a keyed reference, never the number), so
        # the per-IP limit of logins becomes a limit per bank and citizen here.
        source = f"kyc:{client_id}:{self._subject_ref(query.personal_id_number)}"
        try:
            self._accounts.verify_totp(query.personal_id_number, query.otp or "", source)
        except (AccountLockedError, RateLimitedError) as error:
            raise KycOtpLockedError(error.retry_after or 1) from None
        except AuthenticationError:
            return "failed"
        return "verified"

    def _sign(
        self,
        client_id: str,
        transaction_id: str,
        result: str,
        matched: dict[str, bool],
        level: int,
        query_sha256: str,
    ) -> str:
        key = self._keys.signing_key(SIGNING_ALGORITHM)
        claims = {
            "iss": self._issuer,
            "aud": client_id,
            "iat": int(self._clock()),
            "jti": transaction_id,
            "result": result,
            "matched": matched,
            "level": level,
            "query_sha256": query_sha256,
        }
        return sign_compact_jws(
            claims, key.private_key, SIGNING_ALGORITHM, kid=key.kid, typ=RESULT_TYPE
        )


def query_digest(query: KycQuery) -> str:
    """The answer's ``query_sha256``: base64url (no padding) of the SHA-256 of the UTF-8
    canonical JSON (keys sorted, no whitespace, characters unescaped) of
    ``personal_id_number``, ``full_name``, ``birth_date`` (YYYY-MM-DD) and ``gender`` as
    sent: what a relying party recomputes from its own request."""
    canonical = json.dumps(
        {
            "personal_id_number": query.personal_id_number,
            "full_name": query.full_name,
            "birth_date": query.birth_date.isoformat(),
            "gender": query.gender,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _compare(record: CitizenRecord | None, query: KycQuery) -> dict[str, bool]:
    """Per-attribute flags; every flag false without a record (after the same comparisons)."""
    if record is not None:
        name = normalize_name(record.full_name)
        birth_date, gender = record.birth_date, record.gender
    else:
        name, birth_date, gender = _PLACEHOLDER_NAME, _PLACEHOLDER_BIRTH_DATE, _PLACEHOLDER_GENDER
    flags = {
        "full_name": normalize_name(query.full_name) == name,
        "birth_date": query.birth_date == birth_date,
        "gender": query.gender == gender,
    }
    found = record is not None
    return {attribute: found and flag for attribute, flag in flags.items()}

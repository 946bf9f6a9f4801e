"""The audit hash chain itself: canonical form, entry hashes and verification.

Pure functions with no database, used by ``identity_service.audit`` to write entries and to
check a stored log. An entry's hash is HMAC-SHA256, keyed with a key derived from the
server secret, over the canonical JSON (sorted keys, no spaces, UTF-8) of its seq,
occurred_at (UTC, ISO 8601 with microseconds), event, actor, client_id, level, details and
prev_hash. The first entry's prev_hash is ``GENESIS_HASH``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
_CHAIN_KEY_LABEL = b"natid/audit-chain/v1"
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "event",
    "actor",
    "client_id",
    "level",
    "details",
    "prev_hash",
)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """``ok`` and how many entries were checked; else the first broken seq and why."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


# json.dumps builds an encoder per call when given options; one made once encodes the same.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# ``details`` comes third of the sorted HASHED_FIELDS; its place is held by 0 while the
# others are encoded, then taken by its own canonical text. A JSON string never holds an
# unescaped quote, so the first ``"details":0,`` is the key, whatever actor says.
_DETAILS_PLACEHOLDER = '"details":0,'


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 characters kept, no NaN: one text per value."""
    return _CANONICAL.encode(value)


def chain_key(server_secret: bytes) -> bytes:
    """The key entry hashes are computed with (separate from every other use of the secret)."""
    return hmac.new(server_secret, _CHAIN_KEY_LABEL, hashlib.sha256).digest()


def entry_hash(key: bytes, entry: Mapping[str, Any]) -> str:
    """The hash of an entry given as a mapping of ``HASHED_FIELDS``.

    ``details`` may be the stored JSON text or the parsed object; ``occurred_at`` a datetime.
    """
    details = entry["details"]
    if isinstance(details, str):
        details = json.loads(details)
    return entry_hash_of(key, entry, canonical_time(entry["occurred_at"]), canonical_json(details))


def entry_hash_of(key: bytes, entry: Mapping[str, Any], occurred_at: str, details: str) -> str:
    """``entry_hash`` for callers that already hold the canonical time (``canonical_time``)
    and details text (``canonical_json``): an append computes both once and stores the
    latter, so neither is made twice."""
    others = {name: entry[name] for name in HASHED_FIELDS}
    others["occurred_at"] = occurred_at
    others["details"] = 0
    message = canonical_json(others).replace(_DETAILS_PLACEHOLDER, f'"details":{details},', 1)
    return hmac.digest(key, message.encode("utf-8"), "sha256").hex()


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    """The MAC sealing the head row, so it cannot be wound back to an earlier entry's values."""
    message = canonical_json({"head": {"seq": seq, "entry_hash": last_hash}}).encode("utf-8")
    return hmac.digest(key, message, "sha256").hex()


def verify_chain(
    key: bytes, entries: Iterable[Mapping[str, Any]], head: tuple[int, str, str] | None
) -> VerificationResult:
    """Check entries (in seq order) link up, hash right, and end where the head says.

    Detects an edited entry (its hash), a deleted one (a gap in seq, or a prev_hash that
    does not match), entries removed from the end or appended behind the log's back (the
    head disagrees with the last entry), and a missing or altered head. ``head`` is the
    head row's (seq, entry_hash, mac).
    """
    expected_seq = 1
    previous_hash = GENESIS_HASH
    checked = 0
    for entry in entries:
        seq = entry["seq"]
        if seq < expected_seq:
            return _broken(checked, seq, "out of sequence (forged)")
        if seq != expected_seq:
            return _broken(checked, expected_seq, "missing (deleted)")
        if entry["prev_hash"] != previous_hash:
            return _broken(
                checked, seq, "does not link to the entry before it (entries deleted or reordered)"
            )
        try:
            recomputed = entry_hash(key, entry)
        except (TypeError, ValueError):
            return _broken(checked, seq, "details are not valid JSON (edited)")
        if not hmac.compare_digest(recomputed, str(entry["entry_hash"])):
            return _broken(checked, seq, "contents do not match its hash (edited)")
        previous_hash = entry["entry_hash"]
        expected_seq += 1
        checked += 1

    last_seq = expected_seq - 1
    if head is None:
        if last_seq == 0:
            return VerificationResult(ok=True, checked=0)
        return _broken(checked, last_seq, "the chain head record is missing (tampered)")
    head_seq, head_hash, sealed = head
    if not hmac.compare_digest(head_mac(key, head_seq, head_hash), sealed):
        return _broken(checked, min(head_seq, last_seq) + 1, "the chain head was altered")
    if head_seq > last_seq:
        return _broken(
            checked,
            last_seq + 1,
            f"missing: the log was cut short (the head records {head_seq} entries)",
        )
    if head_seq < last_seq:
        return _broken(checked, head_seq + 1, "appended without updating the chain head (forged)")
    if head_hash != previous_hash:
        return _broken(checked, last_seq, "does not match the chain head's hash")
    return VerificationResult(ok=True, checked=checked)


def _broken(checked: int, seq: int, reason: str) -> VerificationResult:
    return VerificationResult(ok=False, checked=checked, first_broken_seq=seq, reason=reason)


def canonical_time(moment: datetime | str) -> str:
    """``occurred_at`` as hashed: UTC, ISO 8601 with microseconds and ``Z``."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        # SQLite hands timezone-aware columns back naive; they were written in UTC.
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    # What strftime("%Y-%m-%dT%H:%M:%S.%fZ") gives, at a third of its cost.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond:06d}Z"
    )

"""The chain's hashed form, as the writer computes it, is the documented one.

``audit_chain`` documents an entry hash as HMAC-SHA256 over the canonical JSON (sorted
keys, no spaces, UTF-8) of the hashed fields with ``occurred_at`` as
``%Y-%m-%dT%H:%M:%S.%fZ`` in UTC. The writer takes short cuts (the details' text made
once and set into the rest, the time formatted by hand); these check that the short cuts
give that form for any values, including actors that spell the key they are set beside.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity_service.audit import AuditLog, NewAuditEntry
from identity_service.audit_chain import canonical_json, canonical_time, entry_hash
from identity_service.db import create_identity_engine, create_identity_schema

KEY = b"k" * 32
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
TRICKY_TEXT = st.text() | st.sampled_from(['"details":0,', 'x","details":0,"y', "\\", "é\u2028"])


def documented_hash(entry: dict[str, object]) -> str:
    moment = entry["occurred_at"]
    assert isinstance(moment, datetime)
    hashed = {**entry, "occurred_at": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    message = json.dumps(
        hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hmac.new(KEY, message.encode("utf-8"), hashlib.sha256).hexdigest()


MOMENTS = st.datetimes(
    min_value=datetime(1000, 1, 1), timezones=st.just(UTC) | st.just(timezone(timedelta(hours=7)))
)


@given(
    seq=st.integers(min_value=1),
    moment=MOMENTS,
    event=TRICKY_TEXT,
    actor=st.none() | TRICKY_TEXT,
    client_id=st.none() | TRICKY_TEXT,
    level=st.none() | st.integers(min_value=1, max_value=2),
    details=st.dictionaries(TRICKY_TEXT, JSON_VALUES, max_size=4),
    prev_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_entry_hash_is_the_documented_form(
    seq: int,
    moment: datetime,
    event: str,
    actor: str | None,
    client_id: str | None,
    level: int | None,
    details: dict[str, object],
    prev_hash: str,
) -> None:
    entry = {
        "seq": seq,
        "occurred_at": moment,
        "event": event,
        "actor": actor,
        "client_id": client_id,
        "level": level,
        "details": details,
        "prev_hash": prev_hash,
    }
    expected = documented_hash(entry)
    assert entry_hash(KEY, entry) == expected
    # As read back: details stored as their canonical text.
    assert entry_hash(KEY, {**entry, "details": canonical_json(details)}) == expected


@given(MOMENTS)
def test_the_hashed_time_is_iso_8601_utc_with_microseconds(moment: datetime) -> None:
    expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert canonical_time(moment) == expected
    # SQLite hands the column back naive (in UTC) or as text.
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    assert canonical_time(naive) == expected
    assert canonical_time(naive.isoformat(sep=" ")) == expected


DETAIL_KEYS = st.text(max_size=6) | st.integers(min_value=-20, max_value=20)
ODD_DETAILS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3).map(tuple)
        | st.lists(children, max_size=3)
        | st.dictionaries(DETAIL_KEYS, children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.dictionaries(DETAIL_KEYS, ODD_DETAILS, max_size=4), min_size=1, max_size=4))
def test_entries_with_any_details_verify_as_stored(details: list[dict[object, object]]) -> None:
    # The append stores the text it hashed; verification re-reads and re-encodes it. Keys
    # that are not strings (numbers sort otherwise once they are), tuples and floats must
    # not make the two differ.
    with tempfile.TemporaryDirectory() as directory:
        engine = create_identity_engine(f"sqlite:///{Path(directory) / 'audit.db'}")
        try:
            create_identity_schema(engine)
            log = AuditLog(engine, b"property-test-secret")
            log.record_many([NewAuditEntry("kyc.verify", details=entry) for entry in details])
            assert log.verify().ok and log.verify().checked == len(details)
        finally:
            engine.dispose()

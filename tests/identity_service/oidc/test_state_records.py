"""What the login keeps in the state store: the interaction, its authorization request and
the code's grant are written field by field; the JSON must hold every field, as
``dataclasses.asdict`` wrote it, and read back to the same value."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from identity_service.oidc.codes import CodeGrant
from identity_service.oidc.interactions import Authentication, Interaction, Step
from identity_service.oidc.requests import AuthorizationRequest

REQUEST = AuthorizationRequest(
    client_id="portal",
    redirect_uri="https://portal.example/cb",
    scopes=("openid", "profile"),
    state="st",
    nonce="nn",
    code_challenge="c" * 43,
    prompt=("login", "consent"),
    max_age=300,
    login_hint="001190000123",
    ui_locale="en",
    required_level=2,
    dpop_jkt="jkt",
    fapi2=True,
)
INTERACTION = Interaction(
    id="interaction",
    request=REQUEST,
    step=Step.CONSENT,
    csrf_token="csrf",
    browser_hash="hash",
    locale="en",
    subject="001190000123",
    account_level=2,
    password_verified=True,
    step_up_sid="sid-0",
    authentication=Authentication(
        sid="sid-1", personal_id_number="001190000123", auth_time=1_700_000_000, level=2
    ),
)
GRANT = CodeGrant(
    client_id="portal",
    redirect_uri="https://portal.example/cb",
    scopes=("openid",),
    nonce="nn",
    code_challenge="c" * 43,
    personal_id_number="001190000123",
    auth_time=1_700_000_000,
    level=2,
    sid="sid-1",
    dpop_jkt="jkt",
)


def _as_stored(value: dict[str, Any]) -> Any:
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("record", [REQUEST, INTERACTION, GRANT], ids=lambda r: type(r).__name__)
def test_every_field_is_stored_and_read_back(
    record: AuthorizationRequest | Interaction | CodeGrant,
) -> None:
    stored = _as_stored(record.to_json())
    assert stored == _as_stored(dataclasses.asdict(record))
    assert type(record).from_json(stored) == record


def test_an_interaction_without_authentication_reads_back() -> None:
    fresh = dataclasses.replace(INTERACTION, authentication=None, subject=None)
    assert Interaction.from_json(_as_stored(fresh.to_json())) == fresh

"""TOTP codes, the replay guard and sealing of secrets at rest."""

from __future__ import annotations

import urllib.parse

import pyotp
import pytest

from identity_service.accounts.second_factor import (
    SealedSecretError,
    SecretBox,
    TotpReplayGuard,
    code_at,
    matching_time_step,
    new_totp_secret,
    provisioning_uri,
    time_step,
)
from identity_service.state import MemoryStateStore

NOW = 1_750_000_000.0


def test_codes_match_pyotp_reference() -> None:
    secret = new_totp_secret()
    reference = pyotp.TOTP(secret)  # SHA-1, 6 digits, 30 s: the RFC 6238 defaults
    assert code_at(secret, NOW) == reference.at(int(NOW))


def test_window_is_one_step_each_side() -> None:
    secret = new_totp_secret()
    current = time_step(NOW)
    for offset in (-1, 0, 1):
        code = code_at(secret, NOW + 30 * offset)
        assert matching_time_step(secret, code, NOW) == current + offset
    for offset in (-3, -2, 2, 3):
        code = code_at(secret, NOW + 30 * offset)
        if code not in {code_at(secret, NOW + 30 * o) for o in (-1, 0, 1)}:
            assert matching_time_step(secret, code, NOW) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_malformed_codes_never_match(code: str) -> None:
    assert matching_time_step(new_totp_secret(), code, NOW) is None


def test_code_with_spaces_is_accepted() -> None:
    secret = new_totp_secret()
    code = code_at(secret, NOW)
    assert matching_time_step(secret, f" {code[:3]} {code[3:]} ", NOW) == time_step(NOW)


def test_replay_guard_accepts_each_step_once_and_never_older() -> None:
    guard = TotpReplayGuard(MemoryStateStore())
    assert guard.accept("acct", 100)
    assert not guard.accept("acct", 100)
    assert not guard.accept("acct", 99)
    assert guard.accept("acct", 101)
    assert guard.accept("other-account", 100)
    guard.forget("acct")
    assert guard.accept("acct", 100) is False  # the per-step marker still holds


def test_provisioning_uri_names_issuer_and_parameters() -> None:
    secret = new_totp_secret()
    uri = provisioning_uri(secret, "00********56")
    parsed = urllib.parse.urlparse(uri)
    query = urllib.parse.parse_qs(parsed.query)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["natid"]
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP(secret).now()


def test_secret_box_round_trip_and_binding() -> None:
    box = SecretBox(b"server secret one")
    secret = new_totp_secret()
    sealed = box.seal(secret, "001190123456")
    assert secret not in sealed
    assert box.open(sealed, "001190123456") == secret
    assert box.seal(secret, "001190123456") != sealed  # fresh nonce each time
    with pytest.raises(SealedSecretError):
        box.open(sealed, "001190654321")  # copied onto another account
    with pytest.raises(SealedSecretError):
        SecretBox(b"another server secret").open(sealed, "001190123456")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealedSecretError):
        box.open(tampered, "001190123456")
    with pytest.raises(SealedSecretError):
        box.open("v0.garbage", "001190123456")

"""The small protocol pieces on their own: PKCE, pairwise subjects, levels, claims, texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity_service.i18n import MESSAGES, SUPPORTED_LOCALES, missing_keys, translate
from identity_service.oidc import pkce
from identity_service.oidc.claims import SCOPE_CLAIMS, e164_phone_number
from identity_service.oidc.levels import ACR_LEVEL1, ACR_LEVEL2, requested_level
from identity_service.oidc.subjects import PairwiseSubjects

TEMPLATES = Path(__file__).resolve().parents[3] / "identity_service" / "templates"
# Every reason an error page can show (oidc.errors / oidc.interactions / app.py).
ERROR_PAGE_REASONS = (
    "missing_client",
    "unknown_client",
    "missing_redirect_uri",
    "redirect_uri_mismatch",
    "expired",
    "wrong_browser",
    "csrf",
    "wrong_step",
    "unavailable",
    "internal",
)
VERIFIER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def test_pkce_rfc7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.s256_challenge(verifier) == challenge
    assert pkce.verify(verifier, challenge)
    assert not pkce.verify(verifier[:-1] + "l", challenge)


@given(st.text(alphabet=VERIFIER_ALPHABET, min_size=43, max_size=128))
def test_pkce_accepts_exactly_its_own_verifier(verifier: str) -> None:
    challenge = pkce.check_challenge(pkce.s256_challenge(verifier), "S256")
    assert pkce.verify(verifier, challenge)
    assert not pkce.verify(verifier + "x" if len(verifier) < 128 else verifier[1:], challenge)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (None, "S256"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None),
        ("too-short", "S256"),
    ],
)
def test_pkce_refuses_plain_missing_and_malformed_challenges(
    challenge: str | None, method: str | None
) -> None:
    with pytest.raises(pkce.PkceError):
        pkce.check_challenge(challenge, method)


def test_verifiers_outside_rfc7636_are_refused() -> None:
    challenge = pkce.s256_challenge("a" * 42)
    assert not pkce.verify("a" * 42, challenge)  # too short even if it hashes right
    assert not pkce.verify(None, challenge)


def test_pairwise_subjects_are_stable_per_sector_and_keyed() -> None:
    subjects = PairwiseSubjects(b"server secret one")
    one = subjects.subject("bank.natid.test", "001185999001")
    assert one == subjects.subject("bank.natid.test", "001185999001")
    assert one != subjects.subject("clinic.natid.test", "001185999001")
    assert one != subjects.subject("bank.natid.test", "079092999004")
    assert one != PairwiseSubjects(b"server secret two").subject("bank.natid.test", "001185999001")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", one)
    assert "001185999001" not in one


@pytest.mark.parametrize(
    ("acr_values", "client_min", "expected"),
    [
        ([], 1, 1),
        ([], 2, 2),
        ([ACR_LEVEL2], 1, 2),
        ([ACR_LEVEL1], 2, 2),  # the registration's minimum always holds
        ([ACR_LEVEL1, ACR_LEVEL2], 1, 2),  # the highest asked
        (["urn:other:gold"], 1, 1),
    ],
)
def test_requested_level_is_the_highest_asked(
    acr_values: list[str], client_min: int, expected: int
) -> None:
    assert requested_level(acr_values, client_min) == expected


@pytest.mark.parametrize(
    ("stored", "e164"),
    [
        ("0986999001", "+84986999001"),
        ("+84 986 999 001", "+84986999001"),
        ("84986999001", "+84986999001"),
        ("986999001", "+84986999001"),
    ],
)
def test_phone_numbers_are_released_in_e164(stored: str, e164: str) -> None:
    assert e164_phone_number(stored) == e164


def test_every_text_exists_in_both_languages() -> None:
    assert missing_keys(MESSAGES) == []
    keys_in_templates = set()
    for template in TEMPLATES.glob("*.html"):
        keys_in_templates |= set(re.findall(r't\("([a-z_.]+[a-z_])"', template.read_text()))
    keys_in_templates |= {f"scope.{scope}" for scope in SCOPE_CLAIMS}
    keys_in_templates |= {f"claim.{claim}" for claims in SCOPE_CLAIMS.values() for claim in claims}
    keys_in_templates |= {f"error.{reason}" for reason in ERROR_PAGE_REASONS}
    assert missing_keys(keys_in_templates) == []
    assert translate("fr", "login.title") == translate("vi", "login.title")
    assert set(SUPPORTED_LOCALES) == {"vi", "en"}


def test_pages_need_no_javascript() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "<script" not in text and "onclick" not in text and "style=" not in text

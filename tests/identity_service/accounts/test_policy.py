"""The password policy (NIST SP 800-63B): length, common list, ID number, birth date."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest

from identity_service.accounts.errors import PasswordPolicyError, message_for
from identity_service.accounts.policy import (
    MAX_LENGTH,
    PasswordPolicy,
    load_common_passwords,
    normalize_password,
)

ID_NUMBER = "001190123456"
BIRTH_DATE = dt.date(1990, 3, 5)


@pytest.fixture
def policy() -> PasswordPolicy:
    return PasswordPolicy(frozenset({"password", "Iloveyou", "matkhau123"}))


def _reason(policy: PasswordPolicy, password: str) -> str:
    with pytest.raises(PasswordPolicyError) as caught:
        policy.check(password, personal_id_number=ID_NUMBER, birth_date=BIRTH_DATE)
    return caught.value.reason


def test_accepts_long_unicode_passphrase(policy: PasswordPolicy) -> None:
    passphrase = "Tôi yêu Hà Nội vào mùa thu, lá vàng rơi trên phố cổ " * 2
    assert policy.check(passphrase, personal_id_number=ID_NUMBER, birth_date=BIRTH_DATE)


def test_accepts_exactly_eight_and_the_maximum(policy: PasswordPolicy) -> None:
    assert policy.check("xk7#qpzm") == "xk7#qpzm"
    assert len(policy.check("á" * MAX_LENGTH)) == MAX_LENGTH


def test_too_short_counts_characters_after_nfkc(policy: PasswordPolicy) -> None:
    assert _reason(policy, "abc1234") == "too_short"
    # 7 letters typed decomposed are 14 code points, but only 7 characters after NFKC.
    decomposed = unicodedata.normalize("NFD", "ắằẳẵặấầ")
    assert len(decomposed) > 8
    assert _reason(policy, decomposed) == "too_short"


def test_too_long(policy: PasswordPolicy) -> None:
    assert _reason(policy, "a" * (MAX_LENGTH + 1)) == "too_long"


@pytest.mark.parametrize("password", ["password", "PASSWORD", "ILoveYou", "MatKhau123"])
def test_rejects_common_passwords_case_insensitively(policy: PasswordPolicy, password: str) -> None:
    assert _reason(policy, password) == "common"


def test_rejects_full_width_spelling_of_a_common_password(policy: PasswordPolicy) -> None:
    assert _reason(policy, "ｐａｓｓｗｏｒｄ") == "common"  # NFKC folds full-width letters


@pytest.mark.parametrize(
    "password", [ID_NUMBER, f"id{ID_NUMBER}!", "001 190 123 456", "001-190-123456-x"]
)
def test_rejects_own_id_number(policy: PasswordPolicy, password: str) -> None:
    assert _reason(policy, password) == "id_number"


@pytest.mark.parametrize(
    "password",
    [
        "05031990",
        "19900305",
        "05/03/1990",
        "1990-03-05",
        "pw050390!",
        "lan05031990",
        "born 5/3/1990!",
        "xx050390yy",
    ],
)
def test_rejects_own_birth_date_in_common_forms(policy: PasswordPolicy, password: str) -> None:
    assert _reason(policy, password) == "birth_date"


def test_someone_elses_numbers_are_fine(policy: PasswordPolicy) -> None:
    assert policy.check("03051991-and-more", personal_id_number=ID_NUMBER, birth_date=BIRTH_DATE)


def test_returns_nfkc_normalised_password(policy: PasswordPolicy) -> None:
    typed = unicodedata.normalize("NFD", "Đường về quê hương")
    assert policy.check(typed) == unicodedata.normalize("NFC", "Đường về quê hương")
    assert normalize_password(typed) == policy.check(typed)


def test_every_reason_has_english_and_vietnamese_text(policy: PasswordPolicy) -> None:
    for password in ("short", "a" * 300, "password", ID_NUMBER, "05031990"):
        with pytest.raises(PasswordPolicyError) as caught:
            policy.check(password, personal_id_number=ID_NUMBER, birth_date=BIRTH_DATE)
        english = message_for(caught.value.code, "en", **caught.value.values)
        vietnamese = message_for(caught.value.code, "vi", **caught.value.values)
        assert english and vietnamese and english != vietnamese
        assert "{" not in english + vietnamese
        assert caught.value.code == f"weak_password:{caught.value.reason}"


def test_common_list_file_skips_comments_and_is_cached(tmp_path: Path) -> None:
    path = tmp_path / "common.txt"
    path.write_text("# source: test\nhunter22\n\nTrustNo1!\n", encoding="utf-8")
    loaded = load_common_passwords(path)
    assert loaded == frozenset({"hunter22", "trustno1!"})
    assert load_common_passwords(path) is loaded
    policy = PasswordPolicy(loaded)
    with pytest.raises(PasswordPolicyError):
        policy.check("HUNTER22")


def test_seeded_common_list_is_used_by_default() -> None:
    policy = PasswordPolicy.from_seeds()
    for password in ("password", "PASSWORD123", "iloveyou", "MatKhau123"):
        with pytest.raises(PasswordPolicyError) as caught:
            policy.check(password)
        assert caught.value.reason == "common"
    assert policy.check("mây trắng bay qua đồi")

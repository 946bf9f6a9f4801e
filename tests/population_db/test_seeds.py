"""The seed data files: shares add up, codes exist, demo citizens are consistent."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict

import pytest

from population_db.identifiers import PersonalIdNumber
from population_db.seeds import read_csv, seeds_dir
from population_db.units import province_codes

CSV_FILES = (
    "family_names.csv",
    "middle_names.csv",
    "given_names.csv",
    "ethnic_groups.csv",
    "ethnic_skew.csv",
    "religions.csv",
    "religion_skew.csv",
    "mobile_prefixes.csv",
    "street_names.csv",
    "demo_citizens.csv",
)
NAME_COLUMNS = ("family_name", "middle_name", "given_name")
MINOR_CUTOFF = dt.date(2026, 11, 24)
DEMO_RANDOM_FLOOR = 999_000


@pytest.fixture(autouse=True)
def _repository_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the repository's seed files, never a directory named in the developer's env."""
    monkeypatch.delenv("NATID_SEEDS_DIR", raising=False)


def _is_nfc(text: str) -> bool:
    return unicodedata.normalize("NFC", text) == text


def _demo_by_role() -> dict[str, dict[str, str]]:
    return {row["role"]: row for row in read_csv("demo_citizens.csv")}


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@pytest.mark.parametrize("name", CSV_FILES)
def test_every_csv_opens_with_a_source_comment(name: str) -> None:
    first = (seeds_dir() / name).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ")
    assert read_csv(name), f"{name} has no data rows"


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [
        ("family_names.csv", 0.01),
        ("ethnic_groups.csv", 0.05),
        ("religions.csv", 0.05),
    ],
)
def test_national_shares_sum_to_100(name: str, tolerance: float) -> None:
    total = sum(float(row["share_percent"]) for row in read_csv(name))
    assert total == pytest.approx(100, abs=tolerance)


def test_family_names_lead_with_nguyen_and_carry_southern_forms() -> None:
    rows = read_csv("family_names.csv")
    assert rows[0]["name"] == "Nguyễn"
    assert 38 <= float(rows[0]["share_percent"]) <= 39
    southern = {row["name"]: row["southern_form"] for row in rows if row["southern_form"]}
    assert southern == {"Hoàng": "Huỳnh", "Vũ": "Võ"}
    assert len({row["name"] for row in rows}) == len(rows) >= 39


def test_ethnic_groups_are_the_54_codes_with_kinh_first() -> None:
    rows = read_csv("ethnic_groups.csv")
    assert sorted(int(row["code"]) for row in rows) == list(range(1, 55))
    by_code = {int(row["code"]): row for row in rows}
    assert by_code[1]["name"] == "Kinh"
    assert float(by_code[1]["share_percent"]) == pytest.approx(85.32, abs=0.01)
    assert all(float(row["share_percent"]) > 0 for row in rows)


def test_religion_codes_run_from_0_with_0_meaning_none() -> None:
    rows = read_csv("religions.csv")
    assert sorted(int(row["code"]) for row in rows) == list(range(15))
    none = next(row for row in rows if row["code"] == "0")
    assert float(none["share_percent"]) == pytest.approx(86.3)


@pytest.mark.parametrize(
    ("skew_file", "national_file", "code_column"),
    [
        ("ethnic_skew.csv", "ethnic_groups.csv", "ethnicity_code"),
        ("religion_skew.csv", "religions.csv", "religion_code"),
    ],
)
def test_skews_name_known_provinces_and_leave_room_for_the_remainder(
    skew_file: str, national_file: str, code_column: str
) -> None:
    known_codes = {int(row["code"]) for row in read_csv(national_file)}
    per_province: dict[int, float] = defaultdict(float)
    seen: set[tuple[int, int]] = set()
    for row in read_csv(skew_file):
        province, code = int(row["province_code"]), int(row[code_column])
        assert province in province_codes(), f"unknown province {province}"
        assert code in known_codes, f"unknown code {code} in {skew_file}"
        assert (province, code) not in seen, f"duplicate row {province}/{code}"
        seen.add((province, code))
        share = float(row["share_percent"])
        assert share > 0
        per_province[province] += share
    assert per_province
    assert all(total < 100 for total in per_province.values()), per_province


def test_middle_names_cover_both_genders_and_cohorts() -> None:
    groups: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for row in read_csv("middle_names.csv"):
        groups[(row["gender"], row["cohort"])][row["name"]] = float(row["weight"])
    expected = {(g, c) for g in ("male", "female") for c in ("before_1990", "from_1990")}
    assert set(groups) == expected
    assert all(len(names) >= 25 for names in groups.values())

    def share(gender: str, cohort: str, name: str) -> float:
        names = groups[(gender, cohort)]
        return 100 * names.get(name, 0.0) / sum(names.values())

    assert share("male", "before_1990", "Văn") >= 60
    assert share("female", "before_1990", "Thị") >= 70
    assert share("male", "from_1990", "Văn") < 3
    assert 15 <= share("female", "from_1990", "Thị") <= 20
    assert 15 <= share("female", "from_1990", "Ngọc") <= 20


def test_given_names_have_at_least_80_per_gender() -> None:
    names: dict[str, set[str]] = defaultdict(set)
    for row in read_csv("given_names.csv"):
        assert float(row["weight"]) > 0
        assert row["name"] not in names[row["gender"]], f"duplicate {row['name']}"
        names[row["gender"]].add(row["name"])
    assert set(names) == {"male", "female"}
    assert all(len(group) >= 80 for group in names.values())


@pytest.mark.parametrize("name", [n for n in CSV_FILES if n != "demo_citizens.csv"] + ["README.md"])
def test_seed_text_is_nfc(name: str) -> None:
    assert _is_nfc((seeds_dir() / name).read_text(encoding="utf-8"))


def test_mobile_prefixes_are_three_digit_and_carriers_weigh_as_intended() -> None:
    carriers: dict[str, float] = defaultdict(float)
    prefixes = []
    for row in read_csv("mobile_prefixes.csv"):
        prefix = row["prefix"]
        assert len(prefix) == 3 and prefix.isdigit() and prefix.startswith("0"), prefix
        prefixes.append(prefix)
        carriers[row["carrier"]] += float(row["weight"])
    assert len(set(prefixes)) == len(prefixes)
    total = sum(carriers.values())
    assert 100 * carriers["Viettel"] / total == pytest.approx(52, abs=1)
    assert 100 * carriers["VinaPhone"] / total == pytest.approx(23, abs=1)
    assert 100 * carriers["MobiFone"] / total == pytest.approx(20, abs=1)


def test_street_names_are_unique() -> None:
    names = [row["name"] for row in read_csv("street_names.csv")]
    assert len(names) >= 50
    assert len(set(names)) == len(names)


def test_common_passwords_are_many_unique_lowercase_lines() -> None:
    lines = (seeds_dir() / "common_passwords.txt").read_text(encoding="utf-8").splitlines()
    assert all(line and line == line.strip() and line == line.lower() for line in lines)
    assert not any(line.startswith("#") for line in lines)
    assert len(set(lines)) == len(lines) >= 900
    assert {"123456", "password", "anhyeuem", "matkhau"} <= set(lines)


def test_demo_id_numbers_match_their_citizens() -> None:
    rows = read_csv("demo_citizens.csv")
    assert len({row["personal_id_number"] for row in rows}) == len(rows)
    for row in rows:
        number = PersonalIdNumber.parse(row["personal_id_number"])
        number.check_consistent(
            birth_date=dt.date.fromisoformat(row["birth_date"]),
            gender=row["gender"],
            region_code=int(row["birth_registration_province_code"]),
        )
        assert number.random_part >= DEMO_RANDOM_FLOOR


def test_demo_citizens_have_the_promised_roles() -> None:
    demo = _demo_by_role()
    assert set(demo) == {"level2_adult", "level1_adult", "minor", "spouse", "deceased", "nfd_name"}
    assert demo["level2_adult"]["account_level"] == "2"
    assert demo["level1_adult"]["account_level"] == "1"
    assert demo["nfd_name"]["account_level"] == "1"
    assert demo["minor"]["account_level"] == demo["deceased"]["account_level"] == ""
    assert demo["deceased"]["date_of_death"] == "2023-03-14"
    assert demo["deceased"]["household_id"] == ""
    minor_birth = dt.date.fromisoformat(demo["minor"]["birth_date"])
    assert _age_on(minor_birth, MINOR_CUTOFF) < 14


def test_demo_family_links_are_consistent() -> None:
    rows = read_csv("demo_citizens.csv")
    by_id = {row["personal_id_number"]: row for row in rows}
    for row in rows:
        spouse = row["spouse_id_number"]
        if spouse:
            assert by_id[spouse]["spouse_id_number"] == row["personal_id_number"]
            assert row["marital_status"] == by_id[spouse]["marital_status"] == "married"
    demo = _demo_by_role()
    minor = demo["minor"]
    assert minor["mother_id_number"] == demo["level2_adult"]["personal_id_number"]
    assert minor["father_id_number"] == demo["spouse"]["personal_id_number"]
    assert minor["family_name"] == demo["spouse"]["family_name"]
    household = demo["level2_adult"]["household_id"]
    assert demo["level2_adult"]["relation_to_head"] == "head"
    assert minor["household_id"] == demo["spouse"]["household_id"] == household


def test_demo_codes_refer_to_seeded_code_lists() -> None:
    unit_codes = {int(row["code"]) for row in read_csv("units.csv")}
    ethnic = {int(row["code"]) for row in read_csv("ethnic_groups.csv")}
    religions = {int(row["code"]) for row in read_csv("religions.csv")}
    prefixes = {row["prefix"] for row in read_csv("mobile_prefixes.csv")}
    for row in read_csv("demo_citizens.csv"):
        for column in (
            "birth_place_province_code",
            "birth_registration_province_code",
            "hometown_province_code",
        ):
            assert int(row[column]) in province_codes()
        assert int(row["permanent_unit_code"]) in unit_codes
        assert int(row["current_unit_code"]) in unit_codes
        assert int(row["ethnicity_code"]) in ethnic
        assert int(row["religion_code"]) in religions
        if row["phone"]:
            assert len(row["phone"]) == 10 and row["phone"].isdigit()
            assert row["phone"][:3] in prefixes
        if row["email"]:
            assert row["email"].endswith("@example.vn")


def test_only_the_nfd_demo_citizen_has_decomposed_names() -> None:
    for row in read_csv("demo_citizens.csv"):
        names = [row[column] for column in NAME_COLUMNS]
        others = [value for key, value in row.items() if key not in NAME_COLUMNS]
        assert all(_is_nfc(value) for value in others)
        if row["role"] == "nfd_name":
            assert all(not _is_nfc(name) for name in names)
            assert all(unicodedata.normalize("NFD", name) == name for name in names)
        else:
            assert all(_is_nfc(name) for name in names)

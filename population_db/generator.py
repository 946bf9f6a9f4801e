"""The deterministic synthetic population generator.

A population is a sequence of batches; batch ``i`` of seed ``s`` is a pure function of
``(s, i, size)``, so batches can be generated in any process, in any order, and a resumed
seeding reproduces exactly what an uninterrupted one would have written. Each batch is
built column-wise with NumPy from whole households (head, spouse, the head's parents,
children), so families are consistent inside a batch: parents are at least 18 years older
than their children, children carry their father's family name, spouses point at each
other. Distributions come from ``seeds/`` (see ``distributions``).

ID numbers are unique without any shared state: inside a batch, citizens with the same
``PPP G YY`` prefix get ranks 0, 1, 2…; the sequence number ``rank * MAX_BATCHES + batch``
is then scrambled by an affine bijection modulo 999,000, so random parts look random, never
repeat for a prefix, and never reach 999000-999999, which are reserved for the fixed demo
citizens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from population_db.distributions import Distributions, load
from population_db.models import CITIZEN_COLUMNS, HOUSEHOLD_COLUMNS
from population_db.seeds import read_csv
from population_db.units import province_by_code

GENERATOR_VERSION = 1
BATCH_SIZE = 20_000
MAX_BATCH_SIZE = 200_000
MAX_BATCHES = 5_000
DEMO_RANDOM_PART_START = 999_000
_RANDOM_MULTIPLIER = 500_009  # coprime with 999,000 = 2³·3³·5³·37
_OLD_ID_MULTIPLIER = 387_420_489  # 3^18: coprime with 10^9
_EPOCH = np.datetime64("1970-01-01", "D")

# Household kinds and member roles (index into ROLE_NAMES).
SINGLE, COUPLE, LONE_PARENT, NUCLEAR, THREE_GENERATION = range(5)
HEAD, SPOUSE, PARENT, CHILD = range(4)
ROLE_NAMES = ("head", "spouse", "parent", "child")


@dataclass(frozen=True)
class PopulationBatch:
    """Rows ready for the loader: tuples in ``HOUSEHOLD_COLUMNS`` / ``CITIZEN_COLUMNS`` order."""

    index: int
    households: list[tuple]
    citizens: list[tuple]


def plan_batches(citizens: int, batch_size: int = BATCH_SIZE) -> list[int]:
    """Sizes of the generated batches for a population of ``citizens`` (demo citizens included)."""
    demo = len(demo_batch().citizens)
    if citizens < demo:
        raise ValueError(f"a population needs at least {demo} citizens (the demo citizens)")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"the batch size must be 1-{MAX_BATCH_SIZE}")
    full, rest = divmod(citizens - demo, batch_size)
    sizes = [batch_size] * full + ([rest] if rest else [])
    if len(sizes) > MAX_BATCHES:
        raise ValueError(f"at most {MAX_BATCHES} batches: use a larger batch size")
    return sizes


def generate_batch(seed: int, index: int, size: int) -> PopulationBatch:
    """Generate batch ``index`` of the population of ``seed``: exactly ``size`` citizens."""
    if not 0 <= index < MAX_BATCHES or not 0 < size <= MAX_BATCH_SIZE:
        raise ValueError("batch index or size out of range")
    rng = np.random.default_rng([seed, index, GENERATOR_VERSION])
    return _BatchBuilder(load(), rng, seed, index, size).build()


class _BatchBuilder:
    """Builds one batch column by column; each step fills arrays over all members."""

    def __init__(
        self, d: Distributions, rng: np.random.Generator, seed: int, index: int, size: int
    ) -> None:
        self.d, self.rng, self.seed, self.index, self.size = d, rng, seed, index, size
        self.cfg = d.demography

    # -- households -------------------------------------------------------------------
    def build(self) -> PopulationBatch:
        self._households()
        self._ages_and_genders()
        self._deaths()
        self._places()
        self._names()
        self._id_numbers()
        self._links()
        return PopulationBatch(self.index, self._household_rows(), self._citizen_rows())

    def _households(self) -> None:
        rng, hh = self.rng, self.cfg["households"]
        sizes = np.asarray(self.d.household_size_choice.values)[
            self.d.household_size_choice.draw(rng, self.size // 2 + 16)
        ]
        sizes = np.where(sizes >= 6, sizes + rng.integers(0, 3, len(sizes)), sizes)
        total = np.cumsum(sizes)
        count = int(np.searchsorted(total, self.size)) + 1
        sizes = sizes[:count].copy()
        sizes[-1] -= total[count - 1] - self.size  # the last household is cut to fit
        h = len(sizes)
        kind = np.full(h, NUCLEAR)
        kind[sizes == 1] = SINGLE
        kind[sizes == 2] = np.where(rng.random(h) < hh["lone_parent_share_2"], LONE_PARENT, COUPLE)[
            sizes == 2
        ]
        three = np.where(
            sizes >= 6, hh["three_generation_share_6"], hh["three_generation_share_4_5"]
        )
        kind[(sizes >= 4) & (rng.random(h) < three)] = THREE_GENERATION
        adults = np.where((kind == SINGLE) | (kind == LONE_PARENT), 1, 2)
        grand = np.where(kind == THREE_GENERATION, np.minimum(2, sizes - 3), 0)
        self.hh_size, self.hh_kind, self.hh_adults, self.hh_grand = sizes, kind, adults, grand
        self.hh_children = sizes - adults - grand
        self.hh_start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self.hh_province = self.d.province_choice.draw(rng, h)  # index into province_codes
        self.member_hh = np.repeat(np.arange(h), sizes)
        pos = np.arange(self.size) - self.hh_start[self.member_hh]
        a, g = adults[self.member_hh], grand[self.member_hh]
        self.role = np.select([pos == 0, pos < a, pos < a + g], [HEAD, SPOUSE, PARENT], CHILD)
        self.child_rank = np.where(self.role == CHILD, pos - a - g, -1)

    # -- ages and genders ---------------------------------------------------------------
    def _draw_age(self, n: int, lo: int, hi: int) -> np.ndarray:
        """Ages from the national pyramid restricted to [lo, hi]."""
        weights = np.diff(np.concatenate(([0.0], self.d.age_choice.cumulative)))[lo : hi + 1]
        cumulative = np.cumsum(weights / weights.sum())
        return lo + np.searchsorted(cumulative, self.rng.random(n), side="right").clip(max=hi - lo)

    def _ages_and_genders(self) -> None:
        rng, b, hh = self.rng, self.cfg["births"], self.cfg["households"]
        h, kind, m = len(self.hh_size), self.hh_kind, self.member_hh
        normal = rng.standard_normal
        spacing = rng.integers(b["child_spacing_min"], b["child_spacing_max"] + 1, self.size)
        spacing[self.child_rank <= 0] = 0  # the eldest child sets the household's clock
        family_span = np.bincount(m, weights=spacing, minlength=h).astype(np.int64)
        eldest = np.maximum(self._draw_age(h, 0, 30), family_span)
        mother_at_birth = np.clip(
            np.rint(b["mother_age_mean"] + b["mother_age_sd"] * normal(h)),
            b["mother_age_min"] + 1,  # +1: whole years, birthdays fall anywhere
            b["mother_age_max"],
        )
        with_children = self.hh_children > 0
        mother = np.where(with_children, eldest + mother_at_birth, 0)
        # couples without children at home are mostly "empty nests"; people living alone
        # are young singles or, as often, widowed elders
        older = rng.random(h)
        couple_age = np.where(older < 0.65, self._draw_age(h, 50, 95), self._draw_age(h, 20, 49))
        single_age = np.where(older < 0.5, self._draw_age(h, 60, 100), self._draw_age(h, 18, 59))
        mother = np.where(kind == COUPLE, couple_age, mother)
        mother = np.where(kind == SINGLE, single_age, mother)
        gap = np.clip(np.rint(b["spouse_gap_mean"] + b["spouse_gap_sd"] * normal(h)),
                      b["spouse_gap_min"], b["spouse_gap_max"])  # fmt: skip
        # integer ages one year apart more than the 18 years asked, as birthdays fall anywhere
        father = np.maximum(mother + gap, np.where(with_children, eldest + 19, 18))
        female_head = rng.random(h) < hh["female_head_share"]
        female_head |= (kind == LONE_PARENT) & (rng.random(h) < 0.75)
        single_female = rng.random(h) < np.where(mother >= 60, 0.7, 0.45)
        female_head = np.where(kind == SINGLE, single_female, female_head)
        head_age = np.where(kind == SINGLE, mother, np.where(female_head, mother, father))
        spouse_age = np.where(female_head, father, mother)
        grand_age = head_age + np.clip(np.rint(26 + 4 * normal(h)), 19, 42)

        run = np.cumsum(spacing)
        child_age = np.maximum(eldest[m] - (run - run[self.hh_start[m]]), 0)

        role = self.role
        grand_pos = np.arange(self.size) - self.hh_start[m] - self.hh_adults[m]
        age = np.select(
            [role == HEAD, role == SPOUSE, role == PARENT],
            [head_age[m], spouse_age[m], grand_age[m] + np.where(grand_pos == 0, 2, 0)],
            child_age,
        )
        lone_grand_female = rng.random(self.size) < 0.7
        female = np.select(
            [role == HEAD, role == SPOUSE, role == PARENT],
            [
                female_head[m],
                ~female_head[m],
                np.where(self.hh_grand[m] == 2, grand_pos == 1, lone_grand_female),
            ],
            rng.random(self.size) >= b["male_share_at_birth"],
        )
        self.age, self.female = np.minimum(age, 100).astype(np.int64), female
        ref = np.datetime64(self.d.reference_date, "D")
        days_into_year = rng.integers(0, 365, self.size)
        self.birth = ref - (np.rint(self.age * 365.2425).astype(np.int64) + days_into_year + 1)
        self.birth_year = self.birth.astype("datetime64[Y]").astype(np.int64) + 1970

    # -- deaths ---------------------------------------------------------------------------
    def _deaths(self) -> None:
        """The head's parents and spouses may be recorded as deceased (left the household)."""
        cfg = self.cfg["deaths"]
        probability = np.zeros(self.size)
        for lower, p in sorted((int(k), v) for k, v in cfg["probability_by_age"].items()):
            probability[self.age >= lower] = p
        eligible = (self.role == PARENT) | (self.role == SPOUSE)
        self.dead = eligible & (self.rng.random(self.size) < probability)
        ref = np.datetime64(self.d.reference_date, "D")
        days_ago = self.rng.integers(1, cfg["years_back"] * 365, self.size)
        self.death = np.maximum(ref - days_ago, self.birth + 1)

    # -- places -------------------------------------------------------------------------
    def _places(self) -> None:
        rng, d, c = self.rng, self.d, self.cfg["contact"]
        m, n = self.member_hh, self.size
        home = self.hh_province[m]
        migrant = (self.age >= 18) & (self.role != CHILD) & (rng.random(n) < c["migrant_share"])
        self.birth_province = np.where(migrant, d.province_choice.draw(rng, n), home)
        self.residence_province = home
        household_ethnicity = d.ethnicity.draw(rng, self.hh_province)
        own_ethnicity = d.ethnicity.draw(rng, home)
        self.ethnicity = np.where(
            (self.role == SPOUSE) & (rng.random(n) < 0.1), own_ethnicity, household_ethnicity[m]
        )
        household_religion = d.religion.draw(rng, self.hh_province)
        own_religion = d.religion.draw(rng, home)
        self.religion = np.where(
            (self.role == SPOUSE) & (rng.random(n) < 0.15), own_religion, household_religion[m]
        )
        temporary = (self.age >= 18) & (self.age <= 40) & ~self.dead
        temporary &= rng.random(n) < c["temporary_residence_share"]
        units = np.asarray(c["temporary_residence_units"])
        self.temporary_unit = np.where(temporary, units[rng.integers(0, len(units), n)], 0)

    # -- names --------------------------------------------------------------------------
    def _names(self) -> None:
        rng, d, n = self.rng, self.d, self.size
        family = d.family_name_choice.draw(rng, n)
        southern = d.province_southern[self.residence_province]
        family = np.where(southern, d.southern_form[family], family)
        self.family = family
        self.middle = np.empty(n, dtype=object)
        self.second_middle = np.full(n, None, dtype=object)
        self.given = np.empty(n, dtype=object)
        cohort = np.where(self.birth_year < 1990, "before_1990", "from_1990")
        for gender, is_female in (("male", False), ("female", True)):
            gender_mask = self.female == is_female
            given = d.given_names[gender]
            self.given[gender_mask] = np.asarray(given.values, dtype=object)[
                given.draw(rng, int(gender_mask.sum()))
            ]
            for period in ("before_1990", "from_1990"):
                mask = gender_mask & (cohort == period)
                choice = d.middle_names[(gender, period)]
                values = np.asarray(choice.values, dtype=object)
                self.middle[mask] = values[choice.draw(rng, int(mask.sum()))]
                four_words = {"female": 0.55, "male": 0.25}[gender]
                if period == "before_1990":
                    four_words /= 4
                second = mask & (rng.random(n) < four_words)
                extra = d.middle_names[(gender, "from_1990")]
                drawn = np.asarray(extra.values, dtype=object)[extra.draw(rng, int(second.sum()))]
                self.second_middle[second] = np.where(drawn == self.middle[second], None, drawn)

    # -- ID numbers ---------------------------------------------------------------------
    def _id_numbers(self) -> None:
        region = self.d.province_codes[self.birth_province]
        digit = 2 * ((self.birth_year - 1900) // 100) + self.female.astype(np.int64)
        prefix = region * 1000 + digit * 100 + self.birth_year % 100
        order = np.argsort(prefix, kind="stable")
        sorted_prefix = prefix[order]
        group_start = np.searchsorted(sorted_prefix, sorted_prefix, side="left")
        rank = np.empty(self.size, dtype=np.int64)
        rank[order] = np.arange(self.size) - group_start
        sequence = rank * MAX_BATCHES + self.index
        if sequence.max(initial=0) >= DEMO_RANDOM_PART_START:
            raise OverflowError("too many citizens share an ID prefix in one batch")
        offset = (prefix * 7_919 + self.seed * 104_729) % DEMO_RANDOM_PART_START
        random_part = (sequence * _RANDOM_MULTIPLIER + offset) % DEMO_RANDOM_PART_START
        numbers = prefix * 1_000_000 + random_part
        self.id_number = np.array([f"{v:012d}" for v in numbers.tolist()], dtype=object)

    # -- family links ---------------------------------------------------------------------
    def _links(self) -> None:
        """Father, mother and spouse by ID number; children take the father's family name."""
        m, role, start = self.member_hh, self.role, self.hh_start
        head, n = start[m], self.size
        has_spouse = self.hh_adults[m] == 2
        partner = np.where(has_spouse, head + 1, -1)
        female_head = self.female[head]
        father = np.where(female_head, partner, head)
        mother = np.where(female_head, head, partner)
        is_child = role == CHILD
        grand = self.hh_grand[m]
        grandfather = np.where(grand == 2, head + self.hh_adults[m], -1)
        grandmother = np.where(grand == 2, head + self.hh_adults[m] + 1, -1)
        first_parent = np.minimum(head + self.hh_adults[m], n - 1)
        lone_female = (grand == 1) & self.female[first_parent]
        grandfather = np.where((grand == 1) & ~lone_female, first_parent, grandfather)
        grandmother = np.where(lone_female, first_parent, grandmother)
        self.father = np.select([is_child, role == HEAD], [father, grandfather], -1)
        self.mother = np.select([is_child, role == HEAD], [mother, grandmother], -1)
        self.spouse = np.select([(role == HEAD) & has_spouse, role == SPOUSE], [head + 1, head], -1)
        grandparents_pair = (role == PARENT) & (grand == 2)
        other = np.where(np.arange(n) == grandfather, grandmother, grandfather)
        self.spouse = np.where(grandparents_pair, other, self.spouse)
        # family names follow the father: children from theirs, the head from grandfather
        lineage = np.where(self.father >= 0, self.father, self.mother)
        for _ in range(2):  # head first (from grandfather), then children (from the head)
            self.family = np.where(lineage >= 0, self.family[np.maximum(lineage, 0)], self.family)
        self.hometown = np.where(
            lineage >= 0, self.birth_province[np.maximum(lineage, 0)], self.birth_province
        )
        # children share the ethnicity of the parent they take their name from
        self.ethnicity = np.where(is_child, self.ethnicity[np.maximum(lineage, 0)], self.ethnicity)
        self._marital_status()

    def _marital_status(self) -> None:
        rng, n, role = self.rng, self.size, self.role
        u = rng.random(n)
        single_adult = np.select([self.age < 30, self.age < 60], [u < 0.9, u < 0.5], u < 0.2)
        status = np.select(
            [
                self.spouse >= 0,
                (role == HEAD) & (self.hh_kind[self.member_hh] == LONE_PARENT),
                (role == HEAD) | (role == PARENT),
            ],
            [
                np.where(self.dead[np.maximum(self.spouse, 0)], "widowed", "married"),
                np.where(u < 0.5, "divorced", np.where(u < 0.8, "widowed", "single")),
                np.where(single_adult, "single", np.where(u < 0.85, "widowed", "divorced")),
            ],
            "single",
        )
        self.marital = np.where(self.dead, np.where(self.spouse >= 0, "married", "widowed"), status)

    # -- rows -----------------------------------------------------------------------------
    def _addresses(self) -> np.ndarray:
        rng, d, h = self.rng, self.d, len(self.hh_size)
        province = self.hh_province
        is_city = np.array([province_by_code()[int(c)].kind == "city" for c in d.province_codes])[
            province
        ]
        urban = is_city | (rng.random(h) < self.cfg["households"]["urban_share"])
        house = rng.integers(1, 400, h).tolist()
        street = rng.integers(0, len(d.streets), h).tolist()
        hamlet = rng.integers(1, 25, h).tolist()
        village_word = np.where(
            d.province_mekong_south[province],
            "Ấp",
            np.where(d.province_mountain[province], "Bản", "Thôn"),
        ).tolist()
        return np.array(
            [
                f"Số {house[i]} đường {d.streets[street[i]]}"
                if urban[i]
                else f"{village_word[i]} {hamlet[i]}"
                for i in range(h)
            ],
            dtype=object,
        )

    def _household_rows(self) -> list[tuple]:
        self.hh_address = self._addresses()
        self.hh_id = (self.index + 1) * 1_000_000 + np.arange(len(self.hh_size))
        unit = self.d.province_unit_codes[self.hh_province]
        columns = {
            "id": self.hh_id.tolist(),
            "head_id_number": self.id_number[self.hh_start].tolist(),
            "unit_code": unit.tolist(),
            "address_line": self.hh_address.tolist(),
        }
        return list(zip(*(columns[name] for name in HOUSEHOLD_COLUMNS), strict=True))

    def _citizen_rows(self) -> list[tuple]:
        rng, d, c, n = self.rng, self.d, self.cfg["contact"], self.size
        ids = self.id_number
        alive, adult = ~self.dead, self.age >= 18
        family = [d.family_names[i] for i in self.family.tolist()]
        middle = [
            a if b is None else f"{a} {b}"
            for a, b in zip(self.middle.tolist(), self.second_middle.tolist(), strict=True)
        ]
        given = self.given.tolist()
        full = [f"{f} {mid} {g}" for f, mid, g in zip(family, middle, given, strict=True)]
        alias_words = c["aliases"]
        alias_pick = rng.integers(0, len(alias_words), n).tolist()
        has_alias = (rng.random(n) < c["alias_share"]).tolist()
        alias = [
            f"{alias_words[alias_pick[i]]} {given[i]}" if has_alias[i] else None for i in range(n)
        ]

        blood_cfg = self.cfg["blood"]
        blood_values = d.blood_choice.values
        abo = d.blood_choice.draw(rng, n).tolist()
        rh = (rng.random(n) < blood_cfg["rh_negative_probability"]).tolist()
        recorded = (rng.random(n) < blood_cfg["recorded_share"]).tolist()
        blood = [
            f"{blood_values[abo[i]]}{'-' if rh[i] else '+'}" if recorded[i] else None
            for i in range(n)
        ]
        ordinal = self.index * MAX_BATCH_SIZE + np.arange(n)
        old_number = (ordinal * _OLD_ID_MULTIPLIER + self.seed * 7_777) % 1_000_000_000
        has_old = (self.birth_year < 2006) & (rng.random(n) < c["old_id_share"])
        old_id = [
            f"{v:09d}" if h else None
            for v, h in zip(old_number.tolist(), has_old.tolist(), strict=True)
        ]

        phone_share = np.where(
            adult, c["phone_share_adult"], np.where(self.age >= 15, c["phone_share_teen"], 0)
        )
        has_phone = (alive & (rng.random(n) < phone_share)).tolist()
        prefixes = d.phone_prefixes.values
        prefix = d.phone_prefixes.draw(rng, n).tolist()
        subscriber = rng.integers(0, 10_000_000, n).tolist()
        phone = [
            f"{prefixes[prefix[i]]}{subscriber[i]:07d}" if has_phone[i] else None for i in range(n)
        ]
        has_email = (alive & adult & (self.age <= 60) & (rng.random(n) < c["email_share"])).tolist()
        suffix = rng.integers(1, 100, n).tolist()
        ascii_names = d.ascii_names
        email = [
            f"{ascii_names[given[i]]}.{ascii_names[family[i]]}{suffix[i]}@example.vn"
            if has_email[i]
            else None
            for i in range(n)
        ]

        unit = d.province_unit_codes[self.residence_province]
        temporary = self.temporary_unit
        street = rng.integers(0, len(d.streets), n).tolist()
        house = rng.integers(1, 400, n).tolist()
        temp_list = temporary.tolist()
        temp_address = [
            f"Số {house[i]} đường {d.streets[street[i]]}" if temp_list[i] else None
            for i in range(n)
        ]
        current = np.where(temporary > 0, temporary, unit)

        def link(index: np.ndarray) -> list[str | None]:
            return [ids[i] if i >= 0 else None for i in index.tolist()]

        dead = self.dead.tolist()
        household = np.where(self.dead, -1, self.hh_id[self.member_hh]).tolist()
        role = [ROLE_NAMES[r] for r in self.role.tolist()]
        columns = {
            "personal_id_number": ids.tolist(),
            "family_name": family,
            "middle_name": middle,
            "given_name": given,
            "full_name": full,
            "alias": alias,
            "birth_date": np.datetime_as_string(self.birth, unit="D").tolist(),
            "gender": np.where(self.female, "female", "male").tolist(),
            "birth_place_province_code": d.province_codes[self.birth_province].tolist(),
            "birth_registration_province_code": d.province_codes[self.birth_province].tolist(),
            "hometown_province_code": d.province_codes[self.hometown].tolist(),
            "ethnicity_code": self.ethnicity.tolist(),
            "religion_code": self.religion.tolist(),
            "nationality": ["VN"] * n,
            "blood_type": blood,
            "old_id_number": old_id,
            "permanent_unit_code": unit.tolist(),
            "permanent_address": self.hh_address[self.member_hh].tolist(),
            "temporary_unit_code": [t or None for t in temp_list],
            "temporary_address": temp_address,
            "current_unit_code": current.tolist(),
            "marital_status": self.marital.tolist(),
            "household_id": [h if h >= 0 else None for h in household],
            "relation_to_head": [None if dead[i] else role[i] for i in range(n)],
            "father_id_number": link(self.father),
            "mother_id_number": link(self.mother),
            "spouse_id_number": link(self.spouse),
            "phone": phone,
            "email": email,
            "date_of_death": [
                v if dead[i] else None
                for i, v in enumerate(np.datetime_as_string(self.death, unit="D").tolist())
            ],
        }
        return list(zip(*(columns[name] for name in CITIZEN_COLUMNS), strict=True))


@cache
def demo_batch() -> PopulationBatch:
    """The fixed demo citizens of ``seeds/demo_citizens.csv`` and their households."""
    rows = read_csv("demo_citizens.csv")
    ints = {
        "birth_place_province_code", "birth_registration_province_code", "hometown_province_code",
        "ethnicity_code", "religion_code", "permanent_unit_code", "temporary_unit_code",
        "current_unit_code", "household_id",
    }  # fmt: skip
    citizens, households = [], []
    for row in rows:
        values = {k: (v if v != "" else None) for k, v in row.items()}
        for key in ints & values.keys():
            values[key] = int(values[key]) if values[key] is not None else None
        values["nationality"] = values.get("nationality") or "VN"
        parts = (values["family_name"], values["middle_name"], values["given_name"])
        values["full_name"] = " ".join(p for p in parts if p)
        citizens.append(tuple(values.get(name) for name in CITIZEN_COLUMNS))
        if values["relation_to_head"] == "head":
            household = {
                "id": values["household_id"],
                "head_id_number": values["personal_id_number"],
                "unit_code": values["permanent_unit_code"],
                "address_line": values["permanent_address"],
            }
            households.append(tuple(household[name] for name in HOUSEHOLD_COLUMNS))
    return PopulationBatch(-1, sorted(households), citizens)


def reference_date() -> dt.date:
    """The date the synthetic population is a snapshot of."""
    return load().reference_date

"""Injected fraud of the four patterns, each in several variants, and honest look-alikes.

Fraud is committed by a minority, as in reality: a few hospitals (and two complicit
doctors in each) hang beds or split bills, a few pharmacies collect cards, a few doctors
prescribe high-value drugs or over-limit supplies, and a small share of persons lend
their card or stockpile drugs. Each variant is either *blatant* (a rule on one record
catches it) or *subtle* (every record is within the rules; only a comparison with peers
or with the person's history shows it). Look-alikes are honest care that a naive rule
would flag; they are labelled ``rejected``.

Every injected subject is written to the truth with its pattern, variant and severity.
The injection works on the visits of one chunk of persons; the institution and doctor
actors are chosen once for the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from settlements.synthetic.care import (
    CHRONIC,
    CHRONIC_BASKET,
    CODE_ID,
    CODES,
    OUTPATIENT,
    PHARMACY,
    STAY,
    code_ids,
    make_visits,
    new_stays,
)
from settlements.synthetic.catalog import (
    CONDITION_INDEX,
    HIGH_VALUE_DRUGS,
    PHARMACY_BASKETS,
    SAME_CHAPTER,
    STAY_GROUP_INDEX,
    STAY_GROUPS,
    VISIT_KIND_INDEX,
    VISIT_KINDS,
    item_ids,
)
from settlements.synthetic.config import WorldConfig
from settlements.synthetic.world import (
    TIER_CLINIC,
    TIER_PHARMACY,
    TIER_SECONDARY,
    TIER_TERTIARY,
    URBAN,
    Region,
)

BED_HANGING, SPLIT_BILLING = "bed_hanging", "split_billing"
CARD_LENDING, OVER_PRESCRIPTION = "card_lending", "over_prescription"
BLATANT, SUBTLE, LOOKALIKE = "blatant", "subtle", "lookalike"

VARIANTS: dict[str, tuple[str, str, str]] = {
    # variant: (pattern, subject type, severity)
    "empty_days": (BED_HANGING, "visit", BLATANT),
    "token_item_days": (BED_HANGING, "visit", SUBTLE),
    "settled_elsewhere_during_stay": (BED_HANGING, "visit", BLATANT),
    "checkup_admission": (BED_HANGING, "visit", BLATANT),
    "hanging_institution": (BED_HANGING, "institution", SUBTLE),
    "over_approved_beds": (BED_HANGING, "institution", BLATANT),
    "hanging_doctor": (BED_HANGING, "doctor", SUBTLE),
    "readmission_within_days": (SPLIT_BILLING, "visit", BLATANT),
    "readmission_same_chapter": (SPLIT_BILLING, "visit", SUBTLE),
    "same_day_outpatient_split": (SPLIT_BILLING, "visit", BLATANT),
    "bundle_and_components": (SPLIT_BILLING, "visit", BLATANT),
    "double_daily_item": (SPLIT_BILLING, "visit", BLATANT),
    "splitting_institution": (SPLIT_BILLING, "institution", SUBTLE),
    "splitting_doctor": (SPLIT_BILLING, "doctor", SUBTLE),
    "restricted_item_wrong_person": (CARD_LENDING, "visit", BLATANT),
    "impossible_presence": (CARD_LENDING, "visit", BLATANT),
    "overlapping_stays": (CARD_LENDING, "visit", BLATANT),
    "after_death": (CARD_LENDING, "visit", BLATANT),
    "history_break": (CARD_LENDING, "person", SUBTLE),
    "card_collection_burst": (CARD_LENDING, "visit", SUBTLE),
    "card_collector": (CARD_LENDING, "institution", BLATANT),
    "days_supply_over_limit": (OVER_PRESCRIPTION, "visit", BLATANT),
    "daily_count_over_limit": (OVER_PRESCRIPTION, "visit", BLATANT),
    "doctor_shopping": (OVER_PRESCRIPTION, "person", SUBTLE),
    "early_refill": (OVER_PRESCRIPTION, "person", SUBTLE),
    "over_limit_prescriber": (OVER_PRESCRIPTION, "doctor", BLATANT),
    "high_value_prescriber": (OVER_PRESCRIPTION, "doctor", SUBTLE),
}
"""Fraud variants. Person-level variants whose visits are also labelled (card lending
through a wrong person, an impossible presence, after death, a collected card) add the
person with the same variant name."""

LOOKALIKES: dict[str, tuple[str, str]] = {
    # look-alike: (pattern a naive rule would suspect, subject type)
    "emergency_readmission": (SPLIT_BILLING, "visit"),
    "readmission_other_diagnosis": (SPLIT_BILLING, "visit"),
    "two_departments_same_day": (SPLIT_BILLING, "visit"),
    "long_serious_stay": (BED_HANGING, "visit"),
    "family_purchase_during_stay": (BED_HANGING, "visit"),
    "busy_hospital": (BED_HANGING, "institution"),
    "long_chronic_prescription": (OVER_PRESCRIPTION, "visit"),
    "oncologist_high_value": (OVER_PRESCRIPTION, "doctor"),
    "nearby_within_hour": (CARD_LENDING, "person"),
    "settled_after_in_hospital_death": (CARD_LENDING, "person"),
}


@dataclass(frozen=True)
class Actors:
    """Who commits fraud in the world (institution and doctor rows)."""

    bed_hanging: np.ndarray
    over_beds: int
    split: np.ndarray
    complicit: dict[int, np.ndarray]
    high_value: np.ndarray
    over_limit: np.ndarray
    collectors: np.ndarray
    busy: int
    oncologists: np.ndarray


def choose_actors(region: Region, config: WorldConfig, rng: np.random.Generator) -> Actors:
    """Pick the fraudulent hospitals, pharmacies and doctors, and the honest look-alikes."""
    tiers = region.institutions["tier"].to_numpy()
    hospitals = rng.permutation(
        np.flatnonzero((tiers == TIER_SECONDARY) | (tiers == TIER_TERTIARY))
    )
    n_fraud = min(len(hospitals) - 2, max(3, round(config.fraud_hospital_share * len(hospitals))))
    fraud = hospitals[:n_fraud]
    bed_hanging = fraud[0::2]
    split = fraud[1::2]
    # a secondary hospital overflows its beds most visibly
    secondary_bh = [h for h in bed_hanging if tiers[h] == TIER_SECONDARY]
    over_beds = int(secondary_bh[0] if secondary_bh else bed_hanging[0])
    busy = int(hospitals[n_fraud]) if len(hospitals) > n_fraud else -1
    doctors = region.doctors
    d_inst = doctors["inst"].to_numpy()
    onc = doctors["oncologist"].to_numpy()
    complicit = {
        int(h): region.doctor_start[h]
        + 1
        + rng.choice(region.doctor_count[h] - 1, 2, replace=False)
        for h in fraud
    }
    taken = np.zeros(len(doctors), dtype=bool)
    for rows in complicit.values():
        taken[rows] = True
    pool = np.flatnonzero(np.isin(tiers[d_inst], [TIER_SECONDARY, TIER_TERTIARY]) & ~onc & ~taken)
    n_hv = max(2, round(0.02 * len(pool)))
    high_value = rng.choice(pool, min(n_hv, len(pool)), replace=False)
    taken[high_value] = True
    pool = np.flatnonzero(np.isin(tiers[d_inst], [TIER_CLINIC, TIER_SECONDARY]) & ~onc & ~taken)
    over_limit = rng.choice(pool, min(max(2, round(0.03 * len(pool))), len(pool)), replace=False)
    pharmacies = np.flatnonzero(tiers == TIER_PHARMACY)
    n_coll = max(1, round(config.fraud_pharmacy_share * len(pharmacies)))
    collectors = rng.choice(pharmacies, min(n_coll, len(pharmacies)), replace=False)
    return Actors(
        bed_hanging=np.sort(bed_hanging),
        over_beds=over_beds,
        split=np.sort(split),
        complicit=complicit,
        high_value=np.sort(high_value),
        over_limit=np.sort(over_limit),
        collectors=np.sort(collectors),
        busy=busy,
        oncologists=np.flatnonzero(onc),
    )


def actor_truth(actors: Actors, days: int) -> pd.DataFrame:
    """Truth rows of the institutions and doctors that the actors are."""
    rows: list[tuple[str, int, str]] = []
    for h in actors.bed_hanging:
        rows.append(
            (
                "institution",
                int(h),
                "over_approved_beds" if h == actors.over_beds else "hanging_institution",
            )
        )
        rows += [("doctor", int(d), "hanging_doctor") for d in actors.complicit[int(h)]]
    for h in actors.split:
        rows.append(("institution", int(h), "splitting_institution"))
        rows += [("doctor", int(d), "splitting_doctor") for d in actors.complicit[int(h)]]
    rows += [("institution", int(h), "card_collector") for h in actors.collectors]
    rows += [("doctor", int(d), "over_limit_prescriber") for d in actors.over_limit]
    rows += [("doctor", int(d), "high_value_prescriber") for d in actors.high_value]
    frame = pd.DataFrame(rows, columns=["subject_type", "subject", "variant"])
    frame["pattern"] = [VARIANTS[v][0] for v in frame["variant"]]
    frame["severity"] = [VARIANTS[v][2] for v in frame["variant"]]
    frame["fraud"] = True
    look = [("doctor", int(d), "oncologist_high_value") for d in actors.oncologists]
    if actors.busy >= 0:
        look.append(("institution", actors.busy, "busy_hospital"))
    lframe = pd.DataFrame(look, columns=["subject_type", "subject", "variant"])
    lframe["pattern"] = [LOOKALIKES[v][0] for v in lframe["variant"]]
    lframe["severity"] = LOOKALIKE
    lframe["fraud"] = False
    out = pd.concat([frame, lframe], ignore_index=True)
    out["day"] = days - 1
    return out


def plan_deaths(
    persons: pd.DataFrame, config: WorldConfig, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Before honest care is drawn: the persons whose card is used after their death, and
    the look-alikes who die in hospital and are settled a few days later.

    Returns the persons with those deaths set, and the two groups' rows.
    """
    days = config.days
    age = persons["age"].to_numpy()
    alive = persons["dead_day"].to_numpy() < 0
    n = _count(config.card_lending_rate, len(persons), config)
    pool = rng.permutation(np.flatnonzero(alive & (age >= 55)))
    victims = pool[:n]
    m = _count(config.lookalike_rate, len(persons), config)
    lookalikes = pool[n : n + m]
    dead_day = persons["dead_day"].to_numpy().copy()
    dead_day[victims] = rng.integers(30, max(31, days - 120), len(victims))
    dead_day[lookalikes] = rng.integers(40, days - 5, len(lookalikes))
    start = np.datetime64(config.start_date, "D")
    dead_date = (
        pd.Series(start + np.maximum(dead_day, 0).astype("timedelta64[D]"))
        .astype("datetime64[ns]")
        .where(dead_day >= 0)
    )
    return persons.assign(dead_day=dead_day, dead_date=dead_date), victims, lookalikes


def _count(rate: float, eligible: int, config: WorldConfig) -> int:
    return max(config.min_per_variant, round(rate * eligible))


class Injection:
    """The visits of one chunk being edited, with the truth collected along the way."""

    def __init__(
        self,
        visits: pd.DataFrame,
        persons: pd.DataFrame,
        usual: dict[int, np.ndarray],
        region: Region,
        actors: Actors,
        config: WorldConfig,
        rng: np.random.Generator,
    ) -> None:
        self.size = len(visits)
        capacity = self.size + self.size // 4 + 64
        self._data = {
            str(name): _with_capacity(visits[name].to_numpy(), capacity) for name in visits.columns
        }
        self._touched = np.zeros(capacity, dtype=bool)
        self.persons = persons
        self.usual = usual
        self.region = region
        self.actors = actors
        self.config = config
        self.rng = rng
        self.days = config.days
        self.truth: list[pd.DataFrame] = []
        self.used = np.zeros(len(persons), dtype=bool)
        self.tiers = region.institutions["tier"].to_numpy()

    # -- bookkeeping ---------------------------------------------------------------------
    @property
    def data(self) -> dict[str, np.ndarray]:
        """The visit columns (views of the first ``n`` rows)."""
        return {name: values[: self.size] for name, values in self._data.items()}

    @property
    def touched(self) -> np.ndarray:
        """Visits already given a role (a view: setting it marks them)."""
        return self._touched[: self.size]

    def add(self, frame: pd.DataFrame) -> np.ndarray:
        """Append visits; return their row numbers."""
        rows = np.arange(self.size, self.size + len(frame))
        end = self.size + len(frame)
        if end > len(self._touched):
            capacity = max(end, 2 * len(self._touched))
            self._data = {
                k: _with_capacity(v[: self.size], capacity) for k, v in self._data.items()
            }
            self._touched = _with_capacity(self._touched[: self.size], capacity)
        for name, values in self._data.items():
            values[self.size : end] = True if name == "injected" else frame[name].to_numpy()
        self._touched[self.size : end] = True
        self.size = end
        return rows

    def set(self, rows: np.ndarray, **columns: object) -> None:
        """Change visits in place; they count as injected from then on."""
        for name, value in columns.items():
            if name in ("med_type", "dise", "cert"):
                value = code_ids(value)
            self._data[name][: self.size][rows] = value
        self._data["injected"][: self.size][rows] = True
        self._touched[: self.size][rows] = True

    def rows(self, rows: np.ndarray) -> pd.DataFrame:
        """A copy of some visits, as a visit frame."""
        return pd.DataFrame({name: values[rows] for name, values in self.data.items()})

    def record(self, subject_type: str, rows: np.ndarray, variant: str, fraud: bool = True) -> None:
        if not len(rows):
            return
        if fraud:
            pattern, _, severity = VARIANTS[variant]
        else:
            pattern, severity = LOOKALIKES[variant][0], LOOKALIKE
        if subject_type == "visit":
            day = self.col("begin")[rows] + self.col("los")[rows] - 1
        else:
            day = np.full(len(rows), self.days - 1)
        self.truth.append(
            pd.DataFrame(
                {
                    "subject_type": subject_type,
                    "subject": np.asarray(rows, dtype=np.int64),
                    "variant": variant,
                    "pattern": pattern,
                    "severity": severity,
                    "fraud": fraud,
                    "day": day,
                }
            )
        )

    def take_persons(self, n: int, mask: np.ndarray) -> np.ndarray:
        """``n`` persons not yet given a role, among ``mask``; they are then used."""
        pool = np.flatnonzero(mask & ~self.used)
        chosen = self.rng.choice(pool, min(n, len(pool)), replace=False) if len(pool) else pool
        self.used[chosen] = True
        return np.sort(chosen)

    def n(self, rate: float, eligible: int) -> int:
        return min(eligible, _count(rate, eligible, self.config))

    def pick(self, mask: np.ndarray, n: int) -> np.ndarray:
        """``n`` untouched visits of persons alive all period among ``mask``; they are then
        touched (and count as injected: they are in the truth)."""
        alive = self.persons["dead_day"].to_numpy()[self.col("person")[: len(mask)]] < 0
        pool = np.flatnonzero(mask & alive & ~self.touched[: len(mask)])
        chosen = self.rng.choice(pool, min(n, len(pool)), replace=False) if len(pool) else pool
        self.set(np.sort(chosen))
        return np.sort(chosen)

    def pick_at(self, mask: np.ndarray, inst: int, n: int) -> np.ndarray:
        """``n`` stays among ``mask`` at institution ``inst``; when it has too few, stays of
        other hospitals are moved there (a small world still gets every variant)."""
        here = self.col("inst")[: len(mask)] == inst
        rows = self.pick(mask & here, n)
        if len(rows) < n:
            moved = self.pick(mask & ~here, n - len(rows))
            self.set(moved, inst=inst)
            rows = np.sort(np.r_[rows, moved])
        return rows

    def base_stays(self, mask: np.ndarray, n: int) -> np.ndarray:
        """``n`` stays among ``mask`` to build a look-alike on; new pneumonia stays of
        persons without a role when the world has too few left."""
        rows = self.pick(mask, n)
        if len(rows) < n:
            alive = self.persons["dead_day"].to_numpy() < 0
            who = self.take_persons(n - len(rows), alive)
            group = np.full(len(who), STAY_GROUP_INDEX["pneumonia"])
            begin = self.rng.integers(0, self.days - 60, len(who))
            frame = new_stays(
                who, group, self.usual, self.region, self.config, self.rng, begin=begin
            )
            rows = np.r_[rows, self.add(frame)]
        return rows

    def col(self, name: str) -> np.ndarray:
        """A visit column (a view: read it, change it only through ``set``)."""
        return self._data[name][: self.size]

    def fits(self, rows: np.ndarray, los: np.ndarray) -> np.ndarray:
        """Stays that still end inside the period after lengthening to ``los``."""
        return self.col("begin")[rows] + los - 1 < self.days

    # -- bed-hanging ---------------------------------------------------------------------
    def bed_hanging(self) -> None:
        serious_groups = [STAY_GROUP_INDEX["haemorrhage"], STAY_GROUP_INDEX["lung_cancer"]]
        variants = (
            "empty_days",
            "token_item_days",
            "settled_elsewhere_during_stay",
            "checkup_admission",
        )
        for h in self.actors.bed_hanging:
            cat, inst = self.col("cat"), self.col("inst")
            serious = np.isin(self.col("kind"), serious_groups)
            eligible = (cat == STAY) & ~serious & (self.col("begin") < self.days - 40)
            rate = self.config.bed_hanging_rate * (3 if h == self.actors.over_beds else 1)
            want = max(
                self.n(rate, int((eligible & (inst == h)).sum())),
                len(variants) * self.config.min_per_variant,
            )
            rows = self.pick_at(eligible, int(h), want)
            if not len(rows):
                continue
            self.set(rows, doctor=self.rng.choice(self.actors.complicit[int(h)], len(rows)))
            kind = np.arange(len(rows)) % len(variants)
            self.rng.shuffle(kind)
            for k, variant in enumerate(variants):
                r = rows[kind == k]
                if not len(r):
                    continue
                los = self.col("los")[r]
                if variant == "empty_days":
                    self.set(
                        r,
                        los=los + self.rng.integers(3, 11, len(r)),
                        empty_share=self.rng.uniform(0.5, 0.9, len(r)),
                    )
                elif variant == "token_item_days":
                    # a medical (not surgical) stay; most items dropped (40-95 % by stay),
                    # a cheap tablet every day
                    adult = self.persons["age"].to_numpy()[self.col("person")[r]] >= 35
                    medical = np.where(
                        adult & (self.rng.random(len(r)) < 0.5),
                        STAY_GROUP_INDEX["diabetes"],
                        STAY_GROUP_INDEX["pneumonia"],
                    )
                    self.set(
                        r,
                        kind=medical,
                        dise=np.array([STAY_GROUPS[g].codes[0] for g in medical]),
                        los=los + self.rng.integers(5, 13, len(r)),
                        token=self.rng.uniform(0.4, 0.95, len(r)),
                    )
                elif variant == "settled_elsewhere_during_stay":
                    self.set(
                        r, los=np.maximum(los, 6), empty_share=self.rng.uniform(0, 0.3, len(r))
                    )
                    self._elsewhere(r)
                else:
                    group = STAY_GROUP_INDEX["checkup"]
                    codes = STAY_GROUPS[group].codes
                    self.set(
                        r,
                        kind=group,
                        los=self.rng.integers(2, 5, len(r)),
                        dise=np.array(codes, dtype=object)[
                            self.rng.integers(0, len(codes), len(r))
                        ],
                    )
                self.record("visit", r, variant)

    def _elsewhere(self, stays: np.ndarray) -> None:
        """Outpatient visits or pharmacy purchases of the patient elsewhere mid-stay."""
        person = self.col("person")[stays]
        day = self.col("begin")[stays] + self.rng.integers(1, self.col("los")[stays] - 1)
        clinic = self.rng.random(len(stays)) < 0.5
        inst = np.where(clinic, self.usual[TIER_CLINIC][person], self.usual[TIER_PHARMACY][person])
        basket = self.rng.integers(0, len(PHARMACY_BASKETS), len(stays))
        self.add(
            make_visits(
                person=person,
                inst=inst,
                doctor=self.region.random_doctor(inst, self.rng),
                med_type=np.where(clinic, "11", "41"),
                dise=np.where(
                    clinic, "M54.500", np.array([b[1] for b in PHARMACY_BASKETS])[basket]
                ),
                cat=np.where(clinic, OUTPATIENT, PHARMACY),
                kind=np.where(clinic, VISIT_KIND_INDEX["back_pain"], basket),
                begin=day,
                los=1,
                sec=self.rng.integers(9 * 3600, 17 * 3600, len(stays)),
                prd=np.where(clinic, 0, 5),
                cert="01",
            )
        )

    # -- split billing -------------------------------------------------------------------
    def split_billing(self) -> None:
        variants = (
            "readmission_within_days",
            "readmission_same_chapter",
            "bundle_and_components",
            "double_daily_item",
        )
        for h in self.actors.split:
            cat, inst = self.col("cat"), self.col("inst")
            eligible = (cat == STAY) & (self.col("los") >= 4) & (self.col("begin") < self.days - 50)
            eligible &= self.col("kind") != STAY_GROUP_INDEX["haemorrhage"]
            want = max(
                self.n(self.config.split_billing_rate, int((eligible & (inst == h)).sum())),
                len(variants) * self.config.min_per_variant,
            )
            rows = self.pick_at(eligible, int(h), want)
            self.set(rows, doctor=self.rng.choice(self.actors.complicit[int(h)], len(rows)))
            kind = np.arange(len(rows)) % len(variants)
            self.rng.shuffle(kind)
            for k, variant in enumerate(variants):
                r = rows[kind == k]
                if not len(r):
                    continue
                if variant == "bundle_and_components":
                    self.set(r, bundle_split=True)
                    self.record("visit", r, variant)
                elif variant == "double_daily_item":
                    self.set(r, double_bed=True)
                    self.record("visit", r, variant)
                else:
                    blatant = variant == "readmission_within_days"
                    gap = (
                        self.rng.integers(1, 6, len(r))
                        if blatant
                        else self.rng.integers(12, 21, len(r))
                    )
                    dise = np.array(CODES)[self.col("dise")[r]]
                    if not blatant:
                        dise = np.array([SAME_CHAPTER.get(d, d) for d in dise], dtype=object)
                    self.record("visit", self._readmit(r, gap, dise, split=True), variant)
            cat, inst = self.col("cat"), self.col("inst")
            outpatient = (cat == OUTPATIENT) & (inst == h) & (self.col("med_type") == CODE_ID["11"])
            want = self.n(self.config.split_billing_rate / 25, int(outpatient.sum()))
            self._split_outpatient(self.pick(outpatient, want), h)

    def _readmit(
        self,
        stays: np.ndarray,
        gap: np.ndarray,
        dise: np.ndarray,
        split: bool,
        group: np.ndarray | None = None,
    ) -> np.ndarray:
        """A second stay ``gap`` days after each stay's discharge; split stays share the
        episode's length between them."""
        los = self.col("los")[stays]
        if split:
            first = np.maximum(2, los // 2 + 1)
            self.set(stays, los=first)
            second = np.maximum(2, los - first + 1)
        else:
            second = None
        end = self.col("begin")[stays] + self.col("los")[stays] - 1
        person = self.col("person")[stays]
        group = self.col("kind")[stays] if group is None else group
        frame = new_stays(
            person,
            group,
            self.usual,
            self.region,
            self.config,
            self.rng,
            begin=end + gap,
            los=second,
            inst=self.col("inst")[stays],
        )
        frame["dise"] = code_ids(dise)
        if split:
            frame["doctor"] = self.col("doctor")[stays]
        frame = frame.assign(los=np.minimum(frame["los"], self.days - frame["begin"]))
        return self.add(frame)

    def _split_outpatient(self, rows: np.ndarray, h: int) -> None:
        """One outpatient visit settled as two to four same-day settlements under the cap."""
        if not len(rows):
            return
        self.set(rows, doctor=self.rng.choice(self.actors.complicit[int(h)], len(rows)))
        extra = self.rng.integers(1, 4, len(rows))
        base = np.repeat(rows, extra)
        step = np.arange(len(base)) - np.repeat(np.cumsum(extra) - extra, extra) + 1
        clones = self.rows(base)
        clones["sec"] = np.minimum(
            clones["sec"].to_numpy() + step * self.rng.integers(600, 2400, len(base)), 86_000
        )
        new = self.add(clones.reset_index(drop=True))
        self.record("visit", np.r_[rows, new], "same_day_outpatient_split")

    # -- card lending --------------------------------------------------------------------
    def card_lending(self, victims: np.ndarray) -> None:
        cfg, rng = self.config, self.rng
        age = self.persons["age"].to_numpy()
        male = self.persons["gend"].to_numpy() == "1"
        alive = self.persons["dead_day"].to_numpy() < 0
        n = _count(cfg.card_lending_rate, len(self.persons), cfg)

        # an item for the other sex or another age: the impostor is someone else
        who = self.take_persons(n, alive & (age >= 16))
        wrong_sex_female = ~male[who] & (age[who] < 56)
        kind = np.where(wrong_sex_female, VISIT_KIND_INDEX["bph"], VISIT_KIND_INDEX["prenatal"])
        tiers = np.where(rng.random(len(who)) < 0.5, TIER_SECONDARY, TIER_CLINIC)
        inst = self._any_inst(tiers)
        abortion = (~wrong_sex_female) & (rng.random(len(who)) < 0.4)
        rows = self.add(
            make_visits(
                person=who,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="11",
                dise=np.where(abortion, "O04.900", np.array([k.code for k in VISIT_KINDS])[kind]),
                cat=OUTPATIENT,
                kind=kind,
                begin=rng.integers(0, self.days, len(who)),
                los=1,
                sec=rng.integers(8 * 3600, 17 * 3600, len(who)),
                extra_item=np.where(abortion, item_ids("op_abortion")[0], -1),
                cert="03",
            )
        )
        self.record("visit", rows, "restricted_item_wrong_person")
        self.record("person", who, "restricted_item_wrong_person")

        # two far-apart institutions within the hour
        cat = self.col("cat")
        one_day = np.flatnonzero(np.isin(cat, [OUTPATIENT, CHRONIC, PHARMACY]) & ~self.touched)
        person = self.col("person")
        candidates = pd.Series(one_day).groupby(person[one_day]).first()
        mask = np.zeros(len(self.persons), dtype=bool)
        mask[candidates.index.to_numpy()] = True
        who = self.take_persons(n, mask & alive)
        base = candidates.loc[who].to_numpy()
        far = self._far_inst(self.col("inst")[base])
        sec = np.clip(
            self.col("sec")[base]
            + rng.choice([-1, 1], len(who)) * rng.integers(600, 1500, len(who)),
            0,
            86_399,
        )
        pharmacy = self.tiers[far] == TIER_PHARMACY
        basket = rng.integers(0, len(PHARMACY_BASKETS), len(who))
        rows = self.add(
            make_visits(
                person=who,
                inst=far,
                doctor=self.region.random_doctor(far, rng),
                med_type=np.where(pharmacy, "41", "11"),
                dise=np.where(
                    pharmacy, np.array([b[1] for b in PHARMACY_BASKETS])[basket], "J06.900"
                ),
                cat=np.where(pharmacy, PHARMACY, OUTPATIENT),
                kind=np.where(pharmacy, basket, VISIT_KIND_INDEX["uri"]),
                begin=self.col("begin")[base],
                los=1,
                sec=sec,
                prd=np.where(pharmacy, 5, 0),
                cert="03",
            )
        )
        self.record("visit", rows, "impossible_presence")
        self.record("person", who, "impossible_presence")

        # someone else admitted on the card at another (the farthest) hospital while its
        # owner is in one
        cat = self.col("cat")
        base = self.pick(
            (cat == STAY) & (self.col("los") >= 5) & (self.col("begin") < self.days - 20), n
        )
        far = self._far_inst(self.col("inst")[base], tiers=(TIER_SECONDARY, TIER_TERTIARY))
        offset = rng.integers(1, np.maximum(self.col("los")[base] - 2, 2))
        group = np.full(len(base), STAY_GROUP_INDEX["pneumonia"])
        frame = new_stays(
            self.col("person")[base],
            group,
            self.usual,
            self.region,
            cfg,
            rng,
            begin=self.col("begin")[base] + offset,
            inst=far,
        )
        self.record("visit", self.add(frame), "overlapping_stays")
        self.record("person", np.unique(self.col("person")[base]), "overlapping_stays")
        self.used[self.col("person")[base]] = True

        # settlements after the death date
        self.used[victims] = True
        dead = self.persons["dead_day"].to_numpy()[victims]
        k = rng.integers(2, 6, len(victims))
        person = np.repeat(victims, k)
        day = np.repeat(dead, k) + rng.integers(3, 120, len(person))
        keep = day < self.days
        person, day = person[keep], day[keep]
        cond = self.persons["condition"].to_numpy()[person]
        inst = self.usual[TIER_PHARMACY][person]
        rows = self.add(
            make_visits(
                person=person,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="41",
                dise=np.where(
                    cond >= 0,
                    np.array(["I10.x00", "E11.900", "I25.100", "J44.900", "N18.500", "C34.900"])[
                        np.maximum(cond, 0)
                    ],
                    "I10.x00",
                ),
                cat=PHARMACY,
                kind=CHRONIC_BASKET + np.where(cond >= 0, cond, CONDITION_INDEX["hypertension"]),
                begin=day,
                los=1,
                sec=rng.integers(9 * 3600, 20 * 3600, len(person)),
                prd=28,
                cert="03",
            )
        )
        self.record("visit", rows, "after_death")
        self.record("person", np.unique(person), "after_death")

        # a break with the person's own history: a new region, suddenly frequent care
        home = self.persons["district"].to_numpy()
        who = self.take_persons(n, alive & (age >= 25) & (age <= 75) & (home < URBAN))
        far = self._far_inst(self.usual[TIER_CLINIC][who], tiers=(TIER_CLINIC, TIER_SECONDARY))
        start = self.days - rng.integers(60, 120, len(who))
        k = rng.integers(6, 22, len(who))
        person = np.repeat(who, k)
        step = np.arange(len(person)) - np.repeat(np.cumsum(k) - k, k)
        day = np.minimum(
            np.repeat(start, k) + step * np.repeat(np.maximum((self.days - start) // k, 2), k),
            self.days - 1,
        )
        kinds = np.array(
            [VISIT_KIND_INDEX[x] for x in ("gastritis", "back_pain", "uri", "checkup_op")]
        )
        kind = kinds[rng.integers(0, len(kinds), len(person))]
        inst = np.repeat(far, k)
        self.add(
            make_visits(
                person=person,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="11",
                dise=np.array([v.code for v in VISIT_KINDS])[kind],
                cat=OUTPATIENT,
                kind=kind,
                begin=day,
                los=1,
                sec=rng.integers(8 * 3600, 17 * 3600, len(person)),
                cert="03",
            )
        )
        self.record("person", who, "history_break")

        # card collection: many persons' cards settled in a burst at one pharmacy
        for inst_row in self.actors.collectors:
            size = int(rng.integers(6, 26))
            who = self.take_persons(size, alive & (age >= 30))
            burst_day = int(rng.integers(0, self.days))
            burst_start = int(rng.integers(9 * 3600, 15 * 3600))
            spread = int(rng.integers(1200, 7200))
            rows = self.add(
                make_visits(
                    person=who,
                    inst=inst_row,
                    doctor=self.region.random_doctor(np.full(len(who), inst_row), rng),
                    med_type="41",
                    dise="I25.100",
                    cat=PHARMACY,
                    kind=CHRONIC_BASKET + CONDITION_INDEX["coronary"],
                    begin=burst_day,
                    los=1,
                    sec=burst_start + np.sort(rng.integers(0, spread, len(who))),
                    prd=28,
                    cert="03",
                )
            )
            self.record("visit", rows, "card_collection_burst")
            self.record("person", who, "card_collection_burst")

    def _any_inst(self, tiers: np.ndarray) -> np.ndarray:
        out = np.empty(len(tiers), dtype=np.int64)
        for t in np.unique(tiers):
            rows = self.region.of_tier(int(t))
            sel = tiers == t
            out[sel] = rows[self.rng.integers(0, len(rows), sel.sum())]
        return out

    def _far_inst(
        self, inst: np.ndarray, tiers: tuple[int, ...] = (TIER_CLINIC, TIER_PHARMACY)
    ) -> np.ndarray:
        """An institution over 90 km from each given one (the farthest if none is)."""
        lat = self.region.institutions["lat"].to_numpy()
        lon = self.region.institutions["lon"].to_numpy()
        candidates = np.flatnonzero(np.isin(self.tiers, tiers))
        km = distance_km(lat[inst][:, None], lon[inst][:, None], lat[candidates], lon[candidates])
        far = km > 90
        far[np.arange(len(inst)), np.argmax(km, axis=1)] = True
        score = np.where(far, self.rng.random(far.shape), -1.0)
        return candidates[np.argmax(score, axis=1)]

    # -- over-prescription ---------------------------------------------------------------
    def over_prescription(self) -> None:
        cfg, rng = self.config, self.rng
        cat, inst, kind = self.col("cat"), self.col("inst"), self.col("kind")
        prescriber_inst = self.region.doctors["inst"].to_numpy()[self.actors.over_limit]
        sure_drug = np.array([VISIT_KIND_INDEX[k] for k in ("gastritis", "insomnia", "uti")])
        drug_visit = (cat == CHRONIC) | ((cat == OUTPATIENT) & np.isin(kind, sure_drug))
        drug_visit &= ~np.isin(kind, [CONDITION_INDEX["renal"], CONDITION_INDEX["lung_cancer"]]) | (
            cat != CHRONIC
        )
        n = self.n(cfg.over_prescription_rate * 0.5, len(self.persons))
        each = max(1, -(-n // max(len(self.actors.over_limit), 1)))
        for variant in ("days_supply_over_limit", "daily_count_over_limit"):
            # every over-limit prescriber writes some of them
            for doctor, at in zip(self.actors.over_limit, prescriber_inst, strict=True):
                rows = self.pick(drug_visit & (self.col("inst")[: len(drug_visit)] == at), each)
                if not len(rows):
                    continue
                self.set(rows, doctor=doctor)
                chronic = self.col("cat")[rows] == CHRONIC
                if variant == "days_supply_over_limit":
                    longer = np.where(
                        chronic, rng.integers(100, 181, len(rows)), rng.integers(15, 31, len(rows))
                    )
                    self.set(rows, prd=longer)
                else:
                    self.set(rows, daily_mult=rng.uniform(3.5, 5.0, len(rows)))
                self.record("visit", rows, variant)

        age = self.persons["age"].to_numpy()
        alive = self.persons["dead_day"].to_numpy() < 0
        m = _count(cfg.over_prescription_rate, len(self.persons), cfg)
        # doctor shopping: a week of sedatives every few days, rotating institutions
        who = self.take_persons(m, alive & (age >= 25) & (age <= 80))
        k = rng.integers(10, 25, len(who))
        person = np.repeat(who, k)
        step = np.arange(len(person)) - np.repeat(np.cumsum(k) - k, k)
        start = np.repeat(rng.integers(0, max(1, self.days - 80), len(who)), k)
        # a week's supply every 2-6 days: 1.2 to 3.5 times the days elapsed
        gap = np.repeat(rng.integers(2, 7, len(who)), k)
        day = np.minimum(start + step * gap, self.days - 1)
        places = np.stack(
            [self.usual[TIER_CLINIC], self.usual[TIER_SECONDARY], self.usual[TIER_TERTIARY]], axis=1
        )[person]
        inst = places[np.arange(len(person)), step % 3]
        insomnia = VISIT_KIND_INDEX["insomnia"]
        self.add(
            make_visits(
                person=person,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="11",
                dise=VISIT_KINDS[insomnia].code,
                cat=OUTPATIENT,
                kind=insomnia,
                begin=day,
                los=1,
                sec=rng.integers(8 * 3600, 17 * 3600, len(person)),
                prd=7,
                cert="01",
            )
        )
        self.record("person", who, "doctor_shopping")

        # early refills: a chronic prescription renewed when 30-80 % of it is used
        chronic_person = np.zeros(len(self.persons), dtype=bool)
        cat = self.col("cat")
        chronic_rows = np.flatnonzero(
            (cat == CHRONIC) & ~self.touched[: len(cat)] & (self.col("prd") >= 28)
        )
        chronic_person[self.col("person")[chronic_rows]] = True
        who = self.take_persons(m, chronic_person & alive)
        base = chronic_rows[np.isin(self.col("person")[chronic_rows], who)]
        refills = self.rows(base)
        refills["begin"] = refills["begin"].to_numpy() + (
            refills["prd"].to_numpy() * rng.uniform(0.3, 0.8, len(base))
        ).astype(np.int64)
        refills = refills[refills["begin"] < self.days]
        self.add(refills.reset_index(drop=True))
        self.record("person", who, "early_refill")

        # high-value drugs far above peers: most of the doctor's patients get one
        hv = item_ids(*HIGH_VALUE_DRUGS)
        doctor_inst = self.region.doctors["inst"].to_numpy()
        for doctor in self.actors.high_value:
            cared = np.isin(self.col("cat"), [STAY, OUTPATIENT]) & ~self.touched
            mine = cared & (self.col("doctor") == doctor)
            rows = np.flatnonzero(mine & (rng.random(len(mine)) < 0.6))
            if len(rows) < cfg.min_per_variant:
                # a quiet doctor in a small world: give them some of their colleagues' patients
                colleagues = cared & ~mine & (self.col("inst") == doctor_inst[doctor])
                moved = self.pick(colleagues, cfg.min_per_variant - len(rows))
                self.set(moved, doctor=doctor)
                rows = np.r_[rows, moved]
            self.set(rows, hv_item=hv[rng.integers(0, len(hv), len(rows))])

    # -- honest look-alikes --------------------------------------------------------------
    def lookalikes(self, dying: np.ndarray) -> None:
        cfg, rng = self.config, self.rng
        n = _count(cfg.lookalike_rate, len(self.persons), cfg)
        cat = self.col("cat")
        stays = (cat == STAY) & (self.col("begin") + self.col("los") < self.days - 30)
        groups = self.col("kind")
        # readmission within 15 days after an emergency, for another diagnosis
        rows = self.base_stays(stays & (groups != STAY_GROUP_INDEX["coronary"]), n)
        gap = rng.integers(2, 12, len(rows))
        new = self._readmit(
            rows,
            gap,
            np.array(["I21.900"] * len(rows), dtype=object),
            split=False,
            group=np.full(len(rows), STAY_GROUP_INDEX["coronary"]),
        )
        em = self.rows(new)
        self.add(
            make_visits(
                person=em["person"].to_numpy(),
                inst=em["inst"].to_numpy(),
                doctor=self.region.random_doctor(em["inst"].to_numpy(), rng),
                med_type="13",
                dise="I20.000",
                cat=OUTPATIENT,
                kind=VISIT_KIND_INDEX["angina_em"],
                begin=em["begin"].to_numpy(),
                los=1,
                sec=rng.integers(0, 8 * 3600, len(em)),
                cert="02",
            )
        )
        self.record("visit", new, "emergency_readmission", fraud=False)
        # readmission within 15 days for a diagnosis of another chapter
        stays = (self.col("cat") == STAY) & (self.col("begin") + self.col("los") < self.days - 30)
        groups = self.col("kind")
        rows = self.base_stays(stays & (groups != STAY_GROUP_INDEX["hip_fracture"]), n)
        new = self._readmit(
            rows,
            rng.integers(3, 15, len(rows)),
            np.array(["S72.000"] * len(rows), dtype=object),
            split=False,
            group=np.full(len(rows), STAY_GROUP_INDEX["hip_fracture"]),
        )
        self.record("visit", new, "readmission_other_diagnosis", fraud=False)

        # two departments, two diagnoses, one day
        cat = self.col("cat")
        op = (
            (cat == OUTPATIENT)
            & (self.col("med_type") == CODE_ID["11"])
            & np.isin(self.tiers[self.col("inst")], [TIER_SECONDARY, TIER_TERTIARY])
        )
        rows = self.pick(op, n)
        second = self.rows(rows)
        kinds = np.array([VISIT_KIND_INDEX[k] for k in ("back_pain", "gastritis", "checkup_op")])
        kind = np.where(second["kind"].to_numpy() == kinds[0], kinds[1], kinds[0])
        second["kind"] = kind
        second["dise"] = code_ids(np.array([v.code for v in VISIT_KINDS])[kind])
        second["doctor"] = self.region.random_doctor(second["inst"].to_numpy(), rng)
        second["sec"] = np.minimum(
            second["sec"].to_numpy() + rng.integers(1800, 7200, len(rows)), 86_000
        )
        self.record(
            "visit",
            self.add(second.reset_index(drop=True)),
            "two_departments_same_day",
            fraud=False,
        )

        # a legitimately long stay for a serious diagnosis
        age = self.persons["age"].to_numpy()
        alive = self.persons["dead_day"].to_numpy() < 0
        who = self.take_persons(n, alive & (age >= 50))
        group = np.full(len(who), STAY_GROUP_INDEX["haemorrhage"])
        los = rng.integers(28, 46, len(who))
        frame = new_stays(
            who,
            group,
            self.usual,
            self.region,
            cfg,
            rng,
            los=los,
            begin=rng.integers(0, self.days - 50, len(who)),
        )
        self.record("visit", self.add(frame), "long_serious_stay", fraud=False)

        # a relative buys the patient's regular medicine while the patient is in hospital
        chronic = self.persons["condition"].to_numpy() >= 0
        who = self.take_persons(n, alive & chronic & (age >= 40))
        group = np.full(len(who), STAY_GROUP_INDEX["pneumonia"])
        frame = new_stays(
            who,
            group,
            self.usual,
            self.region,
            cfg,
            rng,
            los=rng.integers(7, 13, len(who)),
            begin=rng.integers(0, self.days - 20, len(who)),
        )
        rows = self.add(frame)
        person = self.col("person")[rows]
        cond = self.persons["condition"].to_numpy()[person]
        inst = self.usual[TIER_PHARMACY][person]
        self.add(
            make_visits(
                person=person,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="41",
                dise=np.array(["I10.x00", "E11.900", "I25.100", "J44.900", "N18.500", "C34.900"])[
                    cond
                ],
                cat=PHARMACY,
                kind=CHRONIC_BASKET + cond,
                begin=self.col("begin")[rows] + rng.integers(1, self.col("los")[rows] - 1),
                los=1,
                sec=rng.integers(9 * 3600, 20 * 3600, len(rows)),
                prd=28,
                cert="01",
            )
        )
        self.record("visit", np.sort(rows), "family_purchase_during_stay", fraud=False)

        # a long prescription for a stable chronic patient (medically fine, above 7 days)
        cat = self.col("cat")
        rows = self.pick((cat == CHRONIC) & (self.col("prd") >= 56), n)
        self.record("visit", np.sort(rows), "long_chronic_prescription", fraud=False)

        # a hospital visit, then the pharmacy next door within the hour
        person, cat = self.col("person"), self.col("cat")
        one = np.flatnonzero(
            (cat == OUTPATIENT)
            & ~self.touched[: len(cat)]
            & (self.col("med_type") == CODE_ID["11"])
        )
        first = pd.Series(one).groupby(person[one]).first()
        mask = np.zeros(len(self.persons), dtype=bool)
        mask[first.index.to_numpy()] = True
        who = self.take_persons(n, mask & alive)
        base = first.loc[who].to_numpy()
        inst = self._nearest_pharmacy(self.col("inst")[base])
        self.add(
            make_visits(
                person=who,
                inst=inst,
                doctor=self.region.random_doctor(inst, rng),
                med_type="41",
                dise="J06.900",
                cat=PHARMACY,
                kind=0,
                begin=self.col("begin")[base],
                los=1,
                sec=np.minimum(self.col("sec")[base] + rng.integers(1200, 3000, len(who)), 86_000),
                prd=5,
                cert="01",
            )
        )
        self.record("person", who, "nearby_within_hour", fraud=False)

        # death in hospital, the bill settled by the family a few days later
        self.used[dying] = True
        dead_day = self.persons["dead_day"].to_numpy()
        person, cat = self.col("person"), self.col("cat")
        last = self.col("begin") + self.col("los") - 1
        final = np.flatnonzero((cat == STAY) & np.isin(person, dying) & (last == dead_day[person]))
        self.set(final, settle_delay=rng.integers(1, 4, len(final)))
        rest = np.setdiff1d(dying, person[final])
        dead = dead_day[rest]
        group = np.full(len(rest), STAY_GROUP_INDEX["stroke"])
        los = np.minimum(rng.integers(5, 15, len(rest)), dead + 1)
        frame = new_stays(
            rest, group, self.usual, self.region, cfg, rng, begin=dead - los + 1, los=los
        )
        frame["settle_delay"] = rng.integers(1, 4, len(rest))
        self.add(frame)
        self.record("person", dying, "settled_after_in_hospital_death", fraud=False)

    def _nearest_pharmacy(self, inst: np.ndarray) -> np.ndarray:
        lat = self.region.institutions["lat"].to_numpy()
        lon = self.region.institutions["lon"].to_numpy()
        pharmacies = self.region.of_tier(TIER_PHARMACY)
        d = (lat[inst][:, None] - lat[pharmacies][None, :]) ** 2 + (
            (lon[inst][:, None] - lon[pharmacies][None, :]) * 0.87
        ) ** 2
        return pharmacies[np.argmin(d, axis=1)]

    # -- final ---------------------------------------------------------------------------
    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The visits, without honest visits inside injected stays; the truth rows."""
        v = pd.DataFrame(self.data)
        v = v.assign(los=np.maximum(np.minimum(v["los"], self.days - v["begin"]), 1))
        stays = v[(v["cat"] == STAY) & v["injected"]]
        inside = overlaps(v, stays) & ~v["injected"].to_numpy()
        truth = pd.concat(self.truth, ignore_index=True) if self.truth else pd.DataFrame()
        keep = np.flatnonzero(~inside)
        renumber = np.full(len(v), -1)
        renumber[keep] = np.arange(len(keep))
        visit_rows = truth["subject_type"] == "visit"
        truth.loc[visit_rows, "subject"] = renumber[truth.loc[visit_rows, "subject"].to_numpy()]
        return v.iloc[keep].reset_index(drop=True), truth


def _with_capacity(values: np.ndarray, capacity: int) -> np.ndarray:
    """``values`` copied into the start of a new array of ``capacity`` rows."""
    out = np.zeros(capacity, dtype=values.dtype)
    out[: len(values)] = values
    return out


def distance_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in kilometres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def overlaps(visits: pd.DataFrame, stays: pd.DataFrame) -> np.ndarray:
    """Whether each visit (a day, or a stay's days) overlaps one of its person's ``stays``."""
    if visits.empty or stays.empty:
        return np.zeros(len(visits), dtype=bool)
    begin = visits["begin"].to_numpy()
    end = begin + visits["los"].to_numpy() - 1
    left = pd.DataFrame(
        {
            "person": visits["person"].to_numpy(),
            "day": begin,
            "end": end,
            "row": np.arange(len(visits)),
        }
    ).sort_values("day", kind="stable")
    right = pd.DataFrame(
        {
            "person": stays["person"].to_numpy(),
            "day": stays["begin"].to_numpy(),
            "stay_end": (stays["begin"] + stays["los"] - 1).to_numpy(),
            "stay_begin": stays["begin"].to_numpy(),
        }
    ).sort_values("day", kind="stable")
    out = np.zeros(len(visits), dtype=bool)
    # the stay that began last on or before the visit's first day: does it reach it?
    back = pd.merge_asof(left, right, on="day", by="person", direction="backward")
    hit = (back["stay_end"] >= back["day"]).fillna(False).to_numpy(dtype=bool)
    out[back["row"].to_numpy()] |= hit
    # the first stay that begins on or after the visit's first day: does it begin before the end?
    ahead = pd.merge_asof(left, right, on="day", by="person", direction="forward")
    hit = (ahead["stay_begin"] <= ahead["end"]).fillna(False).to_numpy(dtype=bool)
    out[ahead["row"].to_numpy()] |= hit
    return out


def inject(
    visits: pd.DataFrame,
    persons: pd.DataFrame,
    usual: dict[int, np.ndarray],
    region: Region,
    actors: Actors,
    victims: np.ndarray,
    dying: np.ndarray,
    config: WorldConfig,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Honest visits of a chunk with fraud and look-alikes injected, and their truth.

    Truth subjects are visit rows of the returned frame, person rows of the chunk, and
    institution and doctor rows of the region.
    """
    job = Injection(visits, persons, usual, region, actors, config, rng)
    job.bed_hanging()
    job.split_billing()
    job.card_lending(victims)
    job.over_prescription()
    job.lookalikes(dying)
    return job.finish()

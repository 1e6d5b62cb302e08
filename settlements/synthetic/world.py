"""The region: districts, designated institutions, their doctors, and the insured persons.

Institutions and persons are held as frames of internal integer keys plus the contract
columns; visits and fee lines refer to them by row number until the final assembly turns
numbers into the contract's string codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from stdnum.cn import ric, uscc

from settlements.synthetic.catalog import CONDITIONS
from settlements.synthetic.config import WorldConfig


@dataclass(frozen=True)
class District:
    code: str
    name: str
    lat: float
    lon: float
    weight: float


DISTRICTS: tuple[District, ...] = (
    District("330102", "上城区", 30.242, 120.171, 1.3),
    District("330105", "拱墅区", 30.319, 120.142, 1.2),
    District("330106", "西湖区", 30.259, 120.130, 1.2),
    District("330108", "滨江区", 30.208, 120.212, 0.6),
    District("330109", "萧山区", 30.185, 120.264, 1.6),
    District("330110", "余杭区", 30.421, 120.300, 1.3),
    District("330111", "富阳区", 30.049, 119.960, 0.8),
    District("330112", "临安区", 30.234, 119.725, 0.6),
    District("330122", "桐庐县", 29.797, 119.691, 0.45),
    District("330127", "淳安县", 29.609, 119.042, 0.45),
    District("330182", "建德市", 29.475, 119.281, 0.45),
)
URBAN = 6
"""The first six districts are the city proper; the rest are outlying (40–130 km away)."""
CITY = "杭州市"
STREETS = (
    "湖滨",
    "清波",
    "小营",
    "望江",
    "米市巷",
    "和睦",
    "北山",
    "翠苑",
    "浦沿",
    "长河",
    "城厢",
    "北干",
    "临平",
    "五常",
    "富春",
    "锦城",
    "城南",
    "千岛湖",
    "新安江",
    "洋溪",
)
PHARMACY_BRANDS = ("华东", "九洲", "老百姓", "益丰", "海王星辰", "张同泰", "方回春堂")

TIER_CLINIC, TIER_SECONDARY, TIER_TERTIARY, TIER_PHARMACY = 1, 2, 3, 0
HOSP_LV = {TIER_TERTIARY: ("02", "03"), TIER_SECONDARY: ("05", "06"), TIER_CLINIC: ("08", "09")}
"""Hospital level in the national coding: 02/03 tertiary grade A/B, 05/06 secondary A/B,
08/09 primary A/B (community health centres). Pharmacies have none."""
DOCTORS_PER_TIER = {TIER_TERTIARY: 30, TIER_SECONDARY: 15, TIER_CLINIC: 4, TIER_PHARMACY: 2}


@dataclass(frozen=True)
class Region:
    """Institutions and doctors: fixed for the world, shared by every chunk of persons."""

    institutions: pd.DataFrame
    """Contract columns plus ``tier``, ``district`` (row of DISTRICTS)."""
    doctors: pd.DataFrame
    """``code``, ``inst`` (institution row), ``oncologist`` (bool)."""
    doctor_start: np.ndarray
    """First doctor row of each institution (doctors are sorted by institution)."""
    doctor_count: np.ndarray

    def random_doctor(self, inst: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A doctor of each given institution, uniformly."""
        count = self.doctor_count[inst]
        return (self.doctor_start[inst] + (rng.random(len(inst)) * count).astype(np.int64)).astype(
            np.int64
        )

    def of_tier(self, tier: int) -> np.ndarray:
        return np.flatnonzero(self.institutions["tier"].to_numpy() == tier)


def _org_code(rng: np.random.Generator) -> str:
    """A national organisation code (GB 11714): eight digits and a check character."""
    body = [int(d) for d in rng.integers(0, 10, 8)]
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(b * w for b, w in zip(body, weights, strict=True)) % 11
    return "".join(map(str, body)) + {10: "X", 11: "0"}.get(check, str(check))


def _uscc(prefix: str, admdvs: str, rng: np.random.Generator) -> str:
    body = prefix + admdvs + _org_code(rng)
    return body + uscc.calc_check_digit(body)


def build_region(persons: int, config: WorldConfig, rng: np.random.Generator) -> Region:
    """Institutions of every level and their doctors, sized for ``persons`` insured persons."""
    counts = {
        TIER_TERTIARY: max(3, round(persons / config.persons_per_tertiary)),
        TIER_SECONDARY: max(5, round(persons / config.persons_per_secondary)),
        TIER_CLINIC: max(len(DISTRICTS), round(persons / config.persons_per_clinic)),
        TIER_PHARMACY: max(len(DISTRICTS), round(persons / config.persons_per_pharmacy)),
    }
    weights = np.array([d.weight for d in DISTRICTS])
    rows: list[dict[str, object]] = []
    serial = 0
    for tier, n in counts.items():
        if tier == TIER_TERTIARY:
            pool = np.arange(URBAN)
            district = pool[np.arange(n) % URBAN]
        else:
            # every district gets one before any gets a second
            extra = rng.choice(
                len(DISTRICTS), max(0, n - len(DISTRICTS)), p=weights / weights.sum()
            )
            district = np.concatenate([np.arange(min(n, len(DISTRICTS))), extra])
        for k, d in enumerate(district):
            serial += 1
            dist = DISTRICTS[int(d)]
            if tier == TIER_TERTIARY:
                name = f"{CITY}第{k + 1}人民医院" if k % 3 else f"浙江省{CITY}{dist.name}医院"
            elif tier == TIER_SECONDARY:
                name = f"{CITY}{dist.name}第{k // len(DISTRICTS) + 1}人民医院"
            elif tier == TIER_CLINIC:
                street = STREETS[(k * 7 + int(d)) % len(STREETS)]
                name = f"{CITY}{dist.name}{street}街道社区卫生服务中心"
            else:
                brand = PHARMACY_BRANDS[k % len(PHARMACY_BRANDS)]
                name = f"{CITY}{brand}大药房{dist.name}{k + 1}号店"
            kind = "P" if tier == TIER_PHARMACY else "H"
            rows.append(
                {
                    "fixmedins_code": f"{kind}{dist.code}{serial:05d}",
                    "fixmedins_name": name,
                    "fixmedins_type": "2" if tier == TIER_PHARMACY else "1",
                    "hosp_lv": None
                    if tier == TIER_PHARMACY
                    else HOSP_LV[tier][int(rng.random() < 0.3)],
                    "admdvs": dist.code,
                    "uscc": _uscc("91" if tier == TIER_PHARMACY else "12", dist.code, rng),
                    "lat": round(dist.lat + rng.normal(0, 0.03), 5),
                    "lon": round(dist.lon + rng.normal(0, 0.03), 5),
                    "tier": tier,
                    "district": int(d),
                }
            )
    institutions = pd.DataFrame(rows)
    for col in ("fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "admdvs", "uscc"):
        institutions[col] = institutions[col].astype("str")
    institutions["aprv_bed_cnt"] = np.nan

    per_inst = np.array([DOCTORS_PER_TIER[t] for t in institutions["tier"]])
    inst_of_doctor = np.repeat(np.arange(len(institutions)), per_inst)
    start = np.concatenate([[0], np.cumsum(per_inst)[:-1]])
    district_code = institutions["admdvs"].to_numpy()[inst_of_doctor]
    doctor_codes = [f"D{c}{i + 1:05d}" for i, c in enumerate(district_code)]
    tiers = institutions["tier"].to_numpy()
    oncologist = (np.arange(len(inst_of_doctor)) == start[inst_of_doctor]) & (
        tiers[inst_of_doctor] == TIER_TERTIARY
    )
    doctors = pd.DataFrame(
        {
            "code": pd.array(doctor_codes, dtype="str"),
            "inst": inst_of_doctor,
            "oncologist": oncologist,
        }
    )
    return Region(institutions, doctors, start, per_inst)


AGE_BANDS = ((0, 15, 0.16), (15, 40, 0.32), (40, 60, 0.29), (60, 80, 0.19), (80, 96, 0.04))


def build_persons(
    first: int, count: int, config: WorldConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Insured persons ``first`` .. ``first + count - 1`` with their internal attributes.

    Columns: the contract's persons columns plus ``age`` (years at the period start),
    ``district``, ``condition`` (row of CONDITIONS or -1), ``stable`` (a stable chronic
    patient who gets long prescriptions), ``dead_day`` (day of the period, or -1).
    """
    start = np.datetime64(config.start_date, "D")
    band = rng.choice(len(AGE_BANDS), count, p=[b[2] for b in AGE_BANDS])
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age_days = (rng.uniform(lo, hi) * 365.25).astype(np.int64)
    brdy = start - age_days.astype("timedelta64[D]")
    age = age_days / 365.25
    male = rng.random(count) < 0.5
    weights = np.array([d.weight for d in DISTRICTS])
    district = rng.choice(len(DISTRICTS), count, p=weights / weights.sum())
    employee = np.where(
        (age >= 22) & (age < 60), rng.random(count) < 0.62, (age >= 60) & (rng.random(count) < 0.4)
    )
    chronic_p = np.select([age < 40, age < 60], [0.03, 0.18], config.chronic_share_elderly)
    has_condition = rng.random(count) < chronic_p
    cond_w = np.array([c.weight for c in CONDITIONS])
    condition = np.where(
        has_condition, rng.choice(len(CONDITIONS), count, p=cond_w / cond_w.sum()), -1
    )
    long_ok = np.array([c.long_supply for c in CONDITIONS])
    stable = (
        (condition >= 0)
        & long_ok[np.maximum(condition, 0)]
        & (rng.random(count) < config.stable_long_prescription_share)
    )
    death_p = config.death_rate * np.clip(np.exp((age - 72) / 9), 0.02, 12) * config.days / 365
    dead = rng.random(count) < np.minimum(death_p, 0.5)
    dead_day = np.where(dead, rng.integers(20, config.days, count), -1)
    codes = np.array([d.code for d in DISTRICTS])
    ids = np.arange(first, first + count)
    psn_no = pd.Series(codes[district]).str.cat(pd.Series(ids).map("{:010d}".format))
    frame = pd.DataFrame(
        {
            "psn_no": psn_no.astype("str"),
            "gend": pd.array(np.where(male, "1", "2"), dtype="str"),
            "brdy": brdy.astype("datetime64[ns]"),
            "insutype": pd.array(np.where(employee, "310", "390"), dtype="str"),
            "insuplc_admdvs": pd.array(codes[district], dtype="str"),
            "dead_date": pd.Series(start + np.maximum(dead_day, 0).astype("timedelta64[D]"))
            .astype("datetime64[ns]")
            .where(dead_day >= 0),
            "age": age,
            "district": district,
            "condition": condition,
            "stable": stable,
            "dead_day": dead_day,
        }
    )
    if config.with_certno:
        frame.insert(5, "certno", _certno(brdy, male, district, ids, config))
    return frame


def _certno(
    brdy: np.ndarray, male: np.ndarray, district: np.ndarray, ids: np.ndarray, config: WorldConfig
) -> pd.Series:
    """Synthetic resident ID numbers: valid birth place for the birth year, date, sex, check."""
    years = brdy.astype("datetime64[Y]").astype(int) + 1970
    valid = _birthplace_table(int(years.min()), int(years.max()))
    codes = np.array([d.code for d in DISTRICTS])
    ok = valid[district, years - years.min()]
    place = np.where(ok, codes[district], "330100")
    date = pd.Series(brdy).dt.strftime("%Y%m%d").to_numpy()
    seq = (ids % 499) * 2 + np.where(male, 1, 2)
    body = (
        pd.Series(place, dtype="str")
        + pd.Series(date, dtype="str")
        + pd.Series(seq).map("{:03d}".format).astype("str")
    )
    raw = "".join(body.tolist()).encode("ascii")
    digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-1, 17) - ord("0")).astype(np.int64)
    weights = np.array([pow(2, 17 - i, 11) for i in range(17)])
    check = (12 - (digits @ weights) % 11) % 11
    check_char = np.where(check == 10, "X", check.astype(str))
    return (body + pd.Series(check_char, dtype="str")).astype("str")


def _birthplace_table(first_year: int, last_year: int) -> np.ndarray:
    """Whether each district's code was a valid birth place in each year (stdnum's registry)."""
    table = np.zeros((len(DISTRICTS), last_year - first_year + 1), dtype=bool)
    for i, d in enumerate(DISTRICTS):
        for j, year in enumerate(range(first_year, last_year + 1)):
            body = f"{d.code}{year}0101001"
            table[i, j] = ric.is_valid(body + ric.calc_check_digit(body + "0"))
    return table


def day_to_date(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Days of the period as datetime64[ns] dates."""
    return (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("datetime64[ns]")

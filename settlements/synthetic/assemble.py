"""From internal visits and lines to the contract's settlements and fee_details.

Settlements: one per one-day visit; one per stay, or one per 30 days for longer stays
(interim settlements of one ``mdtrt_id``). Amounts follow the lines: ``medfee_sumamt`` is
the sum of the lines; the pooled fund pays its share after the deductible (capped per
visit for general outpatient care), serious-illness insurance tops up big bills, the
personal account of employees pays part of the rest and cash the remainder, so that
``medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay`` to the fen. A few honest
settlements are refunded: a second settlement of the same visit with
``refd_setl_flag = "1"`` and every amount and line negated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from settlements.synthetic.care import CODE_ID, CODES, PHARMACY, STAY
from settlements.synthetic.catalog import ITEMS, item_arrays
from settlements.synthetic.config import WorldConfig
from settlements.synthetic.world import (
    TIER_CLINIC,
    TIER_PHARMACY,
    TIER_SECONDARY,
    TIER_TERTIARY,
    Region,
)

INTERIM_DAYS = 30
PRICE_FACTOR = {TIER_TERTIARY: 1.0, TIER_SECONDARY: 0.92, TIER_CLINIC: 0.85, TIER_PHARMACY: 1.05}
DEDUCTIBLE = {TIER_TERTIARY: 800.0, TIER_SECONDARY: 500.0, TIER_CLINIC: 300.0, TIER_PHARMACY: 0.0}


def settle(
    visits: pd.DataFrame,
    lines: pd.DataFrame,
    insutype: np.ndarray,
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Settlements (internal: ``visit``, ``part``, days, amounts) and priced lines with ``setl``.

    ``insutype`` is the insurance type of each visit's person.
    """
    tiers = region.institutions["tier"].to_numpy()
    lvisit = lines["visit"].to_numpy()
    part = np.where(
        visits["cat"].to_numpy()[lvisit] == STAY, lines["day"].to_numpy() // INTERIM_DAYS, 0
    )
    key = lvisit * 8 + part
    uniq, setl = np.unique(key, return_inverse=True)
    s_visit, s_part = uniq // 8, uniq % 8
    # every visit settles, even one whose lines were all stripped (none are, by construction)
    price = item_arrays()["price"][lines["item"].to_numpy()]
    factor = np.vectorize(PRICE_FACTOR.get)(tiers)
    pric = np.round(price * factor[visits["inst"].to_numpy()[lvisit]], 4)
    cnt = lines["cnt"].to_numpy()
    total = np.round(cnt * pric, 2)
    priced = lines.assign(setl=setl, pric=pric, total=total)

    v = visits.iloc[s_visit]
    begin = v["begin"].to_numpy() + s_part * INTERIM_DAYS
    last = v["begin"].to_numpy() + v["los"].to_numpy() - 1
    end = np.minimum(begin + INTERIM_DAYS - 1, last)
    medfee = np.round(np.bincount(setl, weights=total, minlength=len(uniq)), 2)
    tier = tiers[v["inst"].to_numpy()]
    med_type = v["med_type"].to_numpy()
    employee = insutype[s_visit] == "310"
    stay = v["cat"].to_numpy() == STAY
    eligible = medfee * 0.92
    ded = np.where(stay & (s_part == 0), np.vectorize(DEDUCTIBLE.get)(tier), 0.0)
    ratio = np.select(
        [
            stay & employee,
            stay,
            med_type == CODE_ID["41"],
            med_type == CODE_ID["14"],
            employee,
        ],
        [
            np.select([tier == TIER_TERTIARY, tier == TIER_SECONDARY], [0.85, 0.88], 0.9),
            np.select([tier == TIER_TERTIARY, tier == TIER_SECONDARY], [0.65, 0.75], 0.85),
            0.0,
            np.where(employee, 0.8, 0.7),
            0.6,
        ],
        0.5,
    )
    hifp = np.maximum(eligible - ded, 0) * ratio
    hifp = np.where(med_type == CODE_ID["11"], np.minimum(hifp, config.outpatient_fund_cap), hifp)
    hifp = np.round(hifp, 2)
    big = np.where(stay, np.maximum(eligible - ded - hifp - 15_000, 0) * 0.6, 0.0)
    fund = np.round(hifp + big, 2)
    rest = medfee - fund
    acct_share = np.where(employee, np.where(stay, 0.2, rng.uniform(0.3, 1.0, len(uniq))), 0.0)
    acct = np.round(np.maximum(rest, 0) * acct_share, 2)
    cash = np.round(medfee - fund - acct, 2)
    sec = v["sec"].to_numpy()
    settle_day = end + np.where(stay & (end == last), v["settle_delay"].to_numpy(), 0)
    settle_sec = np.where(
        stay,
        np.where(end == last, sec, 17 * 3600 + (sec % 3600)),
        np.minimum(
            sec
            + np.where(
                v["cat"].to_numpy() == PHARMACY,
                rng.integers(30, 240, len(uniq)),
                rng.integers(900, 1800, len(uniq)),
            ),
            86_399,
        ),
    )
    settlements = pd.DataFrame(
        {
            "visit": s_visit,
            "part": s_part,
            "begin": begin,
            "end": end,
            "settle_day": settle_day,
            "settle_sec": settle_sec,
            "medfee": medfee,
            "hifp": hifp,
            "fund": fund,
            "acct": acct,
            "cash": cash,
            "refund": False,
        }
    )
    return settlements, priced


def add_refunds(
    settlements: pd.DataFrame,
    lines: pd.DataFrame,
    visits: pd.DataFrame,
    honest: np.ndarray,
    config: WorldConfig,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refund a few honest one-day settlements: a negated copy settled later the same visit."""
    cat = visits["cat"].to_numpy()[settlements["visit"].to_numpy()]
    eligible = honest[settlements["visit"].to_numpy()] & (cat != STAY)
    chosen = np.flatnonzero(eligible & (rng.random(len(settlements)) < config.refund_rate))
    if not len(chosen):
        return settlements, lines
    refunds = settlements.iloc[chosen].copy()
    delay = rng.integers(600, 3 * 86_400, len(chosen))
    t = refunds["settle_day"].to_numpy() * 86_400 + refunds["settle_sec"].to_numpy() + delay
    refunds["settle_day"], refunds["settle_sec"] = t // 86_400, t % 86_400
    for col in ("medfee", "hifp", "fund", "acct", "cash"):
        refunds[col] = -refunds[col]
    refunds["refund"] = True
    new_ids = np.arange(len(settlements), len(settlements) + len(chosen))
    mapping = np.full(len(settlements), -1)
    mapping[chosen] = new_ids
    ref_lines = lines[np.isin(lines["setl"].to_numpy(), chosen)].copy()
    ref_lines["setl"] = mapping[ref_lines["setl"].to_numpy()]
    ref_lines["cnt"] = -ref_lines["cnt"]
    ref_lines["total"] = -ref_lines["total"]
    return (
        pd.concat([settlements, refunds], ignore_index=True),
        pd.concat([lines, ref_lines], ignore_index=True),
    )


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` followed by each number zero-padded to ``width`` digits (Arrow, fast)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def take(values: pa.Array | np.ndarray | list[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` for a small table of strings, without a Python loop."""
    table = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return table.take(pa.array(index, pa.int64()))


def text(values: pa.Array | np.ndarray) -> pd.Series:
    """A pandas ``str`` column from Arrow strings or a numpy array of strings."""
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.string())
    return pd.Series(pd.array(values, dtype="str"))


def to_contract(
    visits: pd.DataFrame,
    settlements: pd.DataFrame,
    lines: pd.DataFrame,
    person_codes: pd.Series,
    region: Region,
    config: WorldConfig,
    visit_offset: int,
    setl_offset: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contract's settlements and fee_details frames, codes as strings."""
    start = np.datetime64(config.start_date, "D").astype("datetime64[s]")
    day = np.timedelta64(86_400, "s")
    inst_codes = pa.array(region.institutions["fixmedins_code"].tolist(), pa.string())
    doctor_codes = pa.array(region.doctors["code"].tolist(), pa.string())
    s_visit = settlements["visit"].to_numpy()
    mdtrt = ids("M", s_visit + visit_offset, 11)
    setl_id = ids("S", np.arange(len(settlements)) + setl_offset, 11)
    refund = settlements["refund"].to_numpy()
    person = visits["person"].to_numpy()[s_visit]
    s_frame = pd.DataFrame(
        {
            "setl_id": text(setl_id),
            "mdtrt_id": text(mdtrt),
            "psn_no": text(take(pa.array(person_codes.tolist(), pa.string()), person)),
            "fixmedins_code": text(take(inst_codes, visits["inst"].to_numpy()[s_visit])),
            "med_type": text(take(CODES, visits["med_type"].to_numpy()[s_visit])),
            "begndate": (start + settlements["begin"].to_numpy() * day).astype("datetime64[ns]"),
            "enddate": (start + settlements["end"].to_numpy() * day).astype("datetime64[ns]"),
            "setl_time": (
                start
                + settlements["settle_day"].to_numpy() * day
                + settlements["settle_sec"].to_numpy().astype("timedelta64[s]")
            ).astype("datetime64[ns]"),
            "medfee_sumamt": settlements["medfee"].to_numpy(),
            "hifp_pay": settlements["hifp"].to_numpy(),
            "fund_pay_sumamt": settlements["fund"].to_numpy(),
            "acct_pay": settlements["acct"].to_numpy(),
            "psn_cash_pay": settlements["cash"].to_numpy(),
            "dise_codg": text(take(CODES, visits["dise"].to_numpy()[s_visit])),
            "atddr_no": text(take(doctor_codes, visits["doctor"].to_numpy()[s_visit])),
            "mdtrt_cert_type": text(take(CODES, visits["cert"].to_numpy()[s_visit])),
            "refd_setl_flag": text(take(["0", "1"], refund.astype(np.int64))),
        }
    )

    order = np.lexsort((lines["sec"].to_numpy(), lines["day"].to_numpy(), lines["setl"].to_numpy()))
    setl = lines["setl"].to_numpy()[order]
    counts = np.bincount(setl, minlength=len(settlements))
    serial = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    item = lines["item"].to_numpy()[order]
    arrays = item_arrays()
    l_visit = lines["visit"].to_numpy()[order]
    l_day = visits["begin"].to_numpy()[l_visit] + lines["day"].to_numpy()[order]
    l_sec = lines["sec"].to_numpy()[order].astype("timedelta64[s]")
    f_frame = pd.DataFrame(
        {
            "feedetl_sn": text(ids("", serial, 5)),
            "setl_id": text(take(setl_id, setl)),
            "mdtrt_id": text(take(mdtrt, setl)),
            "fee_ocur_time": (start + l_day * day + l_sec).astype("datetime64[ns]"),
            "hilist_code": text(take([i.code for i in ITEMS], item)),
            "hilist_name": text(take([i.name for i in ITEMS], item)),
            "list_type": text(take(arrays["list_type"].tolist(), item)),
            "med_chrgitm_type": text(take(arrays["charge_type"].tolist(), item)),
            "cnt": lines["cnt"].to_numpy()[order],
            "pric": lines["pric"].to_numpy()[order],
            "det_item_fee_sumamt": lines["total"].to_numpy()[order],
            "bilg_dr_codg": text(take(doctor_codes, lines["doctor"].to_numpy()[order])),
            "prd_days": lines["prd"].to_numpy()[order],
        }
    )
    return s_frame, f_frame

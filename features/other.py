"""Beyond the four (``other``): institutions that stand out from their peers in billing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import Signals, concat_evidence, evidence, num_text, robust_z
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.population import Population

P = Pattern.OTHER

MEASURES = {
    "ot_cost_per_visit_peer_z": ("cost per visit", "yuan"),
    "ot_visits_per_person_peer_z": ("visits per person", ""),
    "ot_high_cost_item_share_peer_z": ("share of the bill in high-cost items", ""),
    "ot_fund_share_peer_z": ("fund share of the bill", ""),
}


BILLING_COLUMNS = ("medfee", "visits", "persons", "fund", "line_amt", "high_cost_amt")
"""The columns of ``institution_billing``."""


def institution_billing(pop: Population) -> pd.DataFrame:
    """What the peer comparison of institutions reads, per institution: charged and fund
    amounts, visits, distinct persons, fee-line and high-cost item amounts (sums over the
    institution's visits, so a group of institutions gives its own rows exactly)."""
    visits = pop.visits
    inst = pop.institution_index
    g = visits.groupby("fixmedins_code")
    return pd.DataFrame(
        {
            "medfee": g["medfee"].sum().reindex(inst),
            "visits": g.size().reindex(inst).astype(float),
            "persons": g["psn_no"].nunique().reindex(inst).astype(float),
            "fund": g["fund"].sum().reindex(inst),
            "line_amt": g["aux_line_amt"].sum().reindex(inst),
            "high_cost_amt": g["aux_high_cost_amt"].sum().reindex(inst),
        },
        index=inst,
    )


def peer_outlier_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Robust z-scores of billing measures against institutions of the same type, level and
    region (median/MAD, log scale for amounts); an institution above ``peer_robust_z`` and
    the ``peer_percentile`` on any of them is a peer outlier."""
    groups = pop.institution_peer_group.reindex(pop.institution_index).fillna("?")
    return judge_billing(institution_billing(pop), groups, s)


def judge_billing(billing: pd.DataFrame, groups: pd.Series, s: FeatureSettings) -> Signals:
    """``peer_outlier_signals`` from every institution's ``institution_billing`` and peer
    group (the statistics over all institutions)."""
    inst = billing.index
    medfee, n_visits, n_persons = billing["medfee"], billing["visits"], billing["persons"]
    fund, line_amt, high = billing["fund"], billing["line_amt"], billing["high_cost_amt"]
    raw = {
        "ot_cost_per_visit_peer_z": (medfee / n_visits, True),
        "ot_visits_per_person_peer_z": (n_visits / n_persons, True),
        "ot_high_cost_item_share_peer_z": ((high / line_amt.where(line_amt > 0)).fillna(0), False),
        "ot_fund_share_peer_z": ((fund / medfee.where(medfee > 0)).fillna(0).clip(0, 1), False),
    }
    out = pd.DataFrame(index=inst)
    outlier = pd.Series(False, index=inst)
    reasons = pd.Series("", index=inst, dtype="string")
    for name, (values, log) in raw.items():
        z, pct = robust_z(values.fillna(0), groups, s.peer_min_group_size, log=log)
        out[name] = z.to_numpy()
        hit = (z >= s.peer_robust_z) & (pct >= s.peer_percentile)
        outlier |= hit
        what, unit = MEASURES[name]
        med = values.groupby(groups).transform("median")
        line = (
            what
            + " "
            + num_text(values, 2)
            + (" " + unit if unit else "")
            + " against a peer median of "
            + num_text(med, 2)
            + " (robust z "
            + num_text(z, 1)
            + ")"
        )
        reasons = reasons.where(~hit, reasons + np.where(reasons.eq(""), "", "; ") + line)
    out["ot_peer_outlier_flag"] = outlier.to_numpy(bool)
    ev: list[pd.DataFrame] = []
    if outlier.any():
        f = inst[outlier.to_numpy()]
        text = (
            "Institution "
            + f.to_series()
            + " stands out from its peers ("
            + groups[f].astype("string")
            + "): "
            + reasons[f]
        )
        ids = "fixmedins_code=" + f.to_series()
        ev.append(evidence(Level.INSTITUTION, "ot_peer_outlier_flag", P, f, text, ids))
    return Signals(out, concat_evidence(ev))

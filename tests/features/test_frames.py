"""The working frames: one visit row per mdtrt_id, as a group-by of its settlements."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.frames import prepare
from tests.features.conftest import World


def test_visit_rows_aggregate_settlements_as_a_groupby_skipping_gaps(world: World) -> None:
    # given a stay of three settlements (one a refund) with gaps in its codes, dates and
    # amounts, an ordinary visit, and a settlement without a visit id
    world.visit("V2", begin="2024-03-05", medfee=40.0, doctor="D2")
    world.visit("V1", begin="2024-03-01", end="2024-03-04", medfee=300.0, med_type="21")
    world.visit("V1", begin="2024-03-02", end="2024-03-09", medfee=-50.0, refund="1")
    world.visit("V1", begin="2024-02-28", end="2024-03-06", medfee=120.0, med_type="21")
    world.visit("V0", begin="2024-03-07")
    ds = world.dataset()
    setl = ds.settlements.copy()
    setl.loc[setl["mdtrt_id"] == "V0", "mdtrt_id"] = pd.NA
    first_of_v1 = setl.index[setl["mdtrt_id"] == "V1"][0]
    setl.loc[first_of_v1, ["dise_codg", "atddr_no"]] = pd.NA
    setl.loc[first_of_v1, "medfee_sumamt"] = np.nan
    setl.loc[first_of_v1, "begndate"] = pd.NaT
    # when the frames are prepared
    visits = prepare(setl, ds.fee_details, ds.persons, ds.institutions, ds.catalog).visits
    # then each visit is what pandas' group-by of its settlements gives (in sorted order,
    # refunds after charges, by time): first present codes, extreme dates, sums, a count
    ordered = setl.assign(refund=setl["refd_setl_flag"].eq("1")).sort_values(
        ["mdtrt_id", "refund", "setl_time"]
    )
    want = ordered.groupby("mdtrt_id", sort=False).agg(
        psn_no=("psn_no", "first"),
        med_type=("med_type", "first"),
        begndate=("begndate", "min"),
        enddate=("enddate", "max"),
        medfee=("medfee_sumamt", "sum"),
        dise_codg=("dise_codg", "first"),
        atddr_no=("atddr_no", "first"),
        first_setl_id=("setl_id", "first"),
        n_settlements=("setl_id", "size"),
    )
    assert visits.index.tolist() == ["V1", "V2"]
    got = visits[want.columns].astype(object)
    pd.testing.assert_frame_equal(
        got, want.astype(object), check_index_type=False, check_names=False
    )
    assert visits.loc["V1", "dise_codg"] == "K29" and visits.loc["V1", "medfee"] == 70.0

"""The CMS importer over the real shared files: exact counts against the source."""

from __future__ import annotations

import pandas as pd
import pytest

from settlements.importers.cms import import_cms
from tests.conftest import SHARED_DATA

CMS = SHARED_DATA / "medicare-provider-fraud"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CMS.is_dir(), reason="shared CMS data not present"),
]


@pytest.fixture(scope="module")
def result():
    return import_cms(CMS)


def test_every_real_claim_becomes_one_inpatient_settlement(result) -> None:
    by_source = {c.source: c for c in result.counts if c.table == "settlements"}

    assert by_source["Train_Inpatientdata-1542865627584.csv.gz"].written == 40_474
    assert by_source["Test_Inpatientdata-1542969243754.csv.gz"].written == 9_551
    s = result.dataset.settlements
    assert len(s) == 50_025
    assert s["setl_id"].is_unique
    assert (s["med_type"] == "21").all()
    assert s["dise_codg"].notna().all()
    assert s[["begndate", "enddate"]].notna().all().all()


def test_real_labels_are_the_visible_providers_with_inpatient_claims(result) -> None:
    labels = result.dataset.labels
    source = pd.read_csv(CMS / "Train-labels-visible.csv", dtype=str)
    claimed = pd.read_csv(
        CMS / "Train_Inpatientdata-1542865627584.csv.gz", usecols=["Provider"], dtype=str
    )["Provider"].unique()
    expected = source.loc[source["Provider"].isin(claimed)]

    assert len(labels) == len(expected) == 1_667
    assert (labels["outcome"] == "confirmed").sum() == (expected["PotentialFraud"] == "Yes").sum()
    count = next(c for c in result.counts if c.table == "labels")
    assert count.read == 4_327
    assert count.skipped == {"provider has no claims in the imported files": 4_327 - 1_667}


def test_real_persons_keep_every_beneficiary_and_their_death_dates(result) -> None:
    persons = result.dataset.persons
    bene = pd.read_csv(CMS / "Train_Beneficiarydata-1542865627584.csv.gz", dtype=str)

    recorded = persons.loc[persons["psn_no"].isin(bene["BeneID"])]
    assert len(recorded) == 138_556
    assert recorded["dead_date"].notna().sum() == bene["DOD"].notna().sum()
    claimants = result.dataset.settlements["psn_no"]
    assert claimants.isin(persons["psn_no"]).all()
    assert persons["insuplc_admdvs"].str.fullmatch(r"\d{6}").all()


def test_real_import_reconciles_and_fee_lines_add_up(result) -> None:
    assert all(c.reconciles for c in result.counts)
    assert result.dataset.institutions["fixmedins_code"].nunique() == 2_092 + 520
    fees = result.dataset.fee_details
    totals = fees.groupby("setl_id")["det_item_fee_sumamt"].sum()
    claims = result.dataset.settlements.set_index("setl_id")["medfee_sumamt"]
    assert (totals.reindex(claims.index) == claims).all()


def test_intake_quarantines_only_the_claims_of_unrecorded_beneficiaries(result) -> None:
    from settlements.config import IntakeSettings
    from settlements.intake import validate_dataset

    checked = validate_dataset(result.dataset, IntakeSettings())
    r = checked.reconciliation
    placeholders = result.dataset.persons["brdy"].isna()
    unrecorded = result.dataset.settlements["psn_no"].isin(
        result.dataset.persons.loc[placeholders, "psn_no"]
    )

    assert checked.usable
    assert all(t.read == t.accepted + t.quarantined for t in r.values())
    assert r["persons"].quarantined == placeholders.sum() == 1_127
    assert r["settlements"].quarantined == unrecorded.sum() == 1_256
    assert r["settlements"].reasons == {"person quarantined": 1_256}
    assert r["institutions"].quarantined == r["labels"].quarantined == 0
    assert r["labels"].accepted == 1_667

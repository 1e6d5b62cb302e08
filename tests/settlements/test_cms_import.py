"""The CMS importer: every source row accounted for, codes as strings, dates parsed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fundguard.cli import build_app
from settlements.errors import InputError
from settlements.importers.cms import import_cms, write_import

CLAIM_HEADER = (
    "BeneID,ClaimID,ClaimStartDt,ClaimEndDt,Provider,InscClaimAmtReimbursed,"
    "AttendingPhysician,OperatingPhysician,OtherPhysician,AdmissionDt,ClmAdmitDiagnosisCode,"
    "DeductibleAmtPaid,DischargeDt,DiagnosisGroupCode,"
    + ",".join(f"ClmDiagnosisCode_{i}" for i in range(1, 11))
    + ","
    + ",".join(f"ClmProcedureCode_{i}" for i in range(1, 7))
)
NO_DIAG = ",".join(["NA"] * 9)
NO_PROC = ",".join(["NA"] * 6)
TRAIN_CLAIMS = [
    # two procedures, an operating and another physician; leading-zero diagnosis code
    f'"B1","C1",2009-01-02,2009-01-05,"P1",5000,"D1","D2","D3",2009-01-02,"0389",1068,'
    f'2009-01-05,"870","0389",{NO_DIAG},"3893","0066",NA,NA,NA,NA',
    # no principal diagnosis: falls back to the admission diagnosis; no deductible
    f'"B2","C2",2009-02-01,2009-02-03,"P1",3000,"D1",NA,NA,2009-02-01,"7866",NA,'
    f'2009-02-03,"201",NA,{NO_DIAG},{NO_PROC}',
    # operating physician but no procedure code
    f'"B9","C3",2009-03-01,2009-03-04,"P2",7000,"D4","D5",NA,2009-03-01,"4019",1068,'
    f'2009-03-04,"300","4019",{NO_DIAG},{NO_PROC}',
    # duplicate claim ID: skipped
    f'"B1","C1",2009-05-01,2009-05-02,"P2",100,"D4",NA,NA,2009-05-01,"4019",1068,'
    f'2009-05-02,"300","4019",{NO_DIAG},{NO_PROC}',
    # missing provider: skipped
    f'"B1","C4",2009-05-01,2009-05-02,NA,100,"D4",NA,NA,2009-05-01,"4019",1068,'
    f'2009-05-02,"300","4019",{NO_DIAG},{NO_PROC}',
    # unreadable admission date: skipped
    f'"B1","C5",2009-05-01,2009-05-02,"P2",100,"D4",NA,NA,2009-13-45,"4019",1068,'
    f'2009-05-02,"300","4019",{NO_DIAG},{NO_PROC}',
]
TEST_CLAIMS = [
    f'"B2","C9",2009-06-01,2009-06-08,"P3",9000,"D6",NA,NA,2009-06-01,"5780",1068,'
    f'2009-06-08,"332","5780",{NO_DIAG},{NO_PROC}',
]
BENEFICIARIES = [
    "BeneID,DOB,DOD,Gender,Race,State,County",
    '"B1",1943-01-01,NA,1,1,39,230',
    '"B2",1936-09-01,2009-12-01,2,1,5,20',
    '"B3",1950-03-01,NA,2,1,5,20',
]
LABELS = ["Provider,PotentialFraud", "P1,Yes", "P2,No", "P7,No"]


def write_sample(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Train_Inpatientdata-1.csv").write_text("\n".join([CLAIM_HEADER, *TRAIN_CLAIMS]))
    (folder / "Test_Inpatientdata-2.csv").write_text("\n".join([CLAIM_HEADER, *TEST_CLAIMS]))
    (folder / "Train_Beneficiarydata-1.csv").write_text("\n".join(BENEFICIARIES))
    (folder / "Train-labels-visible.csv").write_text("\n".join(LABELS))
    return folder


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "cms")


def counts_by_table(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in result.counts:
        out.setdefault(c.table, []).append(c)
    return out


def test_every_claim_row_is_written_or_skipped_with_a_reason(sample: Path) -> None:
    result = import_cms(sample)

    settlements = counts_by_table(result)["settlements"]
    by_source = {c.source: c for c in settlements}
    train = by_source["Train_Inpatientdata-1.csv"]
    assert (train.read, train.written) == (6, 3)
    assert train.skipped == {
        "duplicate ClaimID (first kept)": 1,
        "missing ClaimID, BeneID or Provider": 1,
        "unreadable admission/discharge (or claim start/end) date": 1,
    }
    assert (
        by_source["Test_Inpatientdata-2.csv"].read,
        by_source["Test_Inpatientdata-2.csv"].written,
    ) == (1, 1)
    assert all(c.reconciles for c in result.counts)
    assert sorted(result.skipped["reason"].value_counts().to_dict().values()) == [1, 1, 1, 1]


def test_claims_become_inpatient_settlements_with_string_codes_and_parsed_dates(
    sample: Path,
) -> None:
    s = import_cms(sample).dataset.settlements.set_index("setl_id")

    assert list(s.index) == ["C1", "C2", "C3", "C9"]
    assert (s["med_type"] == "21").all()
    assert s.loc["C1", "dise_codg"] == "0389"
    assert s.loc["C2", "dise_codg"] == "7866"
    assert s.loc["C1", "begndate"] == pd.Timestamp("2009-01-02")
    assert s.loc["C1", "enddate"] == pd.Timestamp("2009-01-05")
    assert s.loc["C1", "medfee_sumamt"] == 6068.0
    assert s.loc["C1", "fund_pay_sumamt"] == 5000.0
    assert s.loc["C1", "psn_cash_pay"] == 1068.0
    assert s.loc["C2", "psn_cash_pay"] == 0.0
    assert s.loc["C1", "atddr_no"] == "D1"
    assert pd.api.types.is_string_dtype(s["dise_codg"])
    assert pd.api.types.is_datetime64_dtype(s["begndate"])


def test_fee_lines_add_up_to_the_claim_and_carry_procedures_and_physicians(
    sample: Path,
) -> None:
    dataset = import_cms(sample).dataset
    fees = dataset.fee_details

    totals = fees.groupby("setl_id")["det_item_fee_sumamt"].sum()
    expected = dataset.settlements.set_index("setl_id")["medfee_sumamt"]
    pd.testing.assert_series_equal(totals, expected.sort_index(), check_names=False)
    c1 = fees.loc[fees["setl_id"] == "C1"].set_index("feedetl_sn")
    assert list(c1.index) == ["1", "2", "3", "4"]
    assert list(c1["med_chrgitm_type"]) == ["14", "06", "06", "02"]
    assert list(c1["hilist_code"]) == ["DRG870", "3893", "0066", "CONSULT-OTHER"]
    assert list(c1["bilg_dr_codg"]) == ["D1", "D2", "D2", "D3"]
    c3 = fees.loc[fees["setl_id"] == "C3"]
    assert list(c3["hilist_code"]) == ["DRG300", "PROC-UNSPECIFIED"]


def test_beneficiaries_become_persons_with_death_dates_and_placeholders(sample: Path) -> None:
    result = import_cms(sample)
    p = result.dataset.persons.set_index("psn_no")

    assert p.loc["B2", "dead_date"] == pd.Timestamp("2009-12-01")
    assert pd.isna(p.loc["B1", "dead_date"])
    assert p.loc["B1", "insuplc_admdvs"] == "392300"
    assert p.loc["B2", "insuplc_admdvs"] == "050200"
    assert p.loc["B2", "gend"] == "2"
    assert p.loc["B1", "brdy"] == pd.Timestamp("1943-01-01")
    assert p.loc["B9", "gend"] == "0"
    assert p.loc["B9", "insuplc_admdvs"] == "000000"
    persons = counts_by_table(result)["persons"][0]
    assert (persons.read, persons.written, sum(persons.added.values())) == (3, 4, 1)


def test_institutions_are_located_where_their_claimants_live(sample: Path) -> None:
    i = import_cms(sample).dataset.institutions.set_index("fixmedins_code")

    assert list(i.index) == ["P1", "P2", "P3"]
    assert (i["fixmedins_type"] == "1").all()
    assert i.loc["P1", "admdvs"] in {"392300", "050200"}
    assert i.loc["P2", "admdvs"] == "000000"
    assert i.loc["P3", "admdvs"] == "050200"


def test_provider_labels_become_institution_outcomes_only_for_providers_with_claims(
    sample: Path,
) -> None:
    result = import_cms(sample)
    labels = result.dataset.labels
    assert labels is not None

    assert labels.set_index("subject_id")["outcome"].to_dict() == {
        "P1": "confirmed",
        "P2": "rejected",
    }
    assert (labels["subject_type"] == "institution").all()
    assert (labels["pattern"] == "other").all()
    count = counts_by_table(result)["labels"][0]
    assert count.skipped == {"provider has no claims in the imported files": 1}


def test_train_only_leaves_the_test_claims_out(sample: Path) -> None:
    dataset = import_cms(sample, include_test=False).dataset

    assert "C9" not in set(dataset.settlements["setl_id"])
    assert "P3" not in set(dataset.institutions["fixmedins_code"])


def test_a_folder_without_claims_is_a_one_line_input_error(tmp_path: Path) -> None:
    (tmp_path / "Train_Beneficiarydata-1.csv").write_text("\n".join(BENEFICIARIES))

    with pytest.raises(InputError, match=r"no .*Inpatientdata"):
        import_cms(tmp_path)


def test_a_claim_file_without_its_columns_is_a_one_line_input_error(sample: Path) -> None:
    (sample / "Test_Inpatientdata-2.csv").write_text("a,b\n1,2\n")

    with pytest.raises(InputError, match=r"Test_Inpatientdata-2\.csv lacks the column"):
        import_cms(sample)


def test_written_dataset_reads_back_with_codes_as_strings(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    skipped = write_import(import_cms(sample), out, "csv")

    assert skipped is not None and skipped.exists()
    s = pd.read_csv(out / "settlements.csv", dtype=str)
    assert "0389" in set(s["dise_codg"])
    assert {f.name for f in out.iterdir()} >= {
        "settlements.csv",
        "fee_details.csv",
        "persons.csv",
        "institutions.csv",
        "labels.csv",
    }


def test_import_cms_command_prints_the_reconciliation(sample: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["import-cms", str(sample), str(tmp_path / "o")])

    assert result.exit_code == 0, result.output
    assert "import reconciliation" in result.output
    assert "duplicate ClaimID" in result.output
    assert (tmp_path / "o" / "settlements.parquet").exists()


def test_intake_accepts_the_import_except_claimants_without_a_birth_date(sample: Path) -> None:
    from settlements.config import IntakeSettings
    from settlements.intake import validate_dataset

    result = validate_dataset(import_cms(sample).dataset, IntakeSettings())
    r = result.reconciliation

    assert all(t.read == t.accepted + t.quarantined for t in r.values())
    assert (r["persons"].read, r["persons"].quarantined) == (4, 1)  # placeholder B9
    assert r["persons"].reasons == {"brdy is missing": 1}
    assert r["settlements"].quarantined == 1  # C3, B9's claim
    assert r["fee_details"].quarantined == 2  # C3's two lines
    assert r["institutions"].quarantined == r["labels"].quarantined == 0


def test_outpatient_claims_and_a_second_beneficiary_file_are_imported_too(sample: Path) -> None:
    header = (
        "BeneID,ClaimID,ClaimStartDt,ClaimEndDt,Provider,InscClaimAmtReimbursed,"
        "AttendingPhysician,OperatingPhysician,OtherPhysician,ClmDiagnosisCode_1,"
        "DeductibleAmtPaid,ClmAdmitDiagnosisCode"
    )
    (sample / "Train_Outpatientdata-1.csv").write_text(
        f'{header}\n"B3","O1",2009-04-01,2009-04-01,"P1",80,"D1",NA,NA,"V5883",0,NA\n'
    )
    (sample / "Test_Beneficiarydata-2.csv").write_text(
        "BeneID,DOB,DOD,Gender,Race,State,County\n"
        '"B9",1960-05-01,NA,1,1,5,20\n"B1",1943-01-01,NA,1,1,39,230\n'
    )

    result = import_cms(sample)
    s = result.dataset.settlements.set_index("setl_id")
    p = result.dataset.persons.set_index("psn_no")

    assert s.loc["O1", "med_type"] == "11"
    assert s.loc["O1", "begndate"] == s.loc["O1", "enddate"] == pd.Timestamp("2009-04-01")
    assert s.loc["O1", "dise_codg"] == "V5883"
    fees = result.dataset.fee_details
    assert list(fees.loc[fees["setl_id"] == "O1", "hilist_code"]) == ["CLAIM-TOTAL"]
    assert p.loc["B9", "brdy"] == pd.Timestamp("1960-05-01")  # no placeholder any more
    persons = counts_by_table(result)["persons"][0]
    assert persons.skipped == {"duplicate BeneID (first kept)": 1}
    assert all(c.reconciles for c in result.counts)


def test_a_rerun_in_another_format_replaces_the_earlier_tables(
    sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_import(import_cms(sample), out, "csv")

    write_import(import_cms(sample, include_test=False), out, "parquet")

    assert {p.name for p in out.glob("*.csv")} == {"import_skipped.csv"}
    assert (out / "settlements.parquet").exists()


def test_writing_into_a_file_is_a_one_line_input_error(sample: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")

    with pytest.raises(InputError, match="is a file"):
        write_import(import_cms(sample), target)

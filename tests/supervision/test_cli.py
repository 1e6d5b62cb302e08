"""The supervision commands end to end: leads → case → confirmation → grade → plan → verify."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from fundguard.commands import supervision as commands
from tests.supervision.helpers import leads, uscc_for


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from fundguard.cli import settings

    settings.cache_clear()
    monkeypatch.setenv("FUNDGUARD_ACTOR", "li.inspector")
    app = typer.Typer()
    commands.register(app)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output + repr(result.exception)
        out = result.output + (repr(result.exception) if result.exception else "")
        return " ".join(out.split())

    yield invoke
    settings.cache_clear()


@pytest.mark.slow
def test_walk_through_from_leads_to_a_confirmed_case_a_grade_and_a_plan(
    run,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    given = leads(
        ("institution", "H001", "bed_hanging", 0.9, 1), ("person", "P1", "card_lending", 0.8, 1)
    )
    given.to_parquet(tmp_path / "leads.parquet")
    assert "cases opened 2" in run("cases", "open", str(tmp_path / "leads.parquet"))
    assert "already open 2" in run("cases", "open", str(tmp_path / "leads.parquet"))
    for i in (1, 2, 3):
        run(
            "ledger",
            "add-subject",
            "--kind",
            "institution",
            "--credit-key",
            uscc_for(i),
            "--name",
            f"医院{i}",
            "--category",
            "hospital",
            "--local-code",
            f"H00{i}",
        )
    run("cases", "assign", "1", "INS-A")
    run("cases", "investigate", "1")
    out = run(
        "cases",
        "decide",
        "1",
        "confirmed",
        "--reason",
        "empty beds on ward round",
        "--pattern",
        "split_billing",
        "--amount",
        "15800",
        "--version",
        "3",
    )
    assert "confirmed, severe, 15800.00 yuan" in out
    late = run("cases", "decide", "1", "rejected", "--reason", "late", code=1)
    assert "ConflictError('case 1 is confirmed; it cannot become rejected" in late
    run("cases", "export-labels", "--out", str(tmp_path / "labels.parquet"))
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    assert labels[["subject_id", "outcome"]].values.tolist() == [["H001", "confirmed"]]
    graded = run("ledger", "grade", "--year", "2026")
    assert "excellent" in graded
    for code in ("INS-A", "INS-B", "INS-C"):
        run("inspectors", "add", code, "--name", code)
    run("inspectors", "conflict", "INS-A", "H002", "--reason", "spouse works there")
    plan = run(
        "plan",
        "--date",
        "2026-01-05",
        "--base-ratio",
        "0.5",
        "--seed",
        "7",
        "--out",
        str(tmp_path / "plan.xlsx"),
    )
    assert "realised ratios per grade" in plan
    book = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    assert book.sheetnames == ["targets", "ratios", "method"]
    run("ledger", "blacklist-report", "--quarter", "2026Q4", "--out", str(tmp_path / "b.xlsx"))
    run("ledger", "warnings", "--out", str(tmp_path / "w.csv"))
    assert "blacklist" in set(pd.read_csv(tmp_path / "w.csv")["measure"])
    assert "plan.xlsx" not in run("plans", "show", "1", "--out", str(tmp_path / "again.csv"))
    assert pd.read_csv(tmp_path / "again.csv")["inspectors"].notna().all()
    assert "problems 0" in run("ledger", "verify")


def test_verify_fails_with_exit_1_when_a_row_was_tampered_with(run) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from fundguard.cli import settings
    from supervision.store import open_store

    run("inspectors", "add", "INS-A", "--name", "A")
    store = open_store(settings().store_url)
    with store.engine.begin() as conn:
        conn.execute(text("update inspectors set name = 'B'"))
    out = run("ledger", "verify", code=1)
    assert "inspectors row INS-A was changed after its last audit entry" in out


def test_enroll_reads_the_institutions_of_a_dataset_directory_and_reconciles(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    from fundguard.cli import settings

    world = tmp_path / "world"
    world.mkdir()
    pd.DataFrame(
        {
            "fixmedins_code": ["H001", "H002", "P003"],
            "fixmedins_name": ["甲医院", "乙医院", "丙药店"],
            "fixmedins_type": ["1", "1", "2"],
            "admdvs": ["330102"] * 3,
            "uscc": [uscc_for(1), "not-a-code", uscc_for(3)],
        }
    ).to_csv(world / "institutions.csv", index=False)
    first = run("ledger", "enroll", str(world), "--on", "2026-01-05")
    assert "institutions read 3 enrolled 2 already enrolled 0 rejected 1" in first
    assert "agreements until 2027-01-04" in first
    rejected = pd.read_csv(settings().data_dir / "quarantine/institutions.enroll-rejected.csv")
    assert rejected["fixmedins_code"].tolist() == ["H002"]
    again = run("ledger", "enroll", str(world))
    assert "enrolled 0 already enrolled 2 rejected 1 newly designated 0" in again
    assert "is not a directory" in run("ledger", "enroll", str(tmp_path / "nowhere"), code=1)


def test_grade_after_enroll_grades_every_institution_and_the_plan_draws_from_them(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    world = tmp_path / "world"
    world.mkdir()
    pd.DataFrame(
        {
            "fixmedins_code": [f"H{i:03d}" for i in range(1, 11)],
            "fixmedins_name": [f"医院{i}" for i in range(1, 11)],
            "fixmedins_type": ["1"] * 10,
            "admdvs": ["330102"] * 10,
            "uscc": [uscc_for(i) for i in range(1, 11)],
        }
    ).to_parquet(world / "institutions.parquet")
    run("ledger", "enroll", str(world))
    graded = run("ledger", "grade", "--year", "2026")
    assert "subjects graded 10 excellent 10" in graded
    for code in ("INS-A", "INS-B"):
        run("inspectors", "add", code, "--name", code)
    plan = run("plan", "--date", "2026-12-01", "--base-ratio", "0.5", "--seed", "1")
    assert "│ excellent │ 10 │ 0.15 │" in plan

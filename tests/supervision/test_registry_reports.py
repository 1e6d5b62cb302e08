"""Designation registry deadlines and the quarterly blacklist report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from supervision import ledger, registry, reports
from supervision.calendar import add_working_days
from supervision.config import SupervisionSettings
from supervision.errors import RuleError
from supervision.store import Store
from tests.supervision.helpers import institution, uscc_for


def test_a_review_is_due_thirty_working_days_after_receipt_and_extends_once(
    store: Store, settings: SupervisionSettings
) -> None:
    app = registry.receive_application(
        store,
        applicant="康宁药店",
        level="district",
        received_on=date(2025, 9, 15),
        actor="desk",
        settings=settings,
        fixmedins_code="P900",
    )
    assert app.review_by == add_working_days(date(2025, 9, 15), 30)
    # 9 working days to 26 Sep, the working Sunday 28 Sep, then the 1-8 Oct holiday is skipped
    assert app.review_by == date(2025, 10, 31)
    city = registry.receive_application(
        store,
        applicant="x",
        level="city",
        received_on=date(2025, 9, 15),
        actor="desk",
        settings=settings,
    )
    extended = registry.extend_review(store, city.id, actor="chief", settings=settings)
    assert extended.review_by == add_working_days(date(2025, 10, 31), 30)
    with pytest.raises(RuleError, match="already extended"):
        registry.extend_review(store, city.id, actor="chief", settings=settings)
    overdue = registry.overdue_applications(store, on=date(2025, 11, 5))
    assert overdue["id"].tolist() == [app.id]
    registry.decide_application(
        store, app.id, approved=True, reason="complete", on=date(2025, 11, 5), actor="chief"
    )
    assert registry.overdue_applications(store, on=date(2025, 11, 5)).empty
    assert registry.designations(store)["fixmedins_code"].tolist() == ["P900"]


def test_service_agreement_dates_tell_whether_an_agreement_is_in_force(store: Store) -> None:
    registry.set_designation(
        store,
        "H001",
        status="designated",
        actor="desk",
        agreement_start=date(2025, 1, 1),
        agreement_end=date(2025, 12, 31),
    )
    frame = registry.designations(store, on=date(2026, 1, 1))
    assert frame["agreement_in_force"].tolist() == [False]


def test_the_blacklist_report_has_the_rules_columns_as_csv_and_xlsx(
    store: Store, settings: SupervisionSettings, tmp_path: Path
) -> None:
    code = institution(
        store,
        3,
        legal_rep_name="王五",
        legal_rep_id="110101199001011237",
        business_reg_no="110000001234567",
        insured_staff=120,
        arrears_months=4,
        arrears_amount=Decimal("5600.00"),
    )
    institution(store, 4)
    ledger.add_record(
        store,
        code,
        kind="bad",
        category="penalty",
        description="串换项目收费",
        provider="市医保局",
        legal_basis="条例第38条",
        severity="severe",
        entered_on=date(2026, 10, 8),
        actor="c",
        settings=settings,
    )
    ledger.urge_rectification(store, code, on=date(2026, 10, 9), actor="c", settings=settings)
    frame = reports.blacklist_report(store, "2026Q4")
    assert tuple(frame.columns) == reports.REPORT_COLUMNS
    row = frame.iloc[0]
    assert (row["序号"], row["单位名称"], row["组织机构代码"]) == (1, "医院3", uscc_for(3)[8:17])
    assert row["欠费月数及金额"] == "4个月，5600.00元"
    assert "串换项目收费" in row["违法情况"] and "2027-01-09" in row["催缴情况"]
    assert len(frame) == 1
    assert reports.blacklist_report(store, "2026Q3").empty
    reports.write_report(frame, tmp_path / "b.csv")
    reports.write_report(frame, tmp_path / "b.xlsx")
    assert list(pd.read_csv(tmp_path / "b.csv").columns) == list(reports.REPORT_COLUMNS)
    sheet = openpyxl.load_workbook(tmp_path / "b.xlsx").active
    assert [c.value for c in sheet[1]] == list(reports.REPORT_COLUMNS)


def test_the_report_is_compiled_by_the_20th_and_sent_by_the_30th(
    store: Store, settings: SupervisionSettings
) -> None:
    assert reports.report_deadlines("2026Q4", settings) == (date(2026, 12, 20), date(2026, 12, 30))
    assert reports.report_deadlines("2026Q1", settings) == (date(2026, 3, 20), date(2026, 3, 30))
    due = reports.next_report(store, date(2026, 12, 31), settings)
    assert (due["quarter"], due["compile by"]) == ("2027Q1", date(2027, 3, 20))

"""The quarterly blacklist report (ledger-rules.md §8) in the rules' table format, and its dates."""

from __future__ import annotations

import calendar as _calendar
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import or_, select

from settlements.errors import InputError
from supervision.config import SupervisionSettings
from supervision.db import CreditRecord, CreditSubject, Measure
from supervision.store import Store

REPORT_COLUMNS = (
    "序号",
    "单位名称",
    "组织机构代码",
    "工商注册号",
    "法定代表人(负责人)姓名",
    "法定代表人(负责人)身份证号",
    "参保职工数",
    "欠费月数及金额",
    "违法情况",
    "催缴情况",
    "备注",
)


def parse_quarter(quarter: str) -> tuple[int, int]:
    """``"2026Q4"`` → (2026, 4)."""
    match = re.fullmatch(r"(\d{4})\s*[Qq]([1-4])", quarter.strip())
    if not match:
        raise InputError(f"{quarter!r} is not a quarter; write it like 2026Q4")
    return int(match.group(1)), int(match.group(2))


def quarter_bounds(quarter: str) -> tuple[date, date]:
    year, q = parse_quarter(quarter)
    last_month = 3 * q
    return date(year, last_month - 2, 1), date(
        year, last_month, _calendar.monthrange(year, last_month)[1]
    )


def report_deadlines(quarter: str, settings: SupervisionSettings) -> tuple[date, date]:
    """(compile by, send by): the 20th and the 30th of the quarter's last month by default."""
    year, q = parse_quarter(quarter)
    month = 3 * q
    last = _calendar.monthrange(year, month)[1]
    return (
        date(year, month, min(settings.report_compile_day, last)),
        date(year, month, min(settings.report_send_day, last)),
    )


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _arrears(months: int | None, amount: Any) -> str:
    if months is None and amount is None:
        return ""
    parts = []
    if months is not None:
        parts.append(f"{months}个月")
    if amount is not None:
        parts.append(f"{amount}元")
    return "，".join(parts)


def _urging(m: Measure) -> str:
    parts = []
    if m.urged_on:
        parts.append(f"{m.urged_on}催告整改，期限{m.rectify_by}")
    if m.rectified_on:
        parts.append(f"{m.rectified_on}确认整改，{m.remove_by}前移出")
    if m.interviewed_on:
        parts.append(f"{m.interviewed_on}警示约谈")
    return "；".join(parts)


def blacklist_report(store: Store, quarter: str) -> pd.DataFrame:
    """Every subject on the blacklist during ``quarter``, one row each, in the rules' columns."""
    start, end = quarter_bounds(quarter)
    with store.read() as session:
        listed = session.execute(
            select(Measure, CreditSubject)
            .join(CreditSubject, CreditSubject.id == Measure.subject_id)
            .where(
                Measure.kind == "blacklist",
                Measure.starts_on <= end,
                or_(Measure.ends_on.is_(None), Measure.ends_on >= start),
                Measure.status != "superseded",
            )
            .order_by(Measure.starts_on, CreditSubject.id)
        ).all()
        rows = []
        seen: set[int] = set()
        for measure, subject in listed:
            if subject.id in seen:
                continue
            seen.add(subject.id)
            records = session.execute(
                select(CreditRecord)
                .where(
                    CreditRecord.subject_id == subject.id,
                    CreditRecord.kind == "bad",
                    CreditRecord.status == "in_force",
                    CreditRecord.entered_on <= end,
                )
                .order_by(CreditRecord.entered_on)
            ).scalars()
            violations = "；".join(
                f"{r.entered_on} {r.description}（{r.severity}）" for r in records
            )
            is_institution = subject.kind == "institution"
            removed = f"；{measure.lifted_on}移出" if measure.lifted_on else ""
            rows.append(
                {
                    "单位名称": subject.name,
                    "组织机构代码": subject.credit_key[8:17] if is_institution else "",
                    "工商注册号": subject.business_reg_no or "",
                    "法定代表人(负责人)姓名": subject.legal_rep_name or "",
                    "法定代表人(负责人)身份证号": subject.legal_rep_id or "",
                    "参保职工数": subject.insured_staff
                    if subject.insured_staff is not None
                    else "",
                    "欠费月数及金额": _arrears(subject.arrears_months, subject.arrears_amount),
                    "违法情况": violations,
                    "催缴情况": _urging(measure),
                    "备注": f"{measure.starts_on}列入：{measure.reason}{removed}",
                }
            )
    frame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS[1:]))
    frame.insert(0, "序号", range(1, len(frame) + 1))
    return frame


def write_report(frame: pd.DataFrame, out: Path) -> None:
    """Write the report as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".xlsx":
        frame.to_excel(out, index=False, sheet_name="黑名单")
    elif out.suffix == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    else:
        raise InputError(f"{out}: write the report as .csv or .xlsx")


def next_report(store: Store, on: date, settings: SupervisionSettings) -> dict[str, Any]:
    """The report due next on ``on``: its quarter, deadlines, and the subjects it will list."""
    quarter = quarter_of(on)
    compile_by, send_by = report_deadlines(quarter, settings)
    if on > send_by:
        year, q = parse_quarter(quarter)
        quarter = f"{year + q // 4}Q{q % 4 + 1}"
        compile_by, send_by = report_deadlines(quarter, settings)
    return {
        "quarter": quarter,
        "compile by": compile_by,
        "send by": send_by,
        "days to compile": (compile_by - on).days,
        "entries": blacklist_report(store, quarter),
    }

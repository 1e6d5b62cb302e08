"""Intake validation of one settlement given as Python values: the fast path of ``/check``.

``validate_dataset`` judges whole columns with pandas and Arrow, which for the one
settlement of a check before payment is hundreds of fixed-cost operations. ``judge_lone``
applies the same rules, in the same order, with the same reasons, to the values of one
settlement, its fee lines, its person and its institution (as the request carries them:
``str``, ``datetime.date``/``datetime``, ``float`` or ``None``), and answers what
``validate_dataset`` would quarantine. Tests compare the two on generated settlements and
on a breach of every rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from settlements.config import IntakeSettings
from settlements.frames import must_have_value
from settlements.schema import FEE_DETAILS, INSTITUTIONS, PERSONS, SETTLEMENTS, Table

Row = Mapping[str, Any]
"""One row as Python values, by contract column name."""

_EARLIEST = pd.Timestamp("1678-01-01").to_pydatetime()
_LATEST = pd.Timestamp("2261-12-31").to_pydatetime()
_DATE_FORMAT = {"date": "yyyy-MM-dd", "datetime": "yyyy-MM-dd HH:mm:ss"}


@dataclass(frozen=True)
class LoneSettlement:
    """One settlement with its fee lines, its person and its institution, as Python values
    (``str``, ``datetime.date``, naive ``datetime.datetime``, ``float`` or ``None``).

    ``columns`` names, per table, the columns the rows carry (a row may omit an optional
    column): what a frame of these rows would have, also when there are no fee lines.
    """

    settlement: Row
    fee_lines: Sequence[Row]
    person: Row
    institution: Row
    columns: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class LoneVerdict:
    """The settlement's problems as ``/check`` reports them (``"<table>: <reason>"``, each
    once); none when intake would accept every row."""

    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.problems


def judge_lone(lone: LoneSettlement, settings: IntakeSettings) -> LoneVerdict:
    """Judge one settlement with its fee lines, person and institution as intake does.

    A column a row does not carry is judged as a table without that column. Problems
    follow ``serving``'s order: the settlement's reason, its fee lines', then the person's
    and the institution's (``"<table>: <reason>"``, each once).
    """
    settlement, fee_lines = lone.settlement, lone.fee_lines
    person, institution = lone.person, lone.institution
    person_reason = _cells(PERSONS, person, settings) or _person(person)
    institution_reason = _cells(INSTITUTIONS, institution, settings) or _institution(institution)
    settlement_reason = _cells(SETTLEMENTS, settlement, settings) or _settlement(
        settlement, person, person_reason, institution, institution_reason
    )
    line_reasons = _fee_lines(fee_lines, settlement, settlement_reason is None, settings)

    problems: list[str] = []
    if settlement_reason:
        problems.append(f"settlements: {settlement_reason}")
    problems.extend(f"fee_details: {r}" for r in line_reasons.values())
    if person_reason:
        problems.append(f"persons: {person_reason}")
    if institution_reason:
        problems.append(f"institutions: {institution_reason}")
    return LoneVerdict(problems=tuple(dict.fromkeys(problems)))


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _cells(table: Table, row: Row, settings: IntakeSettings) -> str | None:
    """The first breach of the rules every table shares, for one row (duplicates aside)."""
    columns = [c for c in table.columns if c.name in row]
    for column in columns:
        value = row[column.name]
        if column.kind in _DATE_FORMAT and value is not None and not _in_range(value):
            return f"{column.name} is not a {column.kind} ({_DATE_FORMAT[column.kind]})"
    for name in table.key:
        if name in row and _missing(row[name]):
            return f"{name} is missing"
    for column in columns:
        if column.name in table.key:
            continue
        if must_have_value(table, column, settings.blank_allowed) and _missing(row[column.name]):
            return f"{column.name} is missing"
    for column in columns:
        value = row[column.name]
        if column.codes is not None and not _missing(value) and value not in column.codes:
            return f"{column.name} has an unknown code"
    return None


def _in_range(value: dt.date) -> bool:
    when = value if isinstance(value, dt.datetime) else _midnight(value)
    return _EARLIEST <= when <= _LATEST


def _midnight(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day)


def _person(person: Row) -> str | None:
    dead, born = person.get("dead_date"), person.get("brdy")
    if dead is not None and born is not None and dead < born:
        return "dead_date is before brdy"
    return None


def _institution(institution: Row) -> str | None:
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        value = institution.get(name)
        if value is not None and abs(value) > limit:
            return f"{name} out of range"
    beds = institution.get("aprv_bed_cnt")
    if beds is not None and beds < 0:
        return "aprv_bed_cnt is negative"
    return None


def _is_refund(settlement: Row) -> bool:
    return settlement.get("refd_setl_flag") == "1"


def _settlement(
    settlement: Row,
    person: Row,
    person_reason: str | None,
    institution: Row,
    institution_reason: str | None,
) -> str | None:
    for ref, parent, parent_reason, what in (
        ("psn_no", person, person_reason, "person"),
        ("fixmedins_code", institution, institution_reason, "institution"),
    ):
        value = settlement[ref]
        if value is None:
            continue
        if _missing(parent.get(ref)) or parent[ref] != value:
            return f"{ref} not in {what}s"
        if parent_reason is not None:
            return f"{what} quarantined"
    begin = settlement["begndate"]
    if settlement["enddate"] < begin:
        return "enddate is before begndate"
    if settlement["setl_time"] < _midnight(begin):
        return "setl_time is before begndate"
    if not _is_refund(settlement):
        for column in SETTLEMENTS.columns:
            value = settlement.get(column.name)
            if column.kind == "money" and value is not None and value < 0:
                return f"{column.name} is negative (not a refund)"
    return None


def _fee_lines(
    lines: Sequence[Row], settlement: Row, settlement_accepted: bool, settings: IntakeSettings
) -> dict[int, str]:
    """Row position -> reason of the quarantined fee lines, rule by rule as intake orders
    them: cells, duplicates, then the references and amounts."""
    reasons: dict[int, str] = {}
    for i, line in enumerate(lines):
        reason = _cells(FEE_DETAILS, line, settings)
        if reason is not None:
            reasons[i] = reason
    for i, reason in _duplicates(lines).items():
        reasons.setdefault(i, reason)
    slack = dt.timedelta(days=settings.fee_time_slack_days)
    begin = end = None
    if settlement_accepted:
        begin = _midnight(settlement["begndate"]) - slack
        end = _midnight(settlement["enddate"]) + dt.timedelta(days=1) + slack
    ordinary = not _is_refund(settlement)
    for i, line in enumerate(lines):
        if i in reasons:
            continue
        reason = _line(line, settlement, settlement_accepted, ordinary, begin, end, settings)
        if reason is not None:
            reasons[i] = reason
    return dict(sorted(reasons.items()))


def _line(
    line: Row,
    settlement: Row,
    linked: bool,
    ordinary: bool,
    begin: dt.datetime | None,
    end: dt.datetime | None,
    settings: IntakeSettings,
) -> str | None:
    if line["setl_id"] is not None and line["setl_id"] != settlement["setl_id"]:
        return "setl_id not in settlements"
    if not linked:
        return "settlement quarantined" if line["setl_id"] is not None else None
    if line["mdtrt_id"] is not None and line["mdtrt_id"] != settlement["mdtrt_id"]:
        return "mdtrt_id differs from its settlement's"
    cnt, pric, total = line["cnt"], line["pric"], line["det_item_fee_sumamt"]
    if ordinary and cnt is not None and cnt <= 0:
        return "cnt is not positive (not a refund)"
    if ordinary and pric is not None and pric < 0:
        return "pric is negative (not a refund)"
    if ordinary and total is not None and total < 0:
        return "det_item_fee_sumamt is negative (not a refund)"
    if cnt is not None and pric is not None and total is not None:
        expected = cnt * pric
        allowed = settings.line_total_abs_tolerance + settings.line_total_rel_tolerance * abs(
            expected
        )
        if abs(total - expected) > allowed:
            return "det_item_fee_sumamt differs from cnt * pric"
    when = line["fee_ocur_time"]
    outside = when is not None and begin is not None and end is not None
    if outside and (when < begin or when >= end):
        return "fee_ocur_time outside the stay"
    return None


def _duplicates(lines: Sequence[Row]) -> dict[int, str]:
    """Exact copies of an earlier line (``duplicate_row``) and lines sharing a key with a
    different line (``duplicate_key``), as ``validate_dataset`` finds them."""
    key = FEE_DETAILS.key
    by_key: dict[tuple[Any, ...], list[int]] = {}
    for i, line in enumerate(lines):
        parts = tuple(line.get(k) for k in key)
        if any(_missing(p) for p in parts):
            continue
        by_key.setdefault(parts, []).append(i)
    reasons: dict[int, str] = {}
    for positions in by_key.values():
        if len(positions) < 2:
            continue
        seen: set[tuple[Any, ...]] = set()
        originals = []
        for i in positions:
            whole = tuple(sorted(lines[i].items()))
            if whole in seen:
                reasons[i] = "exact copy of an earlier row"
            else:
                seen.add(whole)
                originals.append(i)
        if len(originals) > 1:
            for i in originals:
                reasons[i] = f"{' + '.join(key)} shared by different rows"
    return reasons

"""Row validation of a dataset against the contract, with quarantine and reconciliation.

Every row of every table is judged by the rules in ``RULES``, in their order; the first rule
a row breaks is its quarantine reason. Rows that pass are typed (``settlements.frames``) and
kept; rows that fail are kept as given (identifiers pseudonymised) with ``rule`` and
``reason``. Tables are judged parents first (persons, institutions → settlements →
fee_details), so a settlement whose person was quarantined follows it, and a fee line of a
quarantined settlement follows that. For every table ``read = accepted + quarantined``.

All checks are vectorised over whole columns (pandas / Arrow compute), never a Python loop per
row; the one loop is the HMAC, once per distinct identifier (``settlements.pseudonym``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.frames import TEXT, TypedTable, coerce_table, must_have_value
from settlements.progress import Track, no_track
from settlements.pseudonym import (
    count_invalid_certno,
    normalise_certno,
    normalise_name,
    pseudonymise,
    require_key,
)
from settlements.schema import (
    CATALOG,
    FEE_DETAILS,
    INPUT_TABLES,
    INSTITUTIONS,
    LABELS,
    PERSONS,
    SETTLEMENTS,
    TABLES,
    Table,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """A validation rule: its code (the ``rule`` column of quarantine files) and meaning."""

    code: str
    tables: tuple[str, ...]
    description: str


_ALL = tuple(t.name for t in INPUT_TABLES)

RULES: tuple[Rule, ...] = (
    Rule("unparseable_date", _ALL, "a date or date-time cell that is not yyyy-MM-dd[ HH:mm:ss]"),
    Rule("unparseable_number", _ALL, "a number or money cell that is not a finite number"),
    Rule("missing_key", _ALL, "a key column (e.g. setl_id, psn_no) is empty"),
    Rule(
        "missing_value",
        _ALL,
        "a required code, reference, date or amount is empty (descriptive text may be blank: "
        "see `blank_allowed`)",
    ),
    Rule("unknown_code", _ALL, "a coded column holds a code the contract does not know"),
    Rule(
        "duplicate_row",
        _ALL,
        "an exact copy of an earlier row (the first copy is kept, later ones quarantined)",
    ),
    Rule(
        "duplicate_key",
        _ALL,
        "two different rows share a key: all of them are quarantined, since which is right "
        "cannot be told",
    ),
    Rule("death_before_birth", ("persons",), "dead_date is before brdy"),
    Rule("coordinates_out_of_range", ("institutions",), "lat outside ±90 or lon outside ±180"),
    Rule("negative_number", ("institutions",), "aprv_bed_cnt below zero"),
    Rule("unknown_person", ("settlements",), "psn_no is not in persons"),
    Rule("person_quarantined", ("settlements",), "the settlement's person row was quarantined"),
    Rule("unknown_institution", ("settlements",), "fixmedins_code is not in institutions"),
    Rule(
        "institution_quarantined",
        ("settlements",),
        "the settlement's institution row was quarantined",
    ),
    Rule("end_before_start", ("settlements",), "enddate is before begndate"),
    Rule("settled_before_start", ("settlements",), "setl_time is before begndate"),
    Rule(
        "negative_amount",
        ("settlements", "fee_details"),
        "an amount below zero on a non-refund settlement or its fee line",
    ),
    Rule("unknown_settlement", ("fee_details",), "setl_id is not in settlements"),
    Rule(
        "settlement_quarantined",
        ("fee_details",),
        "the fee line's settlement was quarantined, so the line follows it",
    ),
    Rule("visit_mismatch", ("fee_details",), "mdtrt_id differs from its settlement's mdtrt_id"),
    Rule(
        "non_positive_quantity",
        ("fee_details",),
        "cnt is zero or below on a line of a non-refund settlement",
    ),
    Rule(
        "negative_price", ("fee_details",), "pric below zero on a line of a non-refund settlement"
    ),
    Rule(
        "line_total_mismatch",
        ("fee_details",),
        "det_item_fee_sumamt differs from cnt * pric by more than the tolerance "
        "(line_total_abs_tolerance + line_total_rel_tolerance * |cnt * pric|)",
    ),
    Rule(
        "fee_outside_stay",
        ("fee_details",),
        "fee_ocur_time falls outside begndate..enddate of its settlement, "
        "give or take fee_time_slack_days",
    ),
    Rule("age_range_reversed", ("catalog",), "lmt_age_min is above lmt_age_max"),
)
RULE_CODES = frozenset(r.code for r in RULES)

IDENTIFIER_COLUMNS = frozenset(c.name for t in TABLES.values() for c in t.columns if c.identifier)
"""Direct identifiers by contract name: pseudonymised wherever they appear."""

JUDGING_ORDER: tuple[Table, ...] = (
    PERSONS,
    INSTITUTIONS,
    SETTLEMENTS,
    FEE_DETAILS,
    CATALOG,
    LABELS,
)
"""Parents before children, so references are checked against judged parents."""


@dataclass(frozen=True)
class TableReconciliation:
    """What happened to one table's rows: ``read = accepted + quarantined``."""

    table: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    """Quarantine reason -> rows, most frequent first."""
    rules: dict[str, int] = field(default_factory=dict)
    """Rule code -> rows, most frequent first."""

    @property
    def quarantined_share(self) -> float:
        return self.quarantined / self.read if self.read else 0.0


@dataclass(frozen=True)
class IntakeResult:
    """The accepted dataset, the quarantined rows and the reconciliation of one intake."""

    dataset: Dataset
    """Accepted rows, typed, identifiers pseudonymised."""
    quarantine: dict[str, pd.DataFrame]
    """Table -> quarantined rows as given (identifiers pseudonymised) with ``rule``, ``reason``."""
    reconciliation: dict[str, TableReconciliation]
    usable: bool
    """Every required table has accepted rows and no table exceeds the quarantine share."""
    problems: tuple[str, ...] = ()
    """Why the dataset is not usable; empty when it is."""
    invalid_certno: int = 0
    """Present resident ID numbers failing ``stdnum.cn.ric`` (rows kept: still insured)."""

    def top_reasons(self, n: int = 5) -> list[tuple[str, str, int]]:
        """The ``n`` most frequent (table, reason, rows) over all tables."""
        rows = [
            (t, reason, k)
            for t, r in self.reconciliation.items()
            for reason, k in r.reasons.items()
        ]
        return sorted(rows, key=lambda row: -row[2])[:n]

    def write_quarantine(self, directory: Path) -> list[Path]:
        """Write ``<table>.csv`` per table with quarantined rows and ``reconciliation.json``.

        Quarantine files of tables that now have none are removed, so the directory always
        describes this run. Returns the files written.
        """
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for table in INPUT_TABLES:
            path = directory / f"{table.name}.csv"
            frame = self.quarantine.get(table.name)
            if frame is None or frame.empty:
                path.unlink(missing_ok=True)
                continue
            frame.to_csv(path, index=False)
            written.append(path)
        summary = {
            "usable": self.usable,
            "problems": list(self.problems),
            "invalid_certno": self.invalid_certno,
            "tables": {
                name: {
                    "read": r.read,
                    "accepted": r.accepted,
                    "quarantined": r.quarantined,
                    "rules": r.rules,
                    "reasons": r.reasons,
                }
                for name, r in self.reconciliation.items()
            },
        }
        path = directory / "reconciliation.json"
        path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
        return written


class _Failures:
    """The rule breaches of one table, in rule order; a row's first breach is its reason."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.found: list[tuple[str, str, np.ndarray]] = []

    def add(self, rule: str, reason: str, mask: np.ndarray | pd.Series) -> None:
        array = np.asarray(mask, dtype=bool)
        if array.any():
            self.found.append((rule, reason, array))

    def first(self) -> np.ndarray:
        """Per row, the index into ``found`` of its first breach, or -1."""
        which = np.full(self.rows, -1, dtype=np.int32)
        for i, (_, _, mask) in enumerate(self.found):
            which[(which == -1) & mask] = i
        return which


@dataclass(frozen=True)
class _Judged:
    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    reconciliation: TableReconciliation


def validate_dataset(
    dataset: Dataset,
    settings: IntakeSettings,
    pseudonym_key: bytes | None = None,
    track: Track = no_track,
) -> IntakeResult:
    """Validate in-memory tables (raw text or already typed) as intake does for files.

    Identifier columns are pseudonymised first (``InputError`` when they hold values and
    ``pseudonym_key`` is missing); then each table is typed and judged. Missing required
    columns raise ``InputError``.
    """
    raw: dict[str, pd.DataFrame] = {}
    invalid_certno = 0
    for name, frame in dataset.tables():
        table = _table(name)
        _require_columns(table, frame)
        frame, invalid = _pseudonymise_identifiers(table, frame, pseudonym_key)
        raw[name] = frame
        invalid_certno += invalid

    judged: dict[str, _Judged] = {}
    typed_all: dict[str, pd.DataFrame] = {}
    for table in track([t for t in JUDGING_ORDER if t.name in raw], "validating", len(raw)):
        typed = coerce_table(table, raw[table.name])
        failures = _Failures(len(typed.frame))
        codes: dict[str, _Codes] = {}
        _check_cells(table, typed, settings, failures, codes)
        _check_table(table, typed.frame, failures, settings, typed_all, judged, codes)
        typed_all[table.name] = typed.frame
        judged[table.name] = _judge(table, raw[table.name], typed.frame, failures)

    names = [t.name for t in INPUT_TABLES if t.name in judged]
    accepted = dataset.with_tables(**{name: judged[name].accepted for name in names})
    reconciliation = {name: judged[name].reconciliation for name in names}
    problems = _problems(reconciliation, settings)
    for r in reconciliation.values():
        log.info(
            "intake table",
            extra={
                "table": r.table,
                "read": r.read,
                "accepted": r.accepted,
                "quarantined": r.quarantined,
                "rules": r.rules,
            },
        )
    if invalid_certno:
        log.warning("invalid resident ID numbers kept", extra={"invalid_certno": invalid_certno})
    return IntakeResult(
        dataset=accepted,
        quarantine={name: judged[name].quarantined for name in names},
        reconciliation=reconciliation,
        usable=not problems,
        problems=tuple(problems),
        invalid_certno=invalid_certno,
    )


def _table(name: str) -> Table:
    return next(t for t in INPUT_TABLES if t.name == name)


def _require_columns(table: Table, frame: pd.DataFrame) -> None:
    from settlements.errors import InputError

    missing = [c for c in table.required_columns if c not in frame.columns]
    if missing:
        raise InputError(f"table {table.name} lacks required column(s) {', '.join(missing)}")


def _pseudonymise_identifiers(
    table: Table, frame: pd.DataFrame, key: bytes | None
) -> tuple[pd.DataFrame, int]:
    """The frame with identifier columns replaced by pseudonyms, and the invalid-certno count.

    An identifier column is caught under its contract name in any table, also as an extra
    column (a 5203 settlement export carries ``certno`` and ``psn_name`` too); resident ID
    numbers are counted as invalid in ``persons`` only, once per person.
    """
    replaced: dict[str, pd.Series] = {}
    invalid = 0
    for name in [c for c in frame.columns if c in IDENTIFIER_COLUMNS]:
        values = frame[name]
        if name == "certno":
            values = normalise_certno(values).where(values.notna())
            if table is PERSONS:
                invalid = count_invalid_certno(values)
        else:
            values = normalise_name(values).where(values.notna())
        values = values.where(values != "")
        if values.notna().any():
            replaced[name] = pseudonymise(values, require_key(key, f"{table.name}.{name}"))
        else:
            replaced[name] = values.astype(TEXT)
    return (frame.assign(**replaced) if replaced else frame), invalid


def _missing(values: pd.Series) -> np.ndarray:
    """Rows without a value: missing, or empty text. (Arrow and numpy directly: this runs
    for every key and required column, so pandas' per-operation cost adds up on the
    service's one-settlement checks.)"""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        empty = pc.fill_null(pc.equal(_arrow(values), ""), True)
        return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    if isinstance(values.dtype, np.dtype):
        return np.asarray(pd.isna(values.to_numpy()), dtype=bool)
    mask = values.isna()
    if isinstance(values.dtype, pd.StringDtype):
        mask = mask | (values == "")
    return mask.to_numpy(dtype=bool)


def _check_cells(
    table: Table,
    typed: TypedTable,
    settings: IntakeSettings,
    failures: _Failures,
    codes: dict[str, _Codes],
) -> None:
    """Rules every table shares: parseable cells, keys and required values, codes, duplicates."""
    frame, cells = typed.frame, typed.columns
    for name, bad in typed.unparseable.items():
        kind = table.column(name).kind
        if kind in ("date", "datetime"):
            expected = "yyyy-MM-dd" if kind == "date" else "yyyy-MM-dd HH:mm:ss"
            failures.add("unparseable_date", f"{name} is not a {kind} ({expected})", bad)
        else:
            failures.add("unparseable_number", f"{name} is not a number", bad)
    for name in table.key:
        failures.add("missing_key", f"{name} is missing", _missing(cells[name]))
    for column in table.columns:
        if column.name in table.key or column.name not in cells:
            continue
        if must_have_value(table, column, settings.blank_allowed):
            failures.add("missing_value", f"{column.name} is missing", _missing(cells[column.name]))
    for column in table.columns:
        if column.codes is None or column.name not in cells:
            continue
        values = _arrow(cells[column.name])
        known = pc.is_in(values, value_set=_code_set(column.codes))
        unknown = pc.and_(known.is_valid(), pc.invert(known)).to_numpy(zero_copy_only=False)
        unknown &= ~_missing(cells[column.name])
        failures.add("unknown_code", f"{column.name} has an unknown code", unknown)
    _check_duplicates(table, frame, failures, codes, cells)


@cache
def _code_set(codes: frozenset[str]) -> pa.Array:
    """A coded column's known codes as the Arrow value set of ``is_in`` (built once)."""
    return pa.array(sorted(codes))


@dataclass(frozen=True)
class _Codes:
    """A text column dictionary-encoded once (one hash pass), shared by the key and
    reference checks: per row, the index of its value in ``values``; -1 when missing."""

    index: np.ndarray
    values: pa.Array


_COUNTING_SLACK = 1_000_000
"""Keys whose combined codes stay below 4 x rows + this are counted with ``np.bincount``
(one array of that size); larger ones are hashed."""


def _encode(
    frame: pd.DataFrame,
    column: str,
    cache: dict[str, _Codes],
    cells: Mapping[str, pd.Series] | None = None,
) -> _Codes:
    if column not in cache:
        array = _arrow(frame[column] if cells is None else cells[column])
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        encoded = pc.dictionary_encode(array)
        index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        cache[column] = _Codes(index=index, values=encoded.dictionary)
    return cache[column]


def _check_duplicates(
    table: Table,
    frame: pd.DataFrame,
    failures: _Failures,
    cache: dict[str, _Codes],
    cells: Mapping[str, pd.Series] | None = None,
) -> None:
    key = list(table.key)
    codes = [_encode(frame, name, cache, cells) for name in key]
    # one integer per row for the whole key; 0 for rows missing a part (missing_key already)
    combined = codes[0].index + 1
    missing = codes[0].index < 0
    for more in codes[1:]:
        combined = combined * (len(more.values) + 1) + (more.index + 1)
        missing |= more.index < 0
    combined[missing] = 0
    if combined.max(initial=0) < 4 * len(frame) + _COUNTING_SLACK:
        repeated = np.bincount(combined)[combined] > 1
    else:  # a key of many parts with many distinct values: hash instead of counting
        repeated = pd.Series(combined).duplicated(keep=False).to_numpy(dtype=bool)
    shared = repeated & ~missing
    if not shared.any():
        return
    where = np.flatnonzero(shared)
    among = frame.iloc[where]
    copy = among.duplicated(keep="first").to_numpy(dtype=bool)
    exact = np.zeros(len(frame), dtype=bool)
    exact[where[copy]] = True
    failures.add("duplicate_row", "exact copy of an earlier row", exact)
    rest = among[~copy]
    conflicting = np.zeros(len(frame), dtype=bool)
    conflicting[where[~copy][rest.duplicated(subset=key, keep=False).to_numpy(dtype=bool)]] = True
    failures.add("duplicate_key", f"{' + '.join(key)} shared by different rows", conflicting)


def _check_table(
    table: Table,
    frame: pd.DataFrame,
    failures: _Failures,
    settings: IntakeSettings,
    typed_all: Mapping[str, pd.DataFrame],
    judged: Mapping[str, _Judged],
    codes: dict[str, _Codes],
) -> None:
    """Rules of one table, including references to the parent tables already judged."""
    if table is PERSONS and "dead_date" in frame.columns:
        failures.add("death_before_birth", "dead_date is before brdy", frame.dead_date < frame.brdy)
    elif table is INSTITUTIONS:
        for name, limit in (("lat", 90.0), ("lon", 180.0)):
            if name in frame.columns:
                failures.add(
                    "coordinates_out_of_range", f"{name} out of range", frame[name].abs() > limit
                )
        if "aprv_bed_cnt" in frame.columns:
            failures.add("negative_number", "aprv_bed_cnt is negative", frame.aprv_bed_cnt < 0)
    elif table is SETTLEMENTS:
        _check_settlements(frame, failures, typed_all, judged)
    elif table is FEE_DETAILS:
        _check_fee_details(frame, failures, settings, typed_all, judged, codes)
    elif table is CATALOG and {"lmt_age_min", "lmt_age_max"} <= set(frame.columns):
        failures.add(
            "age_range_reversed",
            "lmt_age_min is above lmt_age_max",
            frame.lmt_age_min > frame.lmt_age_max,
        )


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values, from_pandas=True)


def _reference(
    values: pd.Series,
    all_keys: pd.Series,
    accepted_keys: pd.Series,
    codes: _Codes | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For references to a parent table: the position of each row's accepted parent (-1
    when none), and the masks of references absent from the parent table and of those whose
    parent row was quarantined. With ``codes`` the lookup runs once per distinct value."""
    if codes is None:
        position = pc.index_in(_arrow(values), value_set=_arrow(accepted_keys))
        at = position.fill_null(-1).to_numpy(zero_copy_only=False)
    else:
        position = pc.index_in(codes.values, value_set=_arrow(accepted_keys))
        per_value = position.fill_null(-1).to_numpy(zero_copy_only=False)
        at = np.where(codes.index >= 0, per_value[np.maximum(codes.index, 0)], -1)
    unlinked = np.flatnonzero((at < 0) & values.notna().to_numpy(dtype=bool))
    absent = np.zeros(len(values), dtype=bool)
    quarantined = np.zeros(len(values), dtype=bool)
    if len(unlinked):
        known = values.iloc[unlinked].isin(all_keys.dropna().unique()).to_numpy(dtype=bool)
        absent[unlinked[~known]] = True
        quarantined[unlinked[known]] = True
    return at, absent, quarantined


def _is_refund(frame: pd.DataFrame) -> np.ndarray:
    if "refd_setl_flag" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return (frame.refd_setl_flag == "1").to_numpy(dtype=bool)


def _check_settlements(
    frame: pd.DataFrame,
    failures: _Failures,
    typed_all: Mapping[str, pd.DataFrame],
    judged: Mapping[str, _Judged],
) -> None:
    for ref, parent, what in (
        ("psn_no", PERSONS, "person"),
        ("fixmedins_code", INSTITUTIONS, "institution"),
    ):
        _, absent, quarantined = _reference(
            frame[ref], typed_all[parent.name][ref], judged[parent.name].accepted[ref]
        )
        failures.add(f"unknown_{what}", f"{ref} not in {parent.name}", absent)
        failures.add(f"{what}_quarantined", f"{what} quarantined", quarantined)
    failures.add("end_before_start", "enddate is before begndate", frame.enddate < frame.begndate)
    failures.add(
        "settled_before_start", "setl_time is before begndate", frame.setl_time < frame.begndate
    )
    ordinary = ~_is_refund(frame)
    for column in SETTLEMENTS.columns:
        if column.kind == "money":
            negative = ordinary & (frame[column.name] < 0).to_numpy(dtype=bool)
            failures.add("negative_amount", f"{column.name} is negative (not a refund)", negative)


def _check_fee_details(
    frame: pd.DataFrame,
    failures: _Failures,
    settings: IntakeSettings,
    typed_all: Mapping[str, pd.DataFrame],
    judged: Mapping[str, _Judged],
    codes: dict[str, _Codes],
) -> None:
    settlements = judged["settlements"].accepted
    at, absent, quarantined = _reference(
        frame.setl_id,
        typed_all["settlements"].setl_id,
        settlements.setl_id,
        _encode(frame, "setl_id", codes),
    )
    failures.add("unknown_settlement", "setl_id not in settlements", absent)
    failures.add("settlement_quarantined", "settlement quarantined", quarantined)
    if len(settlements) == 0:
        return
    linked = at >= 0
    at = np.where(linked, at, 0)

    own_visit = _arrow(frame.mdtrt_id)
    their_visit = pc.take(_arrow(settlements.mdtrt_id), pa.array(at))
    same = pc.fill_null(pc.equal(own_visit, their_visit), True).to_numpy(zero_copy_only=False)
    failures.add("visit_mismatch", "mdtrt_id differs from its settlement's", linked & ~same)

    ordinary = linked & ~_is_refund(settlements)[at]
    cnt = frame.cnt.to_numpy(dtype=float)
    pric = frame.pric.to_numpy(dtype=float)
    total = frame.det_item_fee_sumamt.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        failures.add(
            "non_positive_quantity", "cnt is not positive (not a refund)", ordinary & (cnt <= 0)
        )
        failures.add("negative_price", "pric is negative (not a refund)", ordinary & (pric < 0))
        failures.add(
            "negative_amount",
            "det_item_fee_sumamt is negative (not a refund)",
            ordinary & (total < 0),
        )
        expected = cnt * pric
        allowed = settings.line_total_abs_tolerance + settings.line_total_rel_tolerance * np.abs(
            expected
        )
        failures.add(
            "line_total_mismatch",
            "det_item_fee_sumamt differs from cnt * pric",
            np.abs(total - expected) > allowed,
        )

    slack = np.timedelta64(settings.fee_time_slack_days, "D")
    when = frame.fee_ocur_time.to_numpy()
    begin = settlements.begndate.to_numpy()[at] - slack
    end = settlements.enddate.to_numpy()[at] + np.timedelta64(1, "D") + slack
    outside = linked & ((when < begin) | (when >= end))
    failures.add("fee_outside_stay", "fee_ocur_time outside the stay", outside)


def _judge(table: Table, raw: pd.DataFrame, typed: pd.DataFrame, failures: _Failures) -> _Judged:
    which = failures.first()
    bad = which >= 0
    accepted = _keep_rows(typed, ~bad) if bad.any() else typed.reset_index(drop=True)
    rows = np.flatnonzero(bad)
    rules = np.array([f[0] for f in failures.found] or [""], dtype=object)[which[rows]]
    reasons = np.array([f[1] for f in failures.found] or [""], dtype=object)[which[rows]]
    quarantined = _keep_rows(raw, bad) if len(rows) else raw.iloc[0:0].reset_index(drop=True)
    quarantined.insert(0, "reason", pd.Series(reasons, dtype=TEXT), allow_duplicates=True)
    quarantined.insert(0, "rule", pd.Series(rules, dtype=TEXT), allow_duplicates=True)
    reconciliation = TableReconciliation(
        table=table.name,
        read=len(raw),
        accepted=len(accepted),
        quarantined=len(quarantined),
        reasons=_counts(reasons),
        rules=_counts(rules),
    )
    return _Judged(accepted=accepted, quarantined=quarantined, reconciliation=reconciliation)


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows where ``keep`` is true, column by column: Arrow-backed columns are filtered
    by Arrow (several times faster than a pandas take over chunked strings)."""
    mask = pa.array(keep)
    columns: dict[str, pd.Series] = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
            kept = values.dtype.__from_arrow__(_arrow(values).filter(mask))  # type: ignore[attr-defined]
            columns[name] = pd.Series(kept, name=name, copy=False)
        elif isinstance(values.dtype, np.dtype):
            columns[name] = pd.Series(values.to_numpy()[keep], name=name, copy=False)
        else:
            columns[name] = values[keep].reset_index(drop=True)
    return pd.DataFrame(columns, columns=frame.columns, copy=False)


def _counts(values: np.ndarray) -> dict[str, int]:
    if len(values) == 0:
        return {}
    counts = pd.Series(values).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _problems(
    reconciliation: Mapping[str, TableReconciliation], settings: IntakeSettings
) -> list[str]:
    problems = []
    for table in INPUT_TABLES:
        r = reconciliation.get(table.name)
        if r is None:
            continue
        if table.required and r.accepted == 0:
            problems.append(f"{table.name}: no row accepted (read {r.read})")
        elif r.quarantined_share > settings.max_quarantined_share:
            problems.append(
                f"{table.name}: {r.quarantined_share:.1%} of rows quarantined "
                f"(limit {settings.max_quarantined_share:.1%})"
            )
    return problems

"""Typed frames at the intake boundary: coercing raw columns to the contract's types, and
the pandera schemas that the accepted tables satisfy.

After intake, codes and other ``str`` columns are pandas ``str`` (leading zeros kept),
``date`` and ``datetime`` columns are ``datetime64[ns]`` (dates at midnight), ``money`` and
``number`` columns are ``float64``; identifier columns hold 32-hex-digit pseudonyms. Extra
columns pass through untouched. Optional columns that were absent stay absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from settlements.dataset import Dataset
from settlements.pseudonym import PSEUDONYM_PATTERN
from settlements.schema import TABLES, Column, Table

if TYPE_CHECKING:
    import pandera.pandas as pa

DATETIME_DTYPE = "datetime64[ns]"
TEXT = pd.StringDtype(na_value=np.nan)
"""pandas' ``str`` dtype as an object: converting to it by name looks the name up in the
dtype registry every time, a cost that adds up over the columns of many small tables."""
_DATETIME = np.dtype(DATETIME_DTYPE)
_EARLIEST = pd.Timestamp("1678-01-01")
_LATEST = pd.Timestamp("2261-12-31")


@dataclass(frozen=True)
class TypedTable:
    """A table coerced to contract types, with the cells that could not be coerced."""

    frame: pd.DataFrame
    unparseable: dict[str, np.ndarray]
    """Column -> boolean mask of rows whose value was present but not of the column's type."""
    columns: dict[str, pd.Series]
    """The frame's columns by name (each rule reads them without a frame look-up)."""


def coerce_table(table: Table, raw: pd.DataFrame) -> TypedTable:
    """A new frame with each contract column of ``raw`` converted to its contract type.

    Values that cannot be converted become missing and are reported in ``unparseable``;
    ``raw`` is not changed.
    """
    columns: dict[str, pd.Series] = {}
    unparseable: dict[str, np.ndarray] = {}
    present = set(raw.columns)
    for column in table.columns:
        if column.name not in present:
            continue
        typed, bad = coerce_column(column, raw[column.name])
        columns[column.name] = typed
        if bad is not None and bad.any():
            unparseable[column.name] = bad
    every = {name: columns[name] if name in columns else raw[name] for name in raw.columns}
    # one frame built from the columns (``assign`` would set them one by one)
    frame = pd.DataFrame(every, index=raw.index, columns=raw.columns, copy=False)
    return TypedTable(frame=frame, unparseable=unparseable, columns=every)


def coerce_column(column: Column, values: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """One column in its contract type, and the mask of present values that did not convert."""
    if column.kind == "str":
        return _as_text(values), None
    if column.kind in ("date", "datetime"):
        return _as_datetime(values, date_only=column.kind == "date")
    return _as_float(values)


def _as_text(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.StringDtype):
        if values.dtype.na_value is np.nan:
            return values
        if values.dtype.storage == "pyarrow":  # the same Arrow data, NaN as missing
            text = TEXT.__from_arrow__(pa.array(values, from_pandas=True))  # type: ignore[attr-defined]
            return pd.Series(text, index=values.index, name=values.name, copy=False)
        return values.astype(TEXT)  # another string dtype: missing stays missing
    if pd.api.types.is_float_dtype(values.dtype):
        present = values.dropna()
        if (present == np.floor(present)).all():
            values = values.astype("Int64")
    text = values.astype(TEXT)
    return text.where(values.notna())


def _as_datetime(values: pd.Series, *, date_only: bool) -> tuple[pd.Series, np.ndarray | None]:
    bad: np.ndarray | None = None
    if values.dtype == _DATETIME:
        return _as_typed_datetime(values, date_only=date_only)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values
    elif (fast := _arrow_cast(values, pa.timestamp("ns"))) is not None:
        parsed = fast
    else:
        text = values.astype("str").str.strip()
        present = text.notna() & (text != "")
        parsed = _parse_iso(text.where(present))
        bad = (present & parsed.isna()).to_numpy(dtype=bool)
    in_range = parsed.isna() | ((parsed >= _EARLIEST) & (parsed <= _LATEST))
    if not in_range.all():
        out = (~in_range).to_numpy(dtype=bool)
        bad = out if bad is None else bad | out
        parsed = parsed.where(in_range)
    typed = parsed.astype(DATETIME_DTYPE)
    if date_only:
        typed = typed.dt.normalize()
    return typed, bad


def _as_typed_datetime(
    values: pd.Series, *, date_only: bool
) -> tuple[pd.Series, np.ndarray | None]:
    """A column already ``datetime64[ns]`` (the service's requests, typed frames): the
    range check and the normalisation of dates in numpy, one pass each."""
    when = values.to_numpy()
    out = ~np.isnat(when) & ((when < _EARLIEST.to_datetime64()) | (when > _LATEST.to_datetime64()))
    bad: np.ndarray | None = None
    if out.any():
        bad = out
        when = np.where(out, np.datetime64("NaT", "ns"), when)
    if date_only:
        when = when.astype("datetime64[D]").astype(_DATETIME)
    return pd.Series(when, index=values.index, name=values.name), bad


def _parse_iso(text: pd.Series) -> pd.Series:
    """ISO 8601 text to naive date-times. Offsets should not occur (the contract's times are
    local); one offset shared by all rows is dropped, differing offsets are taken to UTC."""
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):  # offsets that differ between rows
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _as_float(values: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    if isinstance(values.dtype, np.dtype) and values.dtype == np.float64:
        infinite = np.isinf(values.to_numpy())  # typed already: infinities are not numbers
        if infinite.any():
            return values.where(~infinite), infinite
        return values, None
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
        present = values.notna().to_numpy(dtype=bool)
    elif (fast := _arrow_cast(values, pa.float64())) is not None:
        numbers = fast
        present = values.notna().to_numpy(dtype=bool)
    else:
        text = values.astype("str").str.strip()
        present = (text.notna() & (text != "")).to_numpy(dtype=bool)
        numbers = pd.to_numeric(text.where(present), errors="coerce").astype("float64")
    finite = np.isfinite(numbers.to_numpy())
    bad = present & ~finite
    if bad.any():
        numbers = numbers.where(finite)
        return numbers, bad
    return numbers, None


def _arrow_cast(values: pd.Series, to: pa.DataType) -> pd.Series | None:
    """Arrow-backed text cast by Arrow in one go — the fast path for clean CSV columns;
    ``None`` when any cell does not convert, so the caller finds which ones cell by cell."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    try:
        cast = pc.cast(pa.array(values), to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=values.index, name=values.name)


@cache
def boundary_schema(table_name: str) -> pa.DataFrameSchema:
    """The pandera schema that an accepted table satisfies (the intake → features boundary).

    Keys, references, codes, dates and amounts are non-null; codes are known; the key is
    unique; identifier columns hold pseudonyms. Extra columns are allowed.
    """
    import pandera.pandas as pa

    table = TABLES[table_name]
    columns = {}
    for column in table.columns:
        checks = []
        if column.codes is not None:
            checks.append(pa.Check.isin(sorted(column.codes), ignore_na=True))
        if column.identifier:
            checks.append(pa.Check.str_matches(PSEUDONYM_PATTERN, ignore_na=True))
        dtype = {"str": "str", "date": DATETIME_DTYPE, "datetime": DATETIME_DTYPE}.get(
            column.kind, "float64"
        )
        columns[column.name] = pa.Column(
            dtype,
            checks=checks,
            nullable=not _always_has_value(table, column),
            required=column.required,
        )
    return pa.DataFrameSchema(
        columns,
        name=table.name,
        unique=list(table.key),
        strict=False,
        coerce=False,
    )


def must_have_value(table: Table, column: Column, blank_allowed: tuple[str, ...]) -> bool:
    """Whether a row without a value in ``column`` is quarantined: every required column
    except plain descriptive text listed in ``blank_allowed``."""
    if not column.required:
        return False
    return _always_has_value(table, column) or column.name not in blank_allowed


def _always_has_value(table: Table, column: Column) -> bool:
    """Required keys, references, codes, dates and amounts, whatever the settings say."""
    if not column.required:
        return False
    if column.name in table.key or column.name in table.references:
        return True
    return column.kind != "str" or column.codes is not None


def check_dataset(dataset: Dataset) -> Dataset:
    """Check every present table against its boundary schema once; raise
    ``pandera.errors.SchemaErrors`` listing every failure when one does not conform."""
    for name, frame in dataset.tables():
        boundary_schema(name).validate(frame, lazy=True)
    return dataset

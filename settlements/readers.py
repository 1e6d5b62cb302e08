"""Reading a dataset directory into raw frames: one Parquet or CSV file per contract table.

Reading only checks that each file can be used at all (present, readable, with its
required columns); rows are judged later by validation. A file that cannot be used raises
``InputError`` naming the file and the problem. CSV cells are read as text so that codes
keep their leading zeros; typing happens in ``settlements.frames``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.progress import Track, no_track
from settlements.schema import INPUT_TABLES, Table

SUFFIXES = (".parquet", ".csv", ".csv.gz")
UTF8_HINT = "; save it as UTF-8 (a GBK export: `iconv -f GBK -t UTF-8 in.csv > out.csv`)"


def locate_table(directory: Path, table: Table) -> Path | None:
    """The file holding ``table`` in ``directory``, or ``None`` when there is none.

    ``<table>.parquet`` may also be a directory of Parquet part files, as Spark writes it.
    """
    found = [directory / f"{table.name}{suffix}" for suffix in SUFFIXES]
    found = [
        path
        for path in found
        if path.is_file() or (path.is_dir() and path.name.endswith(".parquet"))
    ]
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise InputError(f"{directory}: {table.name} is given twice ({names}); keep one file")
    return found[0] if found else None


def read_raw_dataset(directory: Path, track: Track = no_track) -> Dataset:
    """Every contract table present in ``directory``, as read (not yet typed or validated)."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory: give the dataset directory")
    frames: dict[str, pd.DataFrame | None] = {}
    for table in INPUT_TABLES:
        path = locate_table(directory, table)
        if path is None:
            if table.required:
                raise InputError(
                    f"{directory}: required table {table.name} is missing "
                    f"(expected {table.name}.parquet or {table.name}.csv)"
                )
            frames[table.name] = None
            continue
        frames[table.name] = read_table_file(path, table, track)
    return Dataset(**frames)  # type: ignore[arg-type]


def read_table_file(path: Path, table: Table, track: Track = no_track) -> pd.DataFrame:
    """One table file as a raw frame; ``InputError`` when it cannot be used."""
    if path.name.endswith(".parquet"):
        return _read_parquet(path, table, track)
    return _read_csv(path, table)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_columns(path: Path, table: Table, names: list[str]) -> None:
    missing = [c for c in table.required_columns if c not in names]
    if missing:
        raise InputError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} of table {table.name}"
        )


def _read_parquet(path: Path, table: Table, track: Track) -> pd.DataFrame:
    """A Parquet file read row group by row group (one progress step each), or a directory
    of part files read part by part."""
    try:
        if path.is_dir():
            parts = sorted(p for p in path.rglob("*.parquet") if p.is_file())
            if not parts:
                raise InputError(f"{path}: a directory without Parquet part files")
            _check_columns(path, table, pq.read_schema(parts[0]).names)
            pieces = [pq.read_table(p) for p in track(parts, f"reading {table.name}", len(parts))]
            arrow = pa.concat_tables(pieces, promote_options="permissive")
        else:
            parquet = pq.ParquetFile(path)
            _check_columns(path, table, parquet.schema_arrow.names)
            count = parquet.num_row_groups
            groups = [
                parquet.read_row_group(i)
                for i in track(range(count), f"reading {table.name}", count)
            ]
            arrow = pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    return _to_pandas(arrow)


def _to_pandas(arrow: pa.Table) -> pd.DataFrame:
    """Arrow to pandas with decimals as float64 and dates as datetime64 (no Python objects)."""
    for i, field in enumerate(arrow.schema):
        if pa.types.is_decimal(field.type):
            arrow = arrow.set_column(i, field.name, arrow.column(i).cast(pa.float64()))
        elif pa.types.is_date(field.type):
            arrow = arrow.set_column(i, field.name, arrow.column(i).cast(pa.timestamp("s")))
    return arrow.to_pandas()


def _read_csv(path: Path, table: Table) -> pd.DataFrame:
    try:
        opener = _gzip_text if path.name.endswith(".gz") else _plain_text
        with opener(path) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({_first_line(exc)}){UTF8_HINT}") from None
    except OSError as exc:
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
    if not header:
        raise InputError(f"{path}: empty file, expected a CSV header line")
    names = [name.strip() for name in header]
    _check_columns(path, table, names)
    try:
        arrow = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowException, OSError) as exc:
        hint = UTF8_HINT if "utf8" in str(exc).lower().replace("-", "") else ""
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)}){hint}") from None
    return arrow.to_pandas()


def _plain_text(path: Path):  # type: ignore[no-untyped-def]
    return path.open(encoding="utf-8-sig", newline="")


def _gzip_text(path: Path):  # type: ignore[no-untyped-def]
    import gzip

    return gzip.open(path, "rt", encoding="utf-8-sig", newline="")

"""A dataset: the contract's tables held as typed pandas frames.

This is what crosses the boundary from intake to features. After intake, codes are
pandas ``string`` columns (leading zeros kept), dates and datetimes are
``datetime64[ns]``, money and numbers are ``float64``; direct identifiers have been
replaced by pseudonyms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """The tables of one dataset directory. Optional tables are ``None`` when absent."""

    settlements: pd.DataFrame
    fee_details: pd.DataFrame
    persons: pd.DataFrame
    institutions: pd.DataFrame
    catalog: pd.DataFrame | None = None
    labels: pd.DataFrame | None = None

    def tables(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """The present tables, by contract name."""
        for f in fields(self):
            frame = getattr(self, f.name)
            if frame is not None:
                yield f.name, frame

    def with_tables(self, **frames: pd.DataFrame | None) -> Dataset:
        """A copy with some tables replaced."""
        return replace(self, **frames)  # type: ignore[arg-type]

    def write(self, directory: Path, fmt: str = "parquet") -> None:
        """Write every present table as ``<name>.parquet`` (or ``.csv``) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables():
            if fmt == "parquet":
                frame.to_parquet(directory / f"{name}.parquet", index=False)
            elif fmt == "csv":
                frame.to_csv(directory / f"{name}.csv", index=False, date_format=None)
            else:
                raise ValueError(f"unknown format {fmt!r}: use parquet or csv")

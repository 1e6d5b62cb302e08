"""Keyed pseudonyms for direct identifiers (resident ID numbers, names).

A pseudonym is the first 32 hex digits (128 bits) of HMAC-SHA256(key, normalised value).
The same value and key always give the same pseudonym, so a person can be followed across
datasets without their identity; without the key the pseudonym cannot be reversed or
recomputed (a resident ID number has too few possibilities for a plain hash to hide it).
"""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd
from stdnum.cn import ric

from settlements.errors import InputError

PSEUDONYM_LENGTH = 32
"""Hex digits kept of the HMAC-SHA256 digest."""
PSEUDONYM_PATTERN = rf"^[0-9a-f]{{{PSEUDONYM_LENGTH}}}$"


def pseudonym(value: str, key: bytes) -> str:
    """The pseudonym of one already-normalised identifier value."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()[:PSEUDONYM_LENGTH]


def certno_pseudonym(certno: str, key: bytes) -> str:
    """The pseudonym intake gives this resident ID number: for the credit ledger, which
    must name an individual by the same pseudonym as the scored data."""
    return pseudonym(normalise_certno(pd.Series([certno])).iloc[0], key)


def name_pseudonym(name: str, key: bytes) -> str:
    """The pseudonym intake gives this person's name."""
    return pseudonym(normalise_name(pd.Series([name])).iloc[0], key)


def normalise_certno(values: pd.Series) -> pd.Series:
    """Resident ID numbers without surrounding space, inner spaces or dashes, and with an
    upper-case check letter, so that formatting does not change the pseudonym. (Plain
    replacements rather than a regular expression: Arrow does them without Python.)"""
    text = values.astype("str").str.strip()
    return text.str.replace(" ", "", regex=False).str.replace("-", "", regex=False).str.upper()


def normalise_name(values: pd.Series) -> pd.Series:
    """Names without surrounding or inner whitespace (``张 三`` and ``张三`` are one name)."""
    return values.astype("str").str.replace(r"\s+", "", regex=True)


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Replace each value by its pseudonym; missing values stay missing.

    Each distinct value is hashed once (HMAC has no vectorised form; distinct
    identifiers are at most one per person).
    """
    codes, uniques = pd.factorize(values)
    half = PSEUDONYM_LENGTH // 2  # bytes; as ``pseudonym``, inlined for speed
    digests = np.array(
        [hmac.digest(key, str(u).encode("utf-8"), "sha256")[:half].hex() for u in uniques.tolist()]
        + [None],
        dtype=object,
    )
    # code -1 (missing) picks the trailing None
    return pd.Series(digests[codes], index=values.index, dtype="str", name=values.name)


def count_invalid_certno(values: pd.Series) -> int:
    """How many present, normalised resident ID numbers ``stdnum.cn.ric.is_valid`` rejects
    (length, digits, check digit, birth date, birth place)."""
    present = values.dropna()
    present = present[present != ""]
    return int((~valid_certno(present)).sum())


def valid_certno(values: pd.Series) -> np.ndarray:
    """Per value, ``stdnum.cn.ric.is_valid`` — computed in bulk.

    Length, digits, check digit and birth date are checked vectorised with stdnum's rules;
    the birth-place lookup (stdnum's region database, valid for the birth year) is asked
    once per distinct (region, birth year) pair, so stdnum still has the last word.
    """
    text = values.astype("str").str.strip().str.upper()  # as stdnum's compact
    valid = text.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(valid)
    if len(rows) == 0:
        return valid
    chars = np.frombuffer(
        text.iloc[rows].to_numpy(dtype="U18").astype("S18").tobytes(), dtype=np.uint8
    ).reshape(len(rows), 18)
    digits = chars[:, :17].astype(np.int64) - ord("0")
    # stdnum: (1 - 2 * int(first 17 digits, base 13)) % 11, and 13 ≡ 2 (mod 11)
    check = (1 - 2 * (digits * (2 ** np.arange(16, -1, -1) % 11)).sum(axis=1)) % 11
    expected = np.where(check == 10, ord("X"), check + ord("0"))
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[
        np.clip(month, 1, 12) - 1
    ] + ((month == 2) & leap)
    ok = (chars[:, 17] == expected) & (year >= 1) & (month >= 1) & (month <= 12)
    ok &= (day >= 1) & (day <= month_days)
    place_year = pd.DataFrame(
        {"region": text.iloc[rows].str.slice(0, 6).to_numpy(), "year": year, "row": rows}
    )[ok]
    first = place_year.drop_duplicates(["region", "year"])
    first = first.assign(placed=[ric.is_valid(str(text.iloc[row])) for row in first.row])
    placed = place_year.merge(
        first[["region", "year", "placed"]], on=["region", "year"], how="left"
    ).placed.to_numpy(dtype=bool)
    result = np.zeros(len(text), dtype=bool)
    result[place_year.row.to_numpy()[placed]] = True
    return result


def require_key(key: bytes | None, where: str) -> bytes:
    """The key, or a one-line error saying how to provide it."""
    if not key:
        raise InputError(
            f"{where} holds direct identifiers but no pseudonym key is set: "
            "set FUNDGUARD_PSEUDONYM_KEY to a long random secret (e.g. `openssl rand -hex 32`)"
        )
    return key

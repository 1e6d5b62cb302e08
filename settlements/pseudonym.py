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


def normalise_certno(values: pd.Series) -> pd.Series:
    """Resident ID numbers as ``stdnum.cn.ric.compact`` writes them: no spaces or dashes,
    upper-case check letter, so that formatting does not change the pseudonym."""
    return values.astype("str").str.replace(r"[\s\-]", "", regex=True).str.upper()


def normalise_name(values: pd.Series) -> pd.Series:
    """Names without surrounding or inner whitespace (``张 三`` and ``张三`` are one name)."""
    return values.astype("str").str.replace(r"\s+", "", regex=True)


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Replace each value by its pseudonym; missing values stay missing.

    Each distinct value is hashed once (HMAC has no vectorised form; distinct
    identifiers are at most one per person).
    """
    codes, uniques = pd.factorize(values)
    digests = np.array([pseudonym(str(u), key) for u in uniques] + [None], dtype=object)
    # code -1 (missing) picks the trailing None
    return pd.Series(digests[codes], index=values.index, dtype="str", name=values.name)


def count_invalid_certno(values: pd.Series) -> int:
    """How many present, normalised resident ID numbers fail ``stdnum.cn.ric`` validation
    (length, digits, check digit, birth date, birth place)."""
    present = values.dropna()
    present = present[present != ""]
    if present.empty:
        return 0
    codes, uniques = pd.factorize(present)
    valid = np.array([ric.is_valid(str(u)) for u in uniques], dtype=bool)
    return int((~valid[codes]).sum())


def require_key(key: bytes | None, where: str) -> bytes:
    """The key, or a one-line error saying how to provide it."""
    if not key:
        raise InputError(
            f"{where} holds direct identifiers but no pseudonym key is set: "
            "set FUNDGUARD_PSEUDONYM_KEY to a long random secret (e.g. `openssl rand -hex 32`)"
        )
    return key

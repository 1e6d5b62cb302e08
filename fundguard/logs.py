"""Structured, levelled logs on stderr: ``level=info logger=... event=... key=value``.

Log records carry counts, durations and codes — never personal identifiers.
"""

from __future__ import annotations

import json
import logging
import sys

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """One line per record: time, level, logger, message, then the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        return " ".join(f"{k}={_render(v)}" for k, v in fields.items())


def _render(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if (" " in text or "=" in text) else text


def configure_logging(level: str = "WARNING") -> None:
    """Send fundguard's logs to stderr at ``level``; quieten chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("mlflow", "alembic", "urllib3", "bentoml", "lightgbm", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

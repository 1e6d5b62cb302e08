"""Assemble README.md from docs/README.head.md, the area sections and docs/README.tail.md.

Run ``python docs/build_readme.py`` (``make readme``); ``--check`` exits 1 when README.md
is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
SECTIONS = (
    "synthetic.md",
    "intake.md",
    "cms-import.md",
    "features.md",
    "models.md",
    "supervision.md",
    "serving.md",
    "spark.md",
)


def assemble() -> str:
    """The README text: head, every present area section in flow order, tail."""
    parts = [(DOCS / "README.head.md").read_text(encoding="utf-8")]
    for name in SECTIONS:
        path = DOCS / name
        if path.is_file():
            parts.append(path.read_text(encoding="utf-8"))
    parts.append((DOCS / "README.tail.md").read_text(encoding="utf-8"))
    return "\n".join(p.rstrip() + "\n" for p in parts)


def main(argv: list[str]) -> int:
    text = assemble()
    readme = ROOT / "README.md"
    if "--check" in argv:
        if readme.read_text(encoding="utf-8") != text:
            print("README.md is stale: run `make readme`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

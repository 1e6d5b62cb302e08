"""The README is assembled from docs/; it must not drift from its parts."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_is_assembled_from_the_current_docs() -> None:
    builder = runpy.run_path(str(ROOT / "docs" / "build_readme.py"))
    expected = builder["assemble"]()
    actual = (ROOT / "README.md").read_text(encoding="utf-8")
    assert actual == expected, "README.md is stale: run `make readme`"


def test_readme_starts_with_the_two_commands_of_a_fresh_machine() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1]
    first_block = quick_start.split("```", 2)[1]
    assert "make demo" in first_block
    assert "make test" in first_block

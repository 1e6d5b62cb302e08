"""List the benchmarks with what each measures: ``python -m bench``.

Run one with ``python -m bench.<name> --help`` for its options.
"""

from __future__ import annotations

import ast
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    print("benchmarks (run: .venv/bin/python -m bench.<name>):")
    for path in sorted(here.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        print(f"  {path.stem:<20} {doc.strip().splitlines()[0] if doc else ''}")


if __name__ == "__main__":
    main()

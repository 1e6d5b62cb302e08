"""Whether a change to the signals' code leaves the ``FeatureSet`` as it was, value for
value: every level's frame and the evidence lines of the bench dataset.

    .venv/bin/python -m bench.features_equal --save fundguard-data/bench/fs-before.pkl
    (change the code)
    .venv/bin/python -m bench.features_equal --against fundguard-data/bench/fs-before.pkl

It builds the features of ``bench.bench_features``' dataset (``--settlements``, default
300,000; built there on first use) with the default workers, then saves them (pickle)
or compares them with a saved build: frames and evidence with ``assert_frame_equal`` and
``check_exact`` (dtypes, index, column order and every value, NaN where NaN). A speed-up
that changes no figure shows "identical" on every line. Exit status 1 when anything
differs.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

from bench.bench_features import prepare_dataset, read_dataset


def build(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """The bench dataset's frames by level and its evidence, as named frames."""
    from features.build import build_features

    fs = build_features(read_dataset(prepare_dataset(args)), check=False)
    return {**{level.value: frame for level, frame in fs.frames.items()}, "evidence": fs.evidence}


def differences(saved: dict[str, pd.DataFrame], built: dict[str, pd.DataFrame]) -> list[str]:
    """One line per frame: identical, or the first difference ``assert_frame_equal`` finds."""
    lines = []
    for name in sorted(saved.keys() | built.keys()):
        if name not in saved or name not in built:
            lines.append(f"{name}: only in the {'build' if name in built else 'saved one'}")
            continue
        try:
            pd.testing.assert_frame_equal(saved[name], built[name], check_exact=True)
        except AssertionError as exc:
            first = " ".join(str(exc).split())[:300]
            lines.append(f"{name}: DIFFERS {first}")
        else:
            lines.append(f"{name}: identical {built[name].shape}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settlements", type=int, default=300_000)
    parser.add_argument("--synthetic", type=int, default=0, help="persons of a synthetic world")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="write this build here")
    what.add_argument("--against", type=Path, help="compare this build with a saved one")
    args = parser.parse_args()
    if args.against and not args.against.is_file():
        sys.exit(f"no saved build at {args.against}: run with --save {args.against} first")
    built = build(args)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        with args.save.open("wb") as out:
            pickle.dump(built, out, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"saved {len(built)} frames to {args.save}")
        return
    with args.against.open("rb") as saved_file:
        saved = pickle.load(saved_file)
    lines = differences(saved, built)
    print("\n".join(lines))
    sys.exit(0 if all(": identical" in line for line in lines) else 1)


if __name__ == "__main__":
    main()

"""``fundguard score-spark``: the registered champion scores a world on Spark as ``score`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fundguard.cli import build_app, settings
from models.scoring import LEAD_COLUMNS
from settlements.synthetic.generate import generate_world

FAST_ENV = {
    "FUNDGUARD_MODELS__N_ESTIMATORS": "30",
    "FUNDGUARD_MODELS__CALIBRATION_FOLDS": "3",
    "FUNDGUARD_MODELS__COLD_START_TREES": "20",
    "FUNDGUARD_MODELS__MIN_CONFIRMED": "5",
    "FUNDGUARD_MODELS__MIN_REJECTED": "5",
    "FUNDGUARD_TRAINING__CV_FOLDS": "3",
    "FUNDGUARD_TRAINING__PLOTS": "false",
    "FUNDGUARD_PSEUDONYM_KEY": "test-key",
}
KEY = ["subject_type", "subject_id", "pattern"]


def test_unknown_order_is_one_line_error() -> None:
    result = CliRunner().invoke(
        build_app(), ["score-spark", "somewhere", "--out", "leads", "--order", "biggest"]
    )
    assert result.exit_code == 2
    assert "use score or expected_recovery" in result.output


def test_malformed_conf_is_one_line_error() -> None:
    result = CliRunner().invoke(
        build_app(), ["score-spark", "somewhere", "--out", "leads", "--conf", "no-equals"]
    )
    assert result.exit_code == 2
    assert "give key=value" in result.output


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_score_spark_writes_the_champions_leads_like_score(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a small world and a trained, promoted model in a tracking store under tmp_path
    world = tmp_path / "world"
    generate_world(250, seed=8).dataset.write(world)
    monkeypatch.setenv("FUNDGUARD_TRAINING__TRACKING_URI", f"sqlite:///{tmp_path / 'ml.db'}")
    monkeypatch.setenv("FUNDGUARD_TRAINING__ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    settings.cache_clear()
    runner = CliRunner()
    app = build_app()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("train", str(world))
    run("promote")
    run("score", str(world), "--out", str(tmp_path / "local.parquet"), "--top", "10")

    # when scoring the same directory on Spark
    output = run(
        "score-spark",
        str(world),
        "--out",
        str(tmp_path / "spark-leads"),
        "--top",
        "10",
        "--master",
        "local[2]",
        "--person-buckets",
        "3",
        "--shuffle-partitions",
        "3",
    )

    # then the leads are the contract's table from the champion, as `score` wrote them
    local = pd.read_parquet(tmp_path / "local.parquet")
    leads = pd.read_parquet(tmp_path / "spark-leads")
    assert "score-spark" in output and "fundguard/1" in output
    assert tuple(leads.columns) == LEAD_COLUMNS
    local = local.astype({k: "str" for k in KEY}).sort_values(KEY).reset_index(drop=True)
    leads = leads.astype({k: "str" for k in KEY}).sort_values(KEY).reset_index(drop=True)
    assert leads[KEY].equals(local[KEY])
    np.testing.assert_allclose(leads["score"], local["score"], rtol=1e-9, atol=1e-12)
    assert leads["rank"].tolist() == local["rank"].tolist()
    assert (leads["model_version"] == "fundguard/1").all()
    settings.cache_clear()


def test_spark_section_comes_from_the_environment_and_options_override_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fundguard.commands.spark import with_options
    from fundguard.settings import load_settings

    # given the spark section set by environment variables
    monkeypatch.setenv("FUNDGUARD_SPARK__SHUFFLE_PARTITIONS", "64")
    monkeypatch.setenv("FUNDGUARD_SPARK__PERSON_BUCKETS", "256")
    monkeypatch.setenv("FUNDGUARD_SPARK__CONF", '{"spark.executor.cores": "4"}')
    section = load_settings().spark
    assert (section.shuffle_partitions, section.person_buckets) == (64, 256)

    # when the command line gives some options
    merged = with_options(
        section, shuffle_partitions=8, person_buckets=None, conf={"spark.task.cpus": "1"}
    )

    # then those win, the others keep the section's values, and conf entries add up
    assert merged.shuffle_partitions == 8
    assert merged.person_buckets == 256
    assert merged.conf == {"spark.executor.cores": "4", "spark.task.cpus": "1"}

"""The commands end to end on a small synthetic world: train, promote, score, evaluate, show."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mlflow
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


@pytest.mark.slow
def test_train_promote_score_evaluate_on_a_small_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a small generated world and a tracking store under tmp_path
    world = tmp_path / "world"
    generate_world(300, seed=3).dataset.write(world)
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

    # when training, promoting and scoring
    assert "fundguard version 1" in run("train", str(world))
    assert "now @champion" in run("promote")
    leads_file = tmp_path / "leads.parquet"
    run("score", str(world), "--out", str(leads_file), "--top", "10")
    leads = pd.read_parquet(leads_file)
    # then the leads are the contract's table from the champion, top 10 per type and pattern
    assert tuple(leads.columns) == LEAD_COLUMNS
    assert (leads["model_version"] == "fundguard/1").all()
    assert leads.groupby(["subject_type", "pattern"]).size().max() == 10
    # and the pyfunc model scores the raw directory end to end, as the command did
    model = mlflow.pyfunc.load_model("models:/fundguard@champion")
    direct = model.predict(pd.DataFrame({"dataset_dir": [str(world)]}), params={"top": 10})
    merged = leads.merge(direct, on=["subject_type", "subject_id", "pattern"])
    assert len(merged) == len(leads)
    assert (merged["score_x"] - merged["score_y"]).abs().max() < 1e-12
    # and evaluation writes its report; show prints the card
    report = tmp_path / "report"
    assert "cross-validation" in run("evaluate", str(world), "--out", str(report))
    assert (report / "index.html").is_file() and (report / "metrics.csv").is_file()
    assert "Known limits" in run("models", "show", "1")
    settings.cache_clear()

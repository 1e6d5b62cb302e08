"""The evaluation report: PNG plots (PR curves, calibration, precision@k) and one HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape
from sklearn.metrics import precision_recall_curve

from training.evaluation import Evaluation

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 32rem; margin: 0.5rem; border: 1px solid #eee; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ how }}</p>
{% if notes %}<ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<h2>Metrics per pattern and subject level</h2>
{{ table | safe }}
{% if methods %}<h2>Which scorer ranks each pattern</h2>{{ methods | safe }}{% endif %}
<h2>Plots</h2>
{% for p in plots %}<img src="{{ p }}" alt="{{ p }}">{% endfor %}
</body></html>
"""

SHOWN = [
    "subject_type",
    "pattern",
    "ranker",
    "method",
    "n",
    "confirmed",
    "roc_auc",
    "pr_auc",
    "precision_at_1pct",
    "recall_at_1pct",
    "precision_at_5pct",
    "recall_at_5pct",
    "lift_top_decile",
]


def write_report(
    evaluation: Evaluation,
    directory: Path,
    title: str,
    methods: pd.DataFrame | None = None,
    notes: list[str] | None = None,
    plots: bool = True,
) -> list[Path]:
    """Write metrics.csv, scores.parquet, the plots and index.html; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / "metrics.csv"]
    evaluation.metrics.to_csv(files[0], index=False)
    drawn = _plots(evaluation.scores, directory) if plots else []
    files += drawn
    metrics = evaluation.metrics
    shown = [c for c in SHOWN if c in metrics.columns] + [c for c in metrics.columns if "_top" in c]
    table = metrics[shown].to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–")
    page = (
        Environment(autoescape=select_autoescape())
        .from_string(PAGE)
        .render(
            title=title,
            how=evaluation.how,
            notes=notes or [],
            table=table,
            methods=methods.to_html(index=False) if methods is not None else "",
            plots=[p.name for p in drawn],
        )
    )
    index = directory / "index.html"
    index.write_text(page, encoding="utf-8")
    return [*files, index]


def _plots(scores: pd.DataFrame, directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[Path] = []
    if scores.empty:
        return out
    targets = list(scores.groupby(["subject_type", "pattern"], sort=True))
    for (level, pattern), part in targets:
        y = part["y"].to_numpy(dtype=int)
        if y.min() == y.max():
            continue
        name = f"{level}_{pattern}"
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        for ranker, value in (("model", part["score"]), ("rules", part["rules"])):
            precision, recall, _ = precision_recall_curve(y, value.to_numpy(dtype=float))
            axes[0].step(recall, precision, where="post", label=ranker)
        axes[0].axhline(y.mean(), color="grey", linestyle=":", label="base rate")
        axes[0].set(xlabel="recall", ylabel="precision", title=f"PR curve — {html.escape(name)}")
        axes[0].legend()
        _calibration(axes[1], y, part["score"].to_numpy(dtype=float), str(part["method"].iloc[0]))
        order = np.lexsort((-part["margin"].to_numpy(float), -part["score"].to_numpy(float)))
        ks = np.arange(1, len(y) + 1)
        axes[2].plot(ks, np.cumsum(y[order]) / ks, label="model")
        rules_order = np.argsort(-part["rules"].to_numpy(float), kind="stable")
        axes[2].plot(ks, np.cumsum(y[rules_order]) / ks, label="rules")
        axes[2].set(
            xlabel="k (subjects inspected)",
            ylabel="precision@k",
            xscale="log",
            title="precision at capacity",
        )
        axes[2].legend()
        fig.tight_layout()
        path = directory / f"{name}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        out.append(path)
    return out


def _calibration(ax: Any, y: np.ndarray, score: np.ndarray, method: str) -> None:
    from sklearn.calibration import calibration_curve

    bins = max(2, min(10, len(y) // 20))
    observed, predicted = calibration_curve(
        y, np.clip(score, 0, 1), n_bins=bins, strategy="quantile"
    )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.plot(predicted, observed, marker="o")
    note = "" if method == "supervised" else " (cold start: not a probability)"
    ax.set(
        xlabel="mean score",
        ylabel="share confirmed",
        title="calibration" + note,
    )

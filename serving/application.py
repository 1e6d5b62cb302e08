"""The serving-side application layer: what the endpoints and pages call.

One ``Application`` per worker holds the users, the champion scorer, the supervision
store and (optionally) the scored dataset that evidence timelines are drawn from. Each is
loaded on first use. Its methods are plain Python (no HTTP): the BentoML service and the
console are thin shells over them, and tests call them directly.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.config import FeatureSettings
from serving.auth import UserRegistry
from serving.config import ServingSettings
from serving.schemas import CheckResult, FlagOut, PatternScore, SettlementIn, to_frames, to_lone
from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.errors import InputError
from supervision.config import SupervisionSettings
from training.config import TrainingSettings

if TYPE_CHECKING:
    from features.check import CheckSignals
    from models.scorer import FraudScorer
    from supervision.store import Store

log = logging.getLogger(__name__)

CHECK_LEVELS = ("visit", "person")
"""Subject levels a single settlement is judged at: its visit and its person."""


@dataclass
class Application:
    """Users, scoring and supervision of one data directory."""

    serving: ServingSettings
    data_dir: Path
    users: UserRegistry
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    store_url: str | None = None
    pseudonym_key: bytes | None = None
    _scorer: FraudScorer | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _evidence: Dataset | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _skips_noted: bool = field(default=False, repr=False)
    _check_signals: CheckSignals | None = field(default=None, repr=False)
    _check_signals_for: FeatureSettings | None = field(default=None, repr=False)

    # --- components -------------------------------------------------------------------

    def scorer(self) -> FraudScorer:
        """The champion scorer (``models:/<registered model>@<champion alias>``)."""
        with self._lock:
            if self._scorer is None:
                from training.registry import champion_uri, load_scorer

                uri = self.training.tracking_uri
                if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
                    raise InputError(
                        f"no model registry at {uri}: run `fundguard train` and "
                        "`fundguard promote` first"
                    )
                started = time.perf_counter()
                self._scorer = load_scorer(champion_uri(self.training), self.training)
                log.info(
                    "champion loaded",
                    extra={
                        "model_version": self._scorer.model_version,
                        "seconds": round(time.perf_counter() - started, 2),
                    },
                )
            return self._scorer

    def use_scorer(self, scorer: FraudScorer) -> None:
        """Serve ``scorer`` from now on (after a promotion, or in tests)."""
        with self._lock:
            self._scorer = scorer

    def forget_scorer(self) -> None:
        """Load the champion afresh on the next check (after a promotion)."""
        with self._lock:
            self._scorer = None

    def store(self) -> Store:
        """The supervision store (migrated to head on first use)."""
        with self._lock:
            if self._store is None:
                from supervision.store import open_store

                url = self.store_url or f"sqlite:///{(self.data_dir / 'fundguard.db').as_posix()}"
                if url.startswith("sqlite:///"):
                    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                self._store = open_store(url)
            return self._store

    def evidence(self) -> Dataset | None:
        """The scored dataset that case timelines read, when ``evidence_dir`` is set."""
        with self._lock:
            if self._evidence is None and self.serving.evidence_dir is not None:
                import secrets

                from settlements.intake import read_dataset

                # Identifiers of the evidence are never shown; without the service's key a
                # one-off key pseudonymises them.
                key = self.pseudonym_key or secrets.token_bytes(32)
                result = read_dataset(self.serving.evidence_dir, self.intake, key)
                self._evidence = result.dataset
            return self._evidence

    def use_evidence(self, dataset: Dataset) -> None:
        with self._lock:
            self._evidence = dataset
            self._check_signals = None

    def warm(self) -> None:
        """Load the champion, the store and the evidence now rather than on first request."""
        started = time.perf_counter()
        self.ready()
        self.store()
        self.evidence()
        log.info("service warmed", extra={"seconds": round(time.perf_counter() - started, 2)})

    def ready(self) -> bool:
        """Ready when the champion loads (a service without a model cannot check)."""
        try:
            self.scorer()
        except InputError:
            return False
        return True

    # --- scoring ----------------------------------------------------------------------

    def check(self, items: list[SettlementIn]) -> list[CheckResult]:
        """Score settlements with the champion: per-pattern scores, flags, recommendation.

        The catalogue (item limits) is the evidence dataset's, when the service has one.
        The settlements are validated as intake does; one that breaks the contract (or whose
        person, institution or fee lines do) comes back ``invalid`` with its problems and is
        not scored. The others are scored together, as the pyfunc model scores a dataset
        (signals are built without re-checking the frames intake has just validated). One
        settlement takes ``check_lone`` (no frames of the request; the same answer), any
        other input or one it does not cover ``check_frames``. The request models carry no
        direct identifiers, so neither path has anything to pseudonymise.
        """
        if not items:
            return []
        started = time.perf_counter()
        answers = self.check_lone(items[0]) if len(items) == 1 else None
        if answers is None:
            answers = self.check_frames(items)
        log.info(
            "checked settlements",
            extra={
                "settlements": len(items),
                "invalid": sum(a.recommendation == "invalid" for a in answers),
                "review": sum(a.recommendation == "review" for a in answers),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return answers

    def check_frames(self, items: list[SettlementIn]) -> list[CheckResult]:
        """``check`` through frames: intake's ``validate_dataset``, ``CheckSignals.build``
        and ``score`` over the request's tables (any number of settlements)."""
        from models.scoring import score
        from settlements.intake import validate_dataset

        scorer = _levels_view(self.scorer(), CHECK_LEVELS)
        frames = to_frames(items)
        result = validate_dataset(Dataset(**frames), self.intake, self.pseudonym_key)
        problems = _problems_by_settlement(result.quarantine, frames)
        # the evidence's catalogue was validated when the evidence was read: not again here
        signals = self.check_signals(scorer.feature_settings)
        accepted = result.dataset.with_tables(catalog=signals.catalog)
        if len(accepted.settlements):
            feature_set = signals.build(accepted)
            self._note_skipped(feature_set.skipped)
            leads = score(feature_set, scorer)
            evidence = feature_set.evidence
        else:
            leads = pd.DataFrame(columns=["subject_type", "subject_id", "pattern", "score"])
            evidence = pd.DataFrame(
                columns=[
                    "subject_type",
                    "subject_id",
                    "feature",
                    "pattern",
                    "explanation",
                    "evidence",
                ]
            )
        return _results(items, problems, leads, evidence, scorer.model_version, self.serving)

    def check_lone(self, item: SettlementIn) -> list[CheckResult] | None:
        """``check`` of one settlement from its values, without frames of the request
        (``settlements.lone.judge_lone``, ``CheckSignals.build_settlement``): the answer of
        ``check_frames``, or ``None`` when this fast path does not cover the input."""
        from models.scoring import score
        from settlements.lone import judge_lone

        scorer = _levels_view(self.scorer(), CHECK_LEVELS)
        lone = to_lone(item)
        verdict = judge_lone(lone, self.intake)
        if not verdict.accepted:
            invalid = CheckResult(
                setl_id=item.settlement.setl_id,
                recommendation="invalid",
                problems=list(verdict.problems),
                model_version=scorer.model_version,
            )
            return [invalid]
        feature_set = self.check_signals(scorer.feature_settings).build_settlement(lone)
        if feature_set is None:
            return None
        self._note_skipped(feature_set.skipped)
        leads = score(feature_set, scorer)
        evidence = feature_set.evidence
        return _results([item], {}, leads, evidence, scorer.model_version, self.serving)

    def check_signals(self, settings: FeatureSettings | None) -> CheckSignals:
        """The checks' signal builder for the champion's feature ``settings`` and the
        evidence's catalogue, built once (it indexes the catalogue) and again only when a
        new champion brings other settings."""
        from features.check import CheckSignals

        with self._lock:
            built = self._check_signals
            if built is None or self._check_signals_for is not settings:
                reference = self.evidence()
                catalog = reference.catalog if reference is not None else None
                built = self._check_signals = CheckSignals(settings, catalog)
                self._check_signals_for = settings
            return built

    def _note_skipped(self, skipped: tuple[tuple[str, str], ...]) -> None:
        """Log once per worker which signals a check cannot build (e.g. no catalogue), in
        place of the warning ``build_features`` would give on every call."""
        with self._lock:
            if skipped and not self._skips_noted:
                self._skips_noted = True
                log.info(
                    "signals a check does not build",
                    extra={"count": len(skipped), "features": ",".join(n for n, _ in skipped)},
                )


def _levels_view(scorer: FraudScorer, levels: tuple[str, ...]) -> FraudScorer:
    """The fitted scorer restricted to the targets of ``levels`` (a shallow copy).

    A check answers for the settlement's visit and person only, so the institution and
    doctor models are not run; each target scores on its own, so the visit and person
    scores are those of the whole scorer.
    """
    view = copy.copy(scorer)
    view.targets_ = {k: t for k, t in scorer.targets_.items() if t.level.value in levels}
    return view


def _problems_by_settlement(
    quarantine: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame]
) -> dict[str, list[str]]:
    """setl_id -> the reasons its rows (or its person's, institution's) were quarantined."""
    problems: dict[str, list[str]] = {}

    def add(setl_ids: pd.Series, reasons: pd.Series, table: str) -> None:
        for setl_id, reason in zip(setl_ids.astype(str), reasons.astype(str), strict=True):
            problems.setdefault(setl_id, []).append(f"{table}: {reason}")

    for table in ("settlements", "fee_details"):
        rows = quarantine.get(table)
        if rows is not None and len(rows):
            add(rows["setl_id"], rows["reason"], table)
    settlements = frames["settlements"]
    for table, key in (("persons", "psn_no"), ("institutions", "fixmedins_code")):
        rows = quarantine.get(table)
        if rows is None or not len(rows):
            continue
        reasons = rows.drop_duplicates(key).set_index(rows.drop_duplicates(key)[key].astype(str))
        hit = settlements[settlements[key].astype(str).isin(reasons.index)]
        add(hit["setl_id"], hit[key].astype(str).map(reasons["reason"]), table)
    return {k: list(dict.fromkeys(v)) for k, v in problems.items()}


def _results(
    items: list[SettlementIn],
    problems: dict[str, list[str]],
    leads: pd.DataFrame,
    evidence: pd.DataFrame,
    model_version: str,
    serving: ServingSettings,
) -> list[CheckResult]:
    """One answer per settlement, in request order, from the leads of its visit and person
    (scores and flags in the order of the tables, read in one pass over their columns)."""
    scores_of: dict[tuple[str, str], list[PatternScore]] = {}
    for level, subject, pattern, value in zip(
        *(leads[c].tolist() for c in ("subject_type", "subject_id", "pattern", "score")),
        strict=True,
    ):
        if level in CHECK_LEVELS:
            scores_of.setdefault((str(level), str(subject)), []).append(
                PatternScore(subject_type=str(level), pattern=str(pattern), score=float(value))
            )
    flags_of: dict[tuple[str, str], list[FlagOut]] = {}
    columns = ("subject_type", "subject_id", "feature", "pattern", "explanation", "evidence")
    for level, subject, feature, pattern, explanation, cited in zip(
        *(evidence[c].tolist() for c in columns), strict=True
    ):
        if level in CHECK_LEVELS:
            flags_of.setdefault((str(level), str(subject)), []).append(
                FlagOut(
                    subject_type=str(level),
                    feature=str(feature),
                    pattern=str(pattern),
                    explanation=str(explanation),
                    evidence=str(cited),
                )
            )
    answers = []
    for item in items:
        s = item.settlement
        if s.setl_id in problems:
            answers.append(
                CheckResult(
                    setl_id=s.setl_id,
                    recommendation="invalid",
                    problems=problems[s.setl_id],
                    model_version=model_version,
                )
            )
            continue
        subjects = (("visit", s.mdtrt_id), ("person", s.psn_no))
        scores = [p for key in subjects for p in scores_of.get(key, ())]
        fired = [f for key in subjects for f in flags_of.get(key, ())]
        review = any(p.score >= serving.review_threshold for p in scores)
        answers.append(
            CheckResult(
                setl_id=s.setl_id,
                recommendation="review" if review else "pass",
                scores=scores,
                flags=fired,
                model_version=model_version,
            )
        )
    return answers


def users_path(serving: ServingSettings, data_dir: Path) -> Path:
    """The users file of a data directory (``ServingSettings.users_file``)."""
    path = Path(serving.users_file)
    return path if path.is_absolute() else data_dir / path


_current: Application | None = None
_current_lock = threading.Lock()


def current_application() -> Application:
    """The worker's Application, built on first use from the environment's settings.

    This is the service's entry point into configuration: it loads ``Settings`` (env
    ``FUNDGUARD_*`` and ``FUNDGUARD_CONFIG``) once per process.
    """
    global _current
    with _current_lock:
        if _current is None:
            from fundguard.settings import load_settings

            _current = build_application(load_settings())
        return _current


def reset_current_application() -> None:
    """Forget the worker's Application (tests that change the environment)."""
    global _current
    with _current_lock:
        _current = None


def build_application(settings: Any) -> Application:
    """An Application over the data directory, store and champion model of ``settings``."""
    serving: ServingSettings = settings.serving
    data_dir = Path(settings.data_dir)
    key = settings.pseudonym_key
    return Application(
        serving=serving,
        data_dir=data_dir,
        users=UserRegistry(users_path(serving, data_dir)),
        intake=settings.intake,
        features=settings.features,
        supervision=settings.supervision,
        training=settings.training,
        store_url=settings.store_url,
        pseudonym_key=key.get_secret_value().encode() if key is not None else None,
    )

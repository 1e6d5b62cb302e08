"""``build_features``: the one place that assembles a dataset's signals into a ``FeatureSet``.

1. the per-person stage (``features.person.PersonStage``, what ``person_signals`` runs) on
   all persons at once;
2. the population stage over its output: peer-relative visit signals, institution and
   doctor signals;
3. roll-ups of visit flags to persons, institutions and doctors (counts, shares, amounts
   at risk), context columns, and the evidence lines.

The signal groups of the two stages run as tasks side by side in
``FeatureSettings.workers`` processes (``features.parallel``), with the same result.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.common import (
    COMPILED_MIN_ROWS,
    PeerMedians,
    Signals,
    concat_evidence,
    peer_groups,
    positions,
    repeated_rows,
    sort_order,
)
from features.config import FeatureSettings
from features.contract import CONTEXT_PREFIX, FeatureSet, FeatureSpec, Level, Pattern
from features.frames import prepare, require_input
from features.parallel import Runner, Task, in_turn, runner
from features.person import PersonSignals, PersonStage, buildable
from features.population import Population, has_column
from features.registry import LEVEL_WORD, PREFIX, SignalGroup, registry
from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.progress import Track, no_track

log = logging.getLogger(__name__)

ROLLUP_PATTERNS = (
    Pattern.BED_HANGING,
    Pattern.SPLIT_BILLING,
    Pattern.CARD_LENDING,
    Pattern.OVER_PRESCRIPTION,
)
VISIT_ELIGIBLE = {
    Pattern.BED_HANGING: "is_stay",
    Pattern.OVER_PRESCRIPTION: "aux_has_drug",
}
"""Which visits a pattern's suspicion can concern (others: every visit)."""


def check_input(dataset: Dataset) -> None:
    """Check the dataset once against intake's boundary schemas; one-line ``InputError``."""
    try:
        from settlements.frames import check_dataset
    except ImportError:  # intake's schemas not available: frames.prepare checks columns
        return
    with warnings.catch_warnings():  # pandera's optional pyspark integration warns
        warnings.simplefilter("ignore", FutureWarning)
        import pandera.errors

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            check_dataset(dataset)
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError) as exc:
        raise InputError(
            f"the dataset does not match the settlement contract ({_first_failure(exc)}): "
            "read it through `fundguard validate` (intake) first"
        ) from None


def _first_failure(exc: Exception) -> str:
    """The first failing column and check of a pandera error, in a few words."""
    cases = getattr(exc, "failure_cases", None)
    if isinstance(cases, pd.DataFrame) and len(cases):
        row = cases.iloc[0]
        return (
            f"column {row.get('column')} fails {row.get('check')}, "
            f"e.g. {row.get('failure_case')!r}; {len(cases)} failure(s)"
        )
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def build_features(
    dataset: Dataset,
    settings: FeatureSettings | None = None,
    track: Track = no_track,
    check: bool = True,
    levels: Collection[Level] | None = None,
    warn_skipped: bool = True,
) -> FeatureSet:
    """Every registered signal of ``dataset`` at every level, with evidence and context.

    The visit level covers every visit (``mdtrt_id``), the person level every person with
    settlements, the institution level every institution with settlements and the doctor
    level every doctor code seen (attending or ordering). Signals whose optional tables,
    columns or settings are absent are listed in ``skipped`` (with a warning), never built.

    ``levels`` (default: all) limits the result to those levels' frames, signals and
    evidence; their values are those of the full build, since no visit or person signal
    reads an institution or doctor signal. A real-time check of one settlement asks for
    visit and person and so skips the institution and doctor work that dominates it.

    ``warn_skipped=False`` leaves out the "signals skipped" warning: the service builds
    one settlement's signals per call, and the same skips every time are noise there.
    """
    s = settings or FeatureSettings()
    if check:
        check_input(dataset)
    wanted = frozenset(Level) if levels is None else frozenset(levels)
    run = runner(s.workers, len(dataset.settlements), s.parallel_min_settlements)
    state: dict[str, object] = {}

    def per_person() -> None:
        # the dataset-stage groups read the dataset alone: set going before the frames
        # are prepared (in a forked worker, if any), collected after the persons' groups
        require_input(
            dataset.settlements, dataset.fee_details, dataset.persons, dataset.institutions
        )
        early = dataset_groups(dataset, s, wanted)
        waiting = run.start([group_task(g, dataset, s) for g in early])
        try:
            pf = prepare(
                dataset.settlements,
                dataset.fee_details,
                dataset.persons,
                dataset.institutions,
                dataset.catalog,
            )
            stage = PersonStage.of(pf, s)
            if run is not in_turn:  # workers forked from here find numba started
                start_kernels()
            state["ps"] = stage.finish(run(stage.tasks()))
        finally:  # the worker is collected (and shut down) whatever happened here
            state["early"] = {id(g): r for g, r in zip(early, waiting(), strict=True)}

    def population_stage() -> None:
        ps: PersonSignals = state["ps"]  # type: ignore[assignment]
        early: dict[int, Signals] = state["early"]  # type: ignore[assignment]
        state["out"] = assemble(ps, dataset, s, levels, run, early)

    steps = [("per-person signals", per_person), ("population signals", population_stage)]
    for _, step in track(steps, "building features", total=len(steps)):
        step()
    out: FeatureSet = state["out"]  # type: ignore[assignment]
    if warn_skipped and out.skipped:
        log.warning(
            SKIPPED_SIGNALS,
            extra={"count": len(out.skipped), "features": ",".join(n for n, _ in out.skipped)},
        )
    return out


SKIPPED_SIGNALS = "signals skipped"
"""The warning of a build whose optional tables, columns or settings leave signals out."""


def start_kernels() -> None:
    """Import numba and load a compiled loop (``features.kernels``): about a second that
    processes forked afterwards do not spend again."""
    from features import kernels

    kernels.first_appearance_codes(np.zeros(1, dtype=np.int64), 1)


def group_task(group: SignalGroup, given: object, s: FeatureSettings) -> Task:
    """The computation of a signal group over ``given`` (a ``Population`` or ``Dataset``)."""
    if group.compute is None:
        raise ValueError("a roll-up group has no computation of its own")
    return functools.partial(group.compute, given, s)


def dataset_groups(
    dataset: Dataset, s: FeatureSettings, levels: Collection[Level]
) -> list[SignalGroup]:
    """The dataset-stage groups that ``population_parts`` would compute for ``levels``."""
    ours = [
        g
        for g in registry.groups
        if g.stage == "dataset" and g.compute is not None and g.specs[0].level in levels
    ]
    has = functools.partial(has_column, dataset.institutions, dataset.catalog)
    return buildable(ours, has, s)[0]


def assemble(
    ps: PersonSignals,
    dataset: Dataset,
    s: FeatureSettings,
    levels: Collection[Level] | None = None,
    run: Runner = in_turn,
    computed: Mapping[int, Signals] | None = None,
) -> FeatureSet:
    """The population stage and the ``FeatureSet`` from the per-person output of everyone
    (``ps`` may be the concatenation of per-partition outputs), for ``levels`` (default
    all: see ``build_features``).

    It is the composition of the pieces that Spark runs per group
    (``features.spark_population``): ``population_parts`` (the population and dataset
    signal groups), ``visit_frame``, ``level_frame`` over ``rollup_members`` and
    ``finish_institutions`` / ``main_institution``, and ``combine_evidence``. ``run`` runs
    the signal groups (``features.parallel``); ``computed`` holds results of groups already
    computed (by ``id`` of the group).
    """
    wanted = frozenset(Level) if levels is None else frozenset(levels)
    pop = population(ps, dataset, s, wanted)
    parts = population_parts(pop, dataset, s, wanted, ps.skipped, runner=run, computed=computed)
    visits = parts.visits
    specs = parts.specs
    flags = rollup_flags(visits, parts.built)

    own = {
        Level.PERSON: [ps.persons.set_axis(ps.persons.index.astype("string"))],
        Level.INSTITUTION: parts.level_parts[Level.INSTITUTION],
        Level.DOCTOR: parts.level_parts[Level.DOCTOR],
    }

    def subject_level(level: Level) -> pd.DataFrame:
        index, codes, rows = rollup_members(level, visits, pop)
        if level == Level.PERSON:
            peer = person_peer_group(visits, index)
        elif level == Level.INSTITUTION:
            peer = pop.institution_peer_group
        else:
            peer = pop.doctor_peer_group
        frame = level_frame(level, visits, flags, index, codes, rows, own[level], peer, specs)
        if level == Level.INSTITUTION:
            return finish_institutions(frame)
        if level == Level.DOCTOR:
            main = main_institution(pop.doctor_pairs, pop.doctor_index, pop.doctor_pair_codes)
            frame["ctx_institution"] = main
        return frame

    def evidence_lines() -> pd.DataFrame:
        lines, _ = combine_evidence(concat_evidence([ps.evidence, *parts.evidence]))
        if wanted != frozenset(Level):
            keep = lines["subject_type"].isin([lv.value for lv in wanted]).to_numpy(bool)
            lines = lines.loc[keep].reset_index(drop=True)
        return lines

    # independent pieces: workers take them from the front, this process from the back,
    # so the large results come last (no pickling of the visit level or the evidence) and
    # the doctor level (the longest) first
    order = (Level.DOCTOR, Level.INSTITUTION, Level.PERSON)
    levels_asked = [lv for lv in order if lv in wanted]
    tasks: list[Task] = [functools.partial(subject_level, lv) for lv in levels_asked]
    tasks += [evidence_lines, functools.partial(visit_frame, visits, specs)]
    *level_frames, lines, visit_level = run(tasks)
    built_levels = {Level.VISIT: visit_level, **dict(zip(levels_asked, level_frames, strict=True))}
    frames = {lv: built_levels[lv] for lv in Level if lv in built_levels and lv in wanted}

    return FeatureSet(
        frames=frames,
        evidence=lines,
        specs=specs,
        skipped=tuple(parts.skipped),
    )


@dataclass(frozen=True)
class PopulationParts:
    """What the population and dataset signal groups give: the visits with the
    population-stage visit signals joined, each level's signal frames, their evidence,
    every signal not built (with the per-person stage's), and the specs of the built ones."""

    visits: pd.DataFrame
    level_parts: dict[Level, list[pd.DataFrame]]
    evidence: list[pd.DataFrame]
    skipped: list[tuple[str, str]]
    specs: tuple[FeatureSpec, ...]

    @property
    def built(self) -> set[str]:
        return {sp.name for sp in self.specs}


def population_parts(
    pop: Population,
    dataset: Dataset,
    s: FeatureSettings,
    levels: Collection[Level],
    skipped: Collection[tuple[str, str]] = (),
    run: Callable[[SignalGroup], bool] | None = None,
    runner: Runner = in_turn,
    computed: Mapping[int, Signals] | None = None,
) -> PopulationParts:
    """Run the population and dataset signal groups of ``levels`` (those ``run`` accepts,
    default all; the others count as built elsewhere) over ``pop`` / ``dataset``, through
    ``runner``; ``computed`` holds the results of groups already computed (by ``id``)."""
    wanted = frozenset(levels)
    done = dict(computed or {})
    ours = [
        g
        for g in registry.groups
        if g.stage in ("population", "dataset")
        and g.compute is not None
        and g.specs[0].level in wanted
    ]
    todo, not_built = buildable(ours, pop.has, s)
    skipped = [*skipped, *not_built]
    if run is not None:
        todo = [g for g in todo if run(g)]
    waiting = [g for g in todo if id(g) not in done]
    batches = _shared_batches(waiting)
    inputs = {"population": pop, "dataset": dataset}
    tasks = [functools.partial(_compute_batch, b, inputs[b[0].stage], s) for b in batches]
    for batch, results in zip(batches, runner(tasks), strict=True):
        done.update(zip((id(g) for g in batch), results, strict=True))
    visits = pop.visits
    evidence: list[pd.DataFrame] = []
    level_parts: dict[Level, list[pd.DataFrame]] = {lv: [] for lv in Level}
    for group in todo:
        result = done[id(group)]
        names = [spec.name for spec in group.specs]
        level_parts[group.specs[0].level].append(result.values[names])
        evidence.append(result.evidence)
    for part in level_parts[Level.VISIT]:
        visits = visits.join(part)
    built = {n for n in registry._by_name} - {n for n, _ in skipped}
    built = {n for n in built if registry.get(n).level in wanted}
    specs = tuple(sp for sp in registry.specs() if sp.name in built)
    return PopulationParts(visits, level_parts, evidence, skipped, specs)


SHARED_POPULATION_WORK = (frozenset({"card_burst_signals", "card_burst_visit_signals"}),)
"""Population groups (by function name) that share what they derive (``Population.derived``:
the card bursts), so run as one task rather than each deriving it in its own process."""


def _shared_batches(groups: list[SignalGroup]) -> list[tuple[SignalGroup, ...]]:
    """The groups as tasks: each alone, those of one ``SHARED_POPULATION_WORK`` set together
    (where the first of them is)."""
    batches: list[list[SignalGroup]] = []
    at: dict[int, list[SignalGroup]] = {}
    for group in groups:
        name = getattr(group.compute, "__name__", "")
        shared = next((i for i, names in enumerate(SHARED_POPULATION_WORK) if name in names), None)
        if shared is not None and shared in at:
            at[shared].append(group)
            continue
        batches.append([group])
        if shared is not None:
            at[shared] = batches[-1]
    return [tuple(batch) for batch in batches]


def _compute_batch(
    batch: tuple[SignalGroup, ...], given: object, s: FeatureSettings
) -> list[Signals]:
    return [group.compute(given, s) for group in batch]  # type: ignore[misc]


def rollup_flags(visits: pd.DataFrame, built: set[str]) -> dict[Pattern, np.ndarray]:
    """Per roll-up pattern, whether each visit is flagged by any built visit rule of it."""
    return {p: _pattern_flag(visits, p, built) for p in ROLLUP_PATTERNS}


def visit_frame(visits: pd.DataFrame, specs: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """The visit level of the ``FeatureSet``: signals, then context columns."""
    vframe = typed_signals(visits, specs, Level.VISIT)
    vframe.index = pd.Index(visits.index, dtype="string", name="subject_id")
    vctx = pd.DataFrame(index=vframe.index)
    vctx["ctx_fund_pay"] = visits["fund"].to_numpy(dtype="float64")
    for p in Pattern:
        col = VISIT_ELIGIBLE.get(p)
        eligible = visits[col].to_numpy(bool) if col else np.ones(len(visits), bool)
        vctx[f"ctx_amount_{p.value}"] = np.where(eligible, visits["fund"].to_numpy(float), 0.0)
    vctx["ctx_peer_group"] = (visits["chapter"] + "|" + visits["hosp_lv"]).array
    vctx["ctx_first_date"] = visits["first_setl_time"].dt.normalize().to_numpy()
    vctx["ctx_last_date"] = visits["last_setl_time"].dt.normalize().to_numpy()
    vctx["ctx_person"] = visits["psn_no"].array
    vctx["ctx_institution"] = visits["fixmedins_code"].array
    return pd.concat([vframe, _ctx_types(vctx)], axis=1)


def rollup_members(
    level: Level, visits: pd.DataFrame, pop: Population | None = None
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The subjects of a level (index), and for each (subject, visit) pair the subject's
    position (codes) and the visit's position in ``visits`` (rows). Institutions and
    doctors are those of ``pop``; persons need only the visits."""
    if level == Level.PERSON:
        index = pd.Index(visits["psn_no"].unique(), dtype="string", name="subject_id")
        return index, _codes(index, visits["psn_no"]), np.arange(len(visits))
    if pop is None:
        raise ValueError(f"the {level.value} roll-ups need the population")
    if level == Level.INSTITUTION:
        index = pop.institution_index
        return index, _codes(index, visits["fixmedins_code"]), np.arange(len(visits))
    if level == Level.DOCTOR:
        return pop.doctor_index, pop.doctor_pair_codes, pop.doctor_pairs["v"].to_numpy()
    raise ValueError(f"no roll-up for the {level.value} level")


def level_frame(
    level: Level,
    visits: pd.DataFrame,
    flags: dict[Pattern, np.ndarray],
    index: pd.Index,
    codes: np.ndarray,
    rows: np.ndarray,
    own: list[pd.DataFrame],
    peer: pd.Series,
    specs: tuple[FeatureSpec, ...],
) -> pd.DataFrame:
    """A person, institution or doctor level of the ``FeatureSet``: its own signals
    (``own``), the roll-ups of visit flags, and context columns (``peer``: peer groups)."""
    rollup, ctx = _aggregate(visits, flags, level, index, codes, rows)
    values = pd.concat([*(p.reindex(index) for p in own), rollup], axis=1)
    frame = typed_signals(values, specs, level)
    ctx["ctx_peer_group"] = np.asarray(peer.reindex(index).fillna("?"), dtype=object)
    return pd.concat([frame, _ctx_types(ctx)], axis=1)


def finish_institutions(frame: pd.DataFrame) -> pd.DataFrame:
    """The institution level's amount at risk of ``other``: its fund paid when it is a
    peer outlier (set once the peer signals are in the frame)."""
    if "ot_peer_outlier_flag" in frame:
        frame = frame.copy()
        frame["ctx_amount_other"] = frame["ctx_fund_pay"].where(frame["ot_peer_outlier_flag"], 0.0)
    return frame


def population(
    ps: PersonSignals,
    dataset: Dataset,
    s: FeatureSettings,
    levels: Collection[Level] | None = None,
    institution_peer_group: pd.Series | None = None,
    stay_cost_peers: PeerMedians | None = None,
) -> Population:
    """The ``Population`` the population stage reads, from the per-person output: doctor
    visits gain ``v``, the position of their visit in ``visits``. The institution peer
    groups are left empty when ``levels`` does not ask for them; the doctor peer groups
    (computed when asked for) are computed here when ``levels`` asks for doctors.

    ``institution_peer_group`` and ``stay_cost_peers`` are statistics over everyone, given
    when ``ps`` holds only some institutions' visits (Spark's groups); by default they are
    computed from ``ps``."""
    visit_pos = positions(ps.visits.index, ps.doctor_visits["mdtrt_id"])
    doctor_visits = ps.doctor_visits.assign(v=visit_pos)
    has_drug = np.zeros(len(ps.visits), dtype=bool)
    has_drug[visit_pos[ps.doctor_visits["aux_drug_amt"].to_numpy() != 0]] = True
    visits = ps.visits.assign(aux_has_drug=~ps.visits["is_stay"].to_numpy(bool) & has_drug)
    if institution_peer_group is None:
        institution_peer_group = (
            institution_peer_groups(visits, s)
            if levels is None or Level.INSTITUTION in levels
            else pd.Series(dtype="string")
        )
    pop = Population(
        visits=visits,
        doctor_visits=doctor_visits,
        institutions=dataset.institutions,
        catalog=dataset.catalog,
        institution_peer_group=institution_peer_group,
        stay_cost_peers=stay_cost_peers,
    )
    if levels is None or Level.DOCTOR in levels:
        pop.doctor_peer_group  # noqa: B018 -- worked out here, before any worker forks
    return pop


def _pattern_flag(visits: pd.DataFrame, pattern: Pattern, built: set[str]) -> np.ndarray:
    cols = [n for n in registry.visit_flags(pattern) if n in built and n in visits]
    flag = np.zeros(len(visits), dtype=bool)
    for c in cols:
        flag |= visits[c].fillna(False).to_numpy(bool)
    return flag


def _codes(index: pd.Index, keys: pd.Series) -> np.ndarray:
    """Position in ``index`` of each key (every key is in the index)."""
    return positions(index, keys.astype("string"))


def _aggregate(
    visits: pd.DataFrame,
    flags: dict[Pattern, np.ndarray],
    level: Level,
    index: pd.Index,
    codes: np.ndarray,
    rows: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll-ups of visit flags (counts, shares, amounts at risk) and context columns of the
    subjects of a level; ``rows`` are the visit positions of the (subject, visit) pairs and
    ``codes`` the subject positions."""
    n = len(index)
    fund = visits["fund"].to_numpy(dtype="float64")[rows]
    visits_n = np.bincount(codes, minlength=n).astype("float64")
    rollup = pd.DataFrame(index=index)
    ctx = pd.DataFrame(index=index)
    ctx["ctx_fund_pay"] = np.bincount(codes, weights=fund, minlength=n)
    for p in ROLLUP_PATTERNS:
        f = flags[p][rows]
        stem = f"{PREFIX[p]}_{LEVEL_WORD[level]}"
        count = np.bincount(codes, weights=f.astype("float64"), minlength=n)
        amount = np.bincount(codes, weights=np.where(f, fund, 0.0), minlength=n)
        rollup[f"{stem}_flagged_visits"] = count
        with np.errstate(invalid="ignore", divide="ignore"):
            rollup[f"{stem}_flagged_share"] = np.where(visits_n > 0, count / visits_n, 0.0)
        rollup[f"{stem}_amount_at_risk"] = amount
        ctx[f"ctx_amount_{p.value}"] = amount
    ctx["ctx_amount_other"] = 0.0
    first, last = _span(visits, codes, rows, n)
    ctx["ctx_first_date"] = first
    ctx["ctx_last_date"] = last
    return rollup, ctx


def _span(
    visits: pd.DataFrame, codes: np.ndarray, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first and last settlement day of each subject (``codes`` 0..n-1 of the visit
    ``rows``): a compiled pass from ``COMPILED_MIN_ROWS`` rows, pandas' group-by below."""
    first = visits["first_setl_time"].to_numpy()
    last = visits["last_setl_time"].to_numpy()
    if len(codes) >= COMPILED_MIN_ROWS and first.dtype.kind == last.dtype.kind == "M":
        from features import kernels

        low, high = kernels.group_span(
            codes.astype(np.int64, copy=False),
            first.view(np.int64)[rows],
            last.view(np.int64)[rows],
            n,
        )
        return _day(low.view(first.dtype)), _day(high.view(last.dtype))
    times = pd.DataFrame(
        {
            "c": codes,
            "first": first[rows],
            "last": last[rows],
        },
        copy=False,
    )
    span = times.groupby("c").agg(first=("first", "min"), last=("last", "max"))
    span = span.reindex(np.arange(n))
    return span["first"].dt.normalize().to_numpy(), span["last"].dt.normalize().to_numpy()


def _day(times: np.ndarray) -> np.ndarray:
    """Naive datetimes floored to their day (``dt.normalize``), NaT kept."""
    return times.astype("datetime64[D]").astype(times.dtype)


def main_institution(
    dv: pd.DataFrame, index: pd.Index, codes: np.ndarray | None = None
) -> pd.Series:
    """The institution where most of each doctor's visits are (ties: the smallest code),
    for the doctors of ``index``; ``codes``: each row's doctor position in ``index``."""
    doctor = _codes(index, dv["doctor"]) if codes is None else codes
    inst, insts = pd.factorize(dv["fixmedins_code"], sort=True)
    ok = (doctor >= 0) & (inst >= 0)
    width = max(len(insts), 1)
    key = doctor[ok].astype(np.int64) * width + inst[ok]
    if len(index) * width <= 4 * len(key):  # dense: count every (doctor, institution) cell
        counts = np.bincount(key, minlength=len(index) * width)
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:
        ordered = np.sort(key)
        new = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, bool)
        keys = ordered[new]
        counts = np.diff(np.r_[np.flatnonzero(new), len(ordered)])
    d, i = keys // width, keys % width
    order = sort_order(d, -counts, i)
    best = order[np.r_[True, d[order][1:] != d[order][:-1]]] if len(order) else order
    main = pd.array([pd.NA] * len(index), dtype="string")
    main[d[best]] = pd.array(np.asarray(insts, dtype=object)[i[best]], dtype="string")
    return pd.Series(main, index=index, name="fixmedins_code")


def typed_signals(
    values: pd.DataFrame, specs: tuple[FeatureSpec, ...], level: Level
) -> pd.DataFrame:
    """The signals of ``level`` among ``specs`` from ``values``, typed: flags ``bool``
    (missing: False), numbers ``float64``; a signal absent from ``values`` is all missing."""
    cols: dict[str, np.ndarray] = {}
    for sp in specs:
        if sp.level != level:
            continue
        if sp.name not in values:  # not built here (skipped, or built on another level)
            missing = np.zeros(len(values), bool) if sp.kind == "flag" else np.nan
            cols[sp.name] = np.broadcast_to(missing, len(values)).astype(
                bool if sp.kind == "flag" else "float64"
            )
            continue
        col = values[sp.name]
        if sp.kind == "flag":
            cols[sp.name] = col.fillna(False).astype(bool).to_numpy()
        else:
            cols[sp.name] = pd.to_numeric(col).astype("float64").to_numpy()
    return pd.DataFrame(cols, index=values.index, copy=False)


def _ctx_types(ctx: pd.DataFrame) -> pd.DataFrame:
    out = ctx.copy()
    for c in out.columns:
        if not c.startswith(CONTEXT_PREFIX):
            raise ValueError(f"context column {c} lacks the {CONTEXT_PREFIX} prefix")
        if c in ("ctx_peer_group", "ctx_person", "ctx_institution"):
            out[c] = out[c].astype("string")
        elif c in ("ctx_first_date", "ctx_last_date"):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        else:
            out[c] = out[c].astype("float64")
    return out


def institution_peer_groups(visits: pd.DataFrame, s: FeatureSettings) -> pd.Series:
    """Institution peer group: type, hospital level and city (``1|3|4401``); institutions
    in too small a group fall back to type and level (``1|3``)."""
    inst = visits.drop_duplicates("fixmedins_code").set_index("fixmedins_code")
    t = inst["fixmedins_type"].astype("string").fillna("?")
    lv = inst["hosp_lv"].astype("string").fillna("?")
    city = inst["admdvs"].astype("string").str[:4].fillna("?")
    groups = peer_groups(t + "|" + lv + "|" + city, t + "|" + lv, s.peer_min_group_size)
    groups.index = pd.Index(inst.index, dtype="string", name="subject_id")
    return groups


def person_peer_group(visits: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Person peer group: the insured region."""
    first = visits.drop_duplicates("psn_no").set_index("psn_no")["insuplc_admdvs"]
    first.index = first.index.astype("string")
    return first.reindex(index).astype("string")


def combine_evidence(ev: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """One line per (subject, feature): several findings of one flag are joined. The
    single lines come first, in their order, then the joined ones; the mask says which."""
    if ev.empty:
        return ev.reset_index(drop=True), np.zeros(0, dtype=bool)
    key = ["subject_type", "subject_id", "feature", "pattern"]
    dup = pd.Series(repeated_rows(ev, key), index=ev.index)
    if not dup.any():
        return ev.reset_index(drop=True), np.zeros(len(ev), dtype=bool)
    single = ev.loc[~dup]
    joined = (
        ev.loc[dup]
        .groupby(key, sort=False)
        .agg(explanation=("explanation", " | ".join), evidence=("evidence", " | ".join))
        .reset_index()
    )
    # the joined lines only need typing: the others are evidence frames' strings already
    out = pd.concat([single.astype("string"), joined.astype("string")], ignore_index=True)
    mask = np.arange(len(out)) >= len(single)
    return out, mask

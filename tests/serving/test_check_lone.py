"""The fast path of /check (one settlement judged, built and scored from its values) answers
exactly as the frames path (intake's validate_dataset, CheckSignals.build, score)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from serving.application import Application
from serving.schemas import SettlementIn
from settlements.config import IntakeSettings

from .payloads import stay
from .trained import payload

Body = dict[str, Any]


def _edit(change: Callable[[Body], None]) -> Body:
    body = stay(days=4)
    change(body)
    return body


def _line(n: int, **values: Any) -> Callable[[Body], None]:
    return lambda body: body["fee_details"][n].update(values)


def _row(table: str, **values: Any) -> Callable[[Body], None]:
    return lambda body: body[table].update(values)


def _copy_line(n: int, **values: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["fee_details"].append({**copy.deepcopy(body["fee_details"][n]), **values})

    return change


def _refund(body: Body) -> None:
    s = body["settlement"]
    s["refd_setl_flag"] = "1"
    for k in ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "psn_cash_pay"):
        s[k] = -abs(s[k])
    for line in body["fee_details"]:
        line.update(cnt=-line["cnt"], det_item_fee_sumamt=-line["det_item_fee_sumamt"])


CASES: dict[str, Body] = {
    "valid": stay(days=4),
    "no fee lines": _edit(lambda b: b.update(fee_details=[])),
    "refund with negative amounts": _edit(_refund),
    "unknown code": _edit(_line(1, list_type="999")),
    "unknown med_type": _edit(_row("settlement", med_type="77")),
    "blank required name": _edit(_row("institution", fixmedins_name="")),
    "blank optional name": _edit(_line(0, hilist_name="")),
    "exact copy of a line": _edit(_copy_line(2)),
    "two lines sharing a key": _edit(_copy_line(2, cnt=2.0, det_item_fee_sumamt=71.0)),
    "copy and conflict": _edit(
        lambda b: [_copy_line(0)(b), _copy_line(0, pric=61.0, det_item_fee_sumamt=61.0)(b)]
    ),
    "non-positive quantity": _edit(_line(2, cnt=-1.0, det_item_fee_sumamt=-60.0)),
    "negative price": _edit(_line(3, pric=-35.5, det_item_fee_sumamt=-35.5)),
    "line total mismatch": _edit(_line(5, det_item_fee_sumamt=70.0)),
    "fee outside the stay": _edit(_line(4, fee_ocur_time="2024-02-20 08:00:00")),
    "fee within the slack": _edit(_line(4, fee_ocur_time="2024-03-05 23:00:00")),
    "visit mismatch": _edit(_line(0, mdtrt_id="M2")),
    "death before birth": _edit(_row("person", dead_date="1940-01-01")),
    "death after the stay": _edit(_row("person", dead_date="2024-03-02")),
    "unknown gender": _edit(_row("person", gend="7")),
    "latitude out of range": _edit(_row("institution", lat=123.0)),
    "negative beds": _edit(_row("institution", aprv_bed_cnt=-3.0)),
    "settled before the stay": _edit(_row("settlement", setl_time="2024-02-01 09:00:00")),
    "negative amount": _edit(_row("settlement", hifp_pay=-5.0)),
    "outpatient visit": _edit(
        lambda b: (
            b["settlement"].update(med_type="11", enddate="2024-03-01")
            or b.update(fee_details=b["fee_details"][:2])
        )
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_lone_check_answers_as_the_frames_path(application: Application, case: str) -> None:
    # given one settlement's request, valid or breaking one of intake's rules
    item = SettlementIn.model_validate(CASES[case])
    # when the fast path and the frames path check it
    fast = application.check_lone(item)
    frames = application.check_frames([item])
    # then the fast path covers it and gives the same answer: recommendation, problems in
    # the same order with the same reasons, scores and flags
    assert fast is not None
    assert [a.model_dump() for a in fast] == [a.model_dump() for a in frames]
    if case in ("valid", "no fee lines", "refund with negative amounts", "outpatient visit"):
        assert fast[0].recommendation != "invalid"
    elif case not in (
        "blank required name",  # blank_allowed by default
        "blank optional name",
        "fee within the slack",
        "death after the stay",
    ):
        assert fast[0].recommendation == "invalid"
        assert fast[0].problems


def test_a_blank_name_that_a_region_requires_is_judged_as_the_frames_path(
    application: Application,
) -> None:
    # given a region that allows no blank descriptive text, and an institution without name
    strict = replace(application, intake=IntakeSettings(blank_allowed=()))
    item = SettlementIn.model_validate(CASES["blank required name"])
    # when both paths check it
    fast = strict.check_lone(item)
    # then both find it invalid for the same reason
    assert fast is not None and fast[0].recommendation == "invalid"
    assert fast[0].problems == strict.check_frames([item])[0].problems
    assert any("fixmedins_name is missing" in p for p in fast[0].problems)


@pytest.mark.slow
def test_every_settlement_of_a_world_is_answered_as_the_frames_path(
    champion_application: Application, registry_world: Any
) -> None:
    # given the champion of a trained synthetic world, with its catalogue as the service's
    s = registry_world.dataset.settlements
    setl_ids = [str(x) for x in s["setl_id"].iloc[::7]]
    bodies = payload(registry_world.dataset, setl_ids)
    reviewed = flagged = 0
    for body in bodies:
        item = SettlementIn.model_validate(body)
        # when the fast path and the frames path check each settlement alone
        fast = champion_application.check_lone(item)
        frames = champion_application.check_frames([item])
        # then every one is covered and answered alike, flags and evidence included
        assert fast is not None, body["settlement"]["setl_id"]
        assert [a.model_dump() for a in fast] == [a.model_dump() for a in frames]
        reviewed += fast[0].recommendation == "review"
        flagged += bool(fast[0].flags)
    assert len(bodies) > 100 and reviewed and flagged

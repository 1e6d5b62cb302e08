"""The BentoML service: /check, /score and the console, over one ``Application``.

Run it with ``fundguard serve`` (which wraps ``bentoml serve serving.service:FundGuard``).
The service is thin: BentoML parses the JSON into the request models (a 400 names the
field that is missing or mistyped), the application layer scores, and the answer is
serialised back. Guards in front refuse oversized bodies (413) and callers without the
``score`` permission (401/403) before anything is parsed or batched.
"""

from __future__ import annotations

import gc
from typing import Annotated

import bentoml
from pydantic import Field, ValidationError
from starlette.responses import JSONResponse

from serving.application import current_application
from serving.console import create_console
from serving.guards import BodyLimit, ScoringGuard
from serving.schemas import (
    MAX_BATCH,
    CheckResult,
    FeeLineIn,
    InstitutionFields,
    PersonFields,
    SettlementFields,
    SettlementIn,
)
from settlements.errors import InputError

console = create_console(current_application)
"""The console's ASGI app; it resolves the Application on its first request."""

SCORE_BATCH_SIZE = 2_000
"""Adaptive batching of /score: most settlements merged into one scoring call."""
SCORE_BATCH_LATENCY_MS = 5_000
"""Adaptive batching of /score: the longest a request may wait for its batch."""

# ``workers=1`` below is the default of a bare ``bentoml serve``; ``fundguard serve`` runs
# ``FUNDGUARD_SERVING__WORKERS`` workers through BentoML's config override of the service
# (``fundguard.commands.serving.service_environment``), since BentoML reads the decorator
# when this class is defined, before any ``Settings`` are loaded.


@bentoml.service(name="fundguard", workers=1, traffic={"timeout": 120})
@bentoml.asgi_app(console, path="/console")
class FundGuard:
    """Medical-insurance fraud checks during settlement, batch scoring, and the console."""

    def __init__(self) -> None:
        self.application = current_application()
        self.application.warm()
        # The warmed heap (libraries, model, evidence: ~430k objects) lives as long as the
        # worker. A full collection walking it took ~105 ms, twice a check's latency budget;
        # frozen, the collector skips it (0.0 ms).
        gc.collect()
        gc.freeze()

    @bentoml.api(route="/check")
    def check(
        self,
        settlement: SettlementFields,
        fee_details: list[FeeLineIn],
        person: PersonFields,
        institution: InstitutionFields,
    ) -> CheckResult:
        """Score one settlement with its fee lines before payment (事中审核).

        Answers the score per pattern, the flags that fired with their explanations, and
        ``pass`` or ``review``.
        """
        try:
            item = SettlementIn(
                settlement=settlement,
                fee_details=fee_details,
                person=person,
                institution=institution,
            )
            result = self.application.check([item])[0]
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            return JSONResponse({"error": message}, status_code=400)  # type: ignore[return-value]
        except InputError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)  # type: ignore[return-value]
        if result.recommendation == "invalid":
            return JSONResponse(  # type: ignore[return-value]
                {"error": "; ".join(result.problems)}, status_code=400
            )
        return result

    @bentoml.api(
        route="/score",
        batchable=True,
        max_batch_size=SCORE_BATCH_SIZE,
        max_latency_ms=SCORE_BATCH_LATENCY_MS,
    )
    def score(
        self, settlements: Annotated[list[SettlementIn], Field(max_length=MAX_BATCH)]
    ) -> list[CheckResult]:
        """Score a batch of settlements (at most ``MAX_BATCH`` per request).

        Concurrent requests are merged into one scoring call (adaptive batching); a
        settlement that breaks the contract gets ``recommendation = "invalid"`` and its
        problems, without failing the others.
        """
        return self.application.check(settlements)

    def __is_ready__(self) -> bool:
        return self.application.ready()


def _body_limit() -> int:
    return current_application().serving.max_request_bytes


FundGuard.add_asgi_middleware(  # type: ignore[attr-defined]
    ScoringGuard,
    users=lambda: current_application().users,
    ready=lambda: current_application().ready(),
)
FundGuard.add_asgi_middleware(  # type: ignore[attr-defined]
    BodyLimit, limit=_body_limit
)

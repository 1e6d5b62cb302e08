"""The number of service workers is a setting that `fundguard serve` hands to BentoML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fundguard.commands.serving import service_environment
from serving.config import ServingSettings


def test_serve_hands_the_workers_setting_to_bentoml_as_a_service_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given no BentoML override in the environment and a workers setting of 3
    monkeypatch.delenv("BENTOML_CONFIG_OVERRIDES", raising=False)
    # when the service's environment is prepared
    env = service_environment(str(tmp_path), ServingSettings(workers=3).workers)
    # then BentoML is told to run three workers of the fundguard service
    assert json.loads(env["BENTOML_CONFIG_OVERRIDES"]) == {
        "services": {"fundguard": {"workers": 3}}
    }


def test_an_operators_own_bentoml_override_of_the_workers_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given an operator's override naming 4 workers and a traffic timeout
    own = {"services": {"fundguard": {"workers": 4, "traffic": {"timeout": 30}}}}
    monkeypatch.setenv("BENTOML_CONFIG_OVERRIDES", json.dumps(own))
    # when the environment is prepared with the setting's 2
    env = service_environment(str(tmp_path), 2)
    # then the operator's override is kept as it was
    assert json.loads(env["BENTOML_CONFIG_OVERRIDES"]) == own


def test_the_default_is_one_worker_per_core_of_the_two_core_target() -> None:
    assert ServingSettings().workers == 2


@pytest.mark.slow
def test_bentoml_starts_as_many_workers_as_the_override_names(tmp_path: Path) -> None:
    # given the environment `fundguard serve` prepares for 3 workers
    env = service_environment(str(tmp_path), 3)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    # when BentoML loads the service class and allocates its workers
    probe = (
        "from _bentoml_impl.server.allocator import ResourceAllocator\n"
        "from serving.service import FundGuard\n"
        "FundGuard.inject_config()\n"
        "print(ResourceAllocator().get_worker_env(FundGuard)[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    # then it runs three worker processes
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "3"

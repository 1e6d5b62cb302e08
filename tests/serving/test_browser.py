"""The console in a real browser: headless Chromium (Debian's) driven by Playwright, against
`fundguard serve` on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    import playwright.sync_api  # noqa: F401

    PLAYWRIGHT = True
except ImportError:
    PLAYWRIGHT = False

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)"),
    pytest.mark.skipif(
        not PLAYWRIGHT, reason="playwright is not installed (pip install -e .[dev])"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_world(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`fundguard serve` over a data directory holding the hand-built world's cases; yields
    the console URL and an inspector's token."""
    from serving.application import Application, users_path
    from serving.auth import UserRegistry
    from serving.config import ServingSettings
    from supervision.cases import open_cases
    from supervision.ledger import register_subject

    from .world import small_leads, small_world

    data_dir = tmp_path / "data"
    evidence_dir = tmp_path / "world"
    small_world().write(evidence_dir)
    serving = ServingSettings()
    app = Application(
        serving=serving, data_dir=data_dir, users=UserRegistry(users_path(serving, data_dir))
    )
    register_subject(
        app.store(),
        kind="individual",
        credit_key="pseudonym-of-P1",
        name="张三",
        category="insured",
        local_code="P1",
        actor="registry (system)",
    )
    open_cases(app.store(), small_leads(), actor="scoring (system)")
    app.store().close()
    token = app.users.add("ann", "inspector")

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDGUARD_")}
    env.update(
        FUNDGUARD_DATA_DIR=str(data_dir),
        FUNDGUARD_SERVING__EVIDENCE_DIR=str(evidence_dir),
        FUNDGUARD_TRAINING__TRACKING_URI=f"sqlite:///{tmp_path / 'no-registry.db'}",
        BENTOML_HOME=str(tmp_path / "bentoml"),
        BENTOML_DO_NOT_TRACK="true",
    )
    fundguard = Path(sys.executable).with_name("fundguard")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(fundguard), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/console"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(
                    "fundguard serve did not start:\n" + (tmp_path / "serve.log").read_text()
                )
            time.sleep(0.3)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_an_inspector_confirms_the_top_lead_and_sees_the_ledger_record(
    served_world: tuple[str, str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token = served_world
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: dialog.accept())

            page.goto(f"{url}/")
            expect(page).to_have_url(f"{url}/login")
            page.fill("#token", token)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("Lead queue")

            page.locator("#leads a.lead-link").first.click()
            expect(page.locator("h1")).to_contain_text("bed_hanging")
            expect(page.locator("#subject")).to_have_text("M1")
            expect(page.locator("#timeline li.empty")).to_have_count(3)
            expect(page.locator("#timeline li.elsewhere")).to_contain_text("R9")
            expect(page.locator("#timeline li.readmission")).to_contain_text("S3")
            expect(page.locator("#ledger tbody")).to_contain_text("None yet")

            page.click("#confirm")

            expect(page.locator("#state")).to_have_text("confirmed")
            ledger = page.locator("#ledger tbody tr")
            expect(ledger).to_have_count(1)
            expect(ledger).to_contain_text("bad")
            expect(ledger).to_contain_text("ann (inspector)")
        finally:
            browser.close()

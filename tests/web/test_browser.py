"""The web workspace in a real headless browser: Debian's chromium driven by Playwright, against a real server.

The server is ``pbr serve`` on a free loopback port, over a ledger with claims in it. Each
page visited is saved as a screenshot in the folder ``PBR_SCREENSHOTS`` names (default
``out/screenshots``), for review. Chromium comes from the system (``.ci/run`` installs
Debian's package; ``PBR_CHROMIUM`` may name another binary); a browser is never downloaded.
Without chromium these tests are skipped, except in CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.serving import running_server
from tests.web.conftest import COHORTS, ROOT, seed_ledger

CHROMIUM = os.environ.get("PBR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(os.environ.get("PBR_SCREENSHOTS") or ROOT / "out" / "screenshots")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package", pytrace=False)
    pytestmark = pytest.mark.skip(reason="no chromium on this machine (apt-get install chromium); CI runs these")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from pbr_rules.api.tokens import create_token

    d = tmp_path_factory.mktemp("browser")
    tokens = d / "tokens.json"
    toks = {}
    for name, role, muni in (("fund", "fund", None), ("m101", "municipality", "101"), ("m751", "municipality", "751")):
        toks[name], _ = create_token(tokens, role, muni)
    db = str(d / "ledger.db")
    claims = seed_ledger(db, d / "ledger.key")
    env = {"PBR_COHORTS": str(COHORTS), "PBR_MAX_SIMULATION_RUNS": "4", "PBR_LEDGER_SECRET_FILE": str(d / "ledger.key")}
    with running_server(d, tokens, env={**env, "PBR_DATABASE_URL": db}) as (base, _):
        yield {"base": base, "tokens": toks, "claims": claims, "log": d / "serve.log"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def _page(browser, server, who: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(server["base"] + "/app")
    assert page.url.endswith("/app/sign-in")
    page.get_by_label("API-nøgle").fill(server["tokens"][who])
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url("**/app/agreements")
    return page


def _shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_sign_in_and_open_an_agreement(browser, server):
    page = _page(browser, server, "m101")
    assert page.get_by_test_id("role").inner_text() == "municipality 101"
    _shot(page, "01-agreements")
    page.locator("tr[data-contract=\"dk-101-koebenhavn\"] td:nth-child(2) a").click()
    page.wait_for_url("**/app/agreements/dk-101-koebenhavn")
    assert page.locator("article.document h1").count() >= 1
    assert "Tillæg 1, § 2" in page.locator("article.document").inner_text()
    _shot(page, "02-agreement")


def test_a_broken_line_shows_its_error_beside_it(browser, server):
    page = _page(browser, server, "m101")
    page.goto(server["base"] + "/app/agreements/dk-101-koebenhavn/try")
    editor = page.locator("#yaml")
    text = editor.input_value()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if 'value: "36000"' in ln)
    editor.fill(text.replace('value: "36000"', 'value: "36.000"'))
    assert page.locator("#gutter").inner_text().splitlines()[-1] == str(len(text.splitlines()))  # line numbers beside the editor
    page.get_by_role("button", name="Kontrollér").click()
    problem = page.locator(f'li[data-line="{line}"] .problem')
    problem.wait_for()
    assert "36.000" in page.locator(f'li[data-line="{line}"] .t').inner_text()
    assert "tariffs.job_13_weeks.amounts.all.2020-07-01.value" in problem.inner_text()
    _shot(page, "03-check-error")


def test_a_tariff_change_shows_its_effect_on_a_cohort(browser, server):
    page = _page(browser, server, "m101")
    page.goto(server["base"] + "/app/agreements/dk-101-koebenhavn/try")
    editor = page.locator("#yaml")
    editor.fill(editor.input_value().replace('value: "36000"', 'value: "46000"'))
    page.get_by_label("Kohorte til hvad-nu-hvis").select_option("koebenhavn-1000.jsonl")
    page.get_by_role("button", name="Hvad ændres").click()
    page.locator("#whatif").wait_for()
    assert "påvirker betalinger" in page.locator("#diff").inner_text()
    first = page.locator("#whatif tbody tr").first.inner_text()
    assert "job_13_weeks" in first and "36.000,00 kr." in first and "46.000,00 kr." in first  # amounts in the page's language
    _shot(page, "04-what-changes")


def test_the_business_case_draws_its_charts(browser, server):
    page = _page(browser, server, "m101")
    resp = page.goto(server["base"] + "/app/business-case?cohort=koebenhavn-1000.jsonl")
    # server-rendered: the report is in the page as loaded, or the page says why it is not
    assert resp.status == 200 and page.locator("#report").count() == 1, (
        resp.status, page.locator("main").inner_text()[:2000], server["log"].read_text(encoding="utf-8")[-3000:]
    )
    chart = page.locator("#report svg").first
    chart.wait_for()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    assert page.locator("#report svg path, #report svg polyline, #report svg rect").count() > 3
    shot = _shot(page, "05-business-case")
    assert shot.stat().st_size > 30_000  # a blank page is a few kB
    page.get_by_label("Kørsler", exact=False).fill("3")
    page.get_by_role("button", name="Start").click()
    page.locator("#simulation svg").first.wait_for(timeout=120_000)  # progress polled, then the distribution
    _shot(page, "06-simulation")


def test_approve_a_claim_and_be_refused_for_another_municipalitys(browser, server):
    page = _page(browser, server, "m101")
    own, other = server["claims"]["101"], server["claims"]["751"]
    page.goto(server["base"] + "/app/claims")
    page.locator(f'tr[data-claim="{own}"] a').click()
    page.get_by_role("button", name="godkend").click()
    page.wait_for_url("**message=*")
    assert page.locator("#claim-state").inner_text().startswith("godkendt")
    assert "godkend" in page.locator("#events").inner_text()
    assert page.locator("#evidence li").count() >= 1  # the records its milestone was met on
    _shot(page, "07-claim-approved")
    resp = page.goto(server["base"] + f"/app/claims/{other}")
    assert resp.status == 403 and "Ikke tilladt" in page.content()
    _shot(page, "08-other-municipality")


def test_a_form_without_its_csrf_token_is_refused(browser, server):
    page = _page(browser, server, "m101")
    own = server["claims"]["101"]
    resp = page.request.post(server["base"] + f"/app/claims/{own}/act", form={"action": "dispute", "reason": "no token"})
    assert resp.status == 403 and "security token" in resp.text()
    page.goto(server["base"] + f"/app/claims/{own}")
    assert "omtvistet" not in page.locator("#claim-state").inner_text()


def test_every_control_has_a_label_and_pages_work_from_the_keyboard(browser, server):
    page = _page(browser, server, "m101")
    unlabelled = []
    for path in ("/app/agreements", "/app/agreements/dk-101-koebenhavn/try", "/app/business-case", "/app/claims", f"/app/claims/{server['claims']['101']}"):
        resp = page.goto(server["base"] + path)
        assert resp.status == 200, f"{path}: {resp.status} {page.content()[:500]}"  # says what came instead of the page
        assert page.locator("html").get_attribute("lang") == "da"
        missing = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""
        )
        unlabelled += [f"{path}: {m}" for m in missing]
    assert unlabelled == []
    page.goto(server["base"] + "/app/agreements")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"

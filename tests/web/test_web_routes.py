"""Every workspace route's permissions, sessions and CSRF, without a browser (the browser tests are in test_browser.py)."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import CONTRACTS, csrf_of, signed_in

PAGES = ["/app", "/app/agreements", "/app/agreements/dk-101-koebenhavn", "/app/agreements/dk-101-koebenhavn/try", "/app/business-case", "/app/claims"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_session(app, path):
    with TestClient(app) as c:
        resp = c.get(path, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/app/sign-in"


def test_sign_in_sets_a_strict_httponly_cookie_and_never_the_token(app, world):
    with TestClient(app) as c:
        page = c.get("/app/sign-in")
        resp = c.post("/app/sign-in", data={"token": world["m101"], "csrf": csrf_of(page.text)}, follow_redirects=False)
    cookie = resp.headers["set-cookie"]
    assert resp.status_code == 303 and cookie.startswith("pbr_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/app" in cookie and "Secure" not in cookie
    assert world["m101"] not in cookie


def test_the_cookie_is_secure_over_tls(app, world):
    c = signed_in(app, world["fund"], base_url="https://testserver")
    assert any(ck.secure for ck in c.cookies.jar if ck.name == "pbr_session")


def test_sign_in_refuses_a_wrong_token_and_a_missing_csrf(app, world):
    with TestClient(app) as c:
        page = c.get("/app/sign-in")
        wrong = c.post("/app/sign-in", data={"token": "not-a-token", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401 and "signin-error" in wrong.text
        no_csrf = c.post("/app/sign-in", data={"token": world["fund"]})
        assert no_csrf.status_code == 403


def test_a_municipality_sees_only_its_own_agreements(app, world):
    c = signed_in(app, world["m101"])
    listed = c.get("/app/agreements").text
    assert 'data-contract="dk-101-koebenhavn"' in listed and 'data-contract="dk-751-aarhus"' not in listed
    assert c.get("/app/agreements/dk-751-aarhus").status_code == 403
    assert c.get("/app/agreements/dk-999-nowhere").status_code == 403  # the same answer, exists or not
    fund = signed_in(app, world["fund"])
    assert fund.get("/app/agreements/dk-999-nowhere").status_code == 404


def test_the_agreement_page_renders_the_document_and_its_changelog(app, world):
    html = signed_in(app, world["auditor"]).get("/app/agreements/dk-101-koebenhavn").text
    assert "<article" in html and "Tillæg 1, § 2" in html  # the clause of the re-profiled tariff, from the renderer
    assert "Ændringslog" in html
    amendments = re.search(r'<table id="amendments">(.*?)</table>', html, re.S).group(1)
    # Tillæg 1: the 13-week job tariff to 36,000 from 2020-07-01 (§ 2); the attachment fee withdrawn from 2021-01-01 (§ 3)
    assert re.search(r"<td>2020-07-01</td><td>tariff job_13_weeks \(all\).*?36.000,00 kr.</td><td>Tillæg 1, § 2</td>", amendments, re.S)
    assert re.search(r"<td>2021-01-01</td><td>tariff citizen_start \(all\).*?udgået</td><td>Tillæg 1, § 3</td>", amendments, re.S)


def test_check_shows_each_problem_beside_its_line(app, world):
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    broken = text.replace('value: "36000"', 'value: "36.000"')
    line = next(i for i, ln in enumerate(broken.splitlines(), 1) if '"36.000"' in ln)
    page = c.get("/app/agreements/dk-101-koebenhavn/try")
    resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": broken, "csrf": csrf_of(page.text), "action": "check"})
    assert resp.status_code == 422
    item = re.search(rf'<li data-line="{line}" class="bad">(.*?)</li>', resp.text, re.S)
    assert item and "tariffs.job_13_weeks.amounts.all.2020-07-01.value" in item.group(1)


@pytest.mark.parametrize("key", ["extends", "benefit_codes"])
def test_an_edited_text_cannot_make_the_service_read_a_file_outside_the_contracts_folder(app, world, tmp_path, key):
    # A review read /etc/passwd's shape, a secret file's keys and values, and grew the server
    # to 20 GB with extends: /dev/zero, through this page (the API refused the same text).
    secret = tmp_path / "secret.yaml"
    secret.write_text("kind: template\ncurrency: hunter2\n", encoding="utf-8")
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    for target in (str(secret), "/dev/zero", "../../../../../../../../etc/passwd"):
        page = c.get("/app/agreements/dk-101-koebenhavn/try")
        line = f"{key}: {target}" if key == "extends" else r"\g<0>\n" + f"{key}: {target}"  # the agreement names no benefit codes: add them
        edited = re.sub(r"^extends: .*$", line, text, count=1, flags=re.M)
        assert f"{key}: {target}" in edited
        resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": edited, "csrf": csrf_of(page.text), "action": "check"})
        assert resp.status_code == 422, target
        assert f"{key} must name a file inside the service&#39;s contracts folder" in resp.text or f"{key} must name a file inside the service's contracts folder" in resp.text
        assert "hunter2" not in resp.text and "root:" not in resp.text


@pytest.mark.parametrize("key", ["benefit_rates", "cohort"])
def test_nor_through_the_business_case_files_it_names(app, world, tmp_path, key):
    # The review after: business_case.benefit_rates and business_case.counterfactual.cohort were
    # read unchecked by "What changes" (a comparison group file's lines were quoted in the answer).
    secret = tmp_path / "cfg.jsonl"
    secret.write_text("PASSWORD=hunter2\n", encoding="utf-8")
    c = signed_in(app, world["fund"])
    path = CONTRACTS / "examples" / "fi-091-koto-sib.yaml"
    text = path.read_text(encoding="utf-8")
    page = c.get("/app/agreements/fi-091-koto-sib-example/try")
    resp = c.post("/app/agreements/fi-091-koto-sib-example/try", data={"yaml": text, "csrf": csrf_of(page.text), "action": "check"})
    assert resp.status_code == 200, resp.text  # as it is: its comparison group is in the cohorts folder, its rates in contracts
    for target in (str(secret), "/dev/zero"):
        edited = re.sub(rf"^(\s+{key}): .*$", rf"\1: {target}", text, count=1, flags=re.M)
        assert edited != text
        page = c.get("/app/agreements/fi-091-koto-sib-example/try")
        resp = c.post("/app/agreements/fi-091-koto-sib-example/try",
                      data={"yaml": edited, "csrf": csrf_of(page.text), "action": "changes", "cohort": "fi-koto-sib-200.jsonl"})
        assert resp.status_code == 422, target
        assert "must name a file inside the service" in resp.text and "hunter2" not in resp.text


def test_what_changes_shows_the_diff_and_who_gains(app, world):
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    page = c.get("/app/agreements/dk-101-koebenhavn/try")
    resp = c.post(
        "/app/agreements/dk-101-koebenhavn/try",
        data={"yaml": text.replace('value: "36000"', 'value: "46000"'), "csrf": csrf_of(page.text), "action": "changes", "cohort": "koebenhavn-1000.jsonl"},
    )
    assert resp.status_code == 200
    assert '<ul id="diff">' in resp.text and "påvirker betalinger" in resp.text
    rows = re.findall(r"<tr><td>(syn-101-\d+)</td><td>job_13_weeks #1</td><td class=\"num\">36.000,00 kr.</td><td class=\"num\">46.000,00 kr.</td></tr>", resp.text)
    assert rows  # every job_13_weeks payment from 2020-07-01 rises by 10,000


def test_download_returns_the_edited_file_and_saves_nothing(app, world):
    c = signed_in(app, world["m101"])
    path = CONTRACTS / "agreements" / "101-koebenhavn.yaml"
    before = path.read_bytes()
    page = c.get("/app/agreements/dk-101-koebenhavn/try")
    resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": "edited: true\n", "csrf": csrf_of(page.text), "action": "download"})
    assert resp.content == b"edited: true\n" and 'filename="101-koebenhavn.yaml"' in resp.headers["content-disposition"]
    assert path.read_bytes() == before


def test_business_case_shows_the_verdict_and_charts_but_not_to_auditors(app, world):
    c = signed_in(app, world["m101"])
    html = c.get("/app/business-case?cohort=koebenhavn-1000.jsonl").text
    assert 'id="report"' in html and "<svg" in html and "Aarhus" not in html
    assert signed_in(app, world["auditor"]).get("/app/business-case").status_code == 403


def test_the_fund_sees_the_english_examples_and_a_danish_business_case_beside_them(app, world):
    # The fund sees every agreement, the two English examples in GBP among them; a business case
    # of a Danish cohort adds up only the agreements with histories, so it is not refused for
    # mixing currencies.
    c = signed_in(app, world["fund"])
    listed = c.get("/app/agreements").text
    assert "gb-e08000025-employment-programme" in listed and "gb-e08000035-youth-rate-card" in listed
    page = c.get("/app/agreements/gb-e08000025-employment-programme")
    assert page.status_code == 200 and "GBP" in page.text and "DKK" not in page.text
    html = c.get("/app/business-case?cohort=koebenhavn-1000.jsonl").text
    assert 'id="report"' in html and "different currencies" not in html and "Birmingham" not in html


def test_claims_actions_follow_the_roles(app, world):
    own, other = world["claims"]["101"], world["claims"]["751"]
    m101, fund, auditor = signed_in(app, world["m101"]), signed_in(app, world["fund"]), signed_in(app, world["auditor"])
    listed = m101.get("/app/claims").text
    assert f'data-claim="{own}"' in listed and "dk-751-aarhus" not in listed
    assert m101.get(f"/app/claims/{other}").status_code == 403
    # a claim that does not exist under another municipality's agreement: the same 403, not a 404 (existence is not told)
    ghost = other.rsplit("/", 1)[0] + "/99"
    assert m101.get(f"/app/claims/{ghost}").status_code == 403 and m101.get(f"/app/claims/{own.rsplit('/', 1)[0]}/99").status_code == 403
    assert fund.get(f"/app/claims/{ghost}").status_code == 404  # the fund sees every claim: a missing one is 404
    page = m101.get(f"/app/claims/{own}")
    token = csrf_of(page.text)
    assert m101.post(f"/app/claims/{other}/act", data={"action": "approve", "csrf": token}).status_code == 403
    assert m101.post(f"/app/claims/{own}/act", data={"action": "pay", "csrf": token}).status_code == 403  # the fund pays
    assert m101.post(f"/app/claims/{own}/act", data={"action": "approve"}).status_code == 403  # no CSRF token
    done = m101.post(f"/app/claims/{own}/act", data={"action": "approve", "csrf": token})
    assert done.status_code == 200 and 'id="claim-state">godkendt' in done.text and "Udført: godkend" in done.text
    # an approved claim offers no second approval; the municipality may still dispute it
    assert re.findall(r'name="action" value="(\w+)"', done.text) == ["dispute"]
    assert "5.000,00 kr." in done.text or "kr." in done.text  # amounts in Danish on a Danish page
    again = m101.post(f"/app/claims/{own}/act", data={"action": "approve", "csrf": token})
    assert again.status_code == 409 and "cannot approve it" in again.text
    ftoken = csrf_of(fund.get(f"/app/claims/{own}").text)
    assert fund.post(f"/app/claims/{own}/act", data={"action": "pay", "csrf": ftoken}).status_code == 200
    assert "approve" not in re.findall(r'name="action" value="(\w+)"', auditor.get(f"/app/claims/{own}").text)


def test_a_revoked_token_ends_its_sessions(app, world, tmp_path):
    c = signed_in(app, world["m751"])
    assert c.get("/app/agreements").status_code == 200
    data = json.loads(Path(world["tokens_file"]).read_text())
    kept = json.loads(json.dumps(data))
    from pbr_rules.api.tokens import hash_token

    data["tokens"] = [t for t in data["tokens"] if t["sha256"] != hash_token(world["m751"])]
    Path(world["tokens_file"]).write_text(json.dumps(data))
    try:
        resp = c.get("/app/agreements", follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/app/sign-in"
    finally:
        Path(world["tokens_file"]).write_text(json.dumps(kept))


def test_sign_out_needs_csrf_and_ends_the_session(app, world):
    c = signed_in(app, world["fund"])
    assert c.post("/app/sign-out", data={"csrf": "x"}).status_code == 403
    token = csrf_of(c.get("/app/agreements").text)
    cookie = c.cookies.get("pbr_session")
    assert cookie and TestClient(app, base_url="http://testserver", cookies={"pbr_session": cookie}).get("/app/agreements").status_code == 200  # the copy works before
    resp = c.post("/app/sign-out", data={"csrf": token}, follow_redirects=False)
    assert resp.status_code == 303 and 'pbr_session=""' in resp.headers["set-cookie"]
    # A review replayed the signed-out cookie (and its CSRF token) and approved a claim: now the
    # copy is refused too, by every worker process (the sign-out is kept beside the signing key).
    replay = TestClient(app, base_url="http://testserver", raise_server_exceptions=False, cookies={"pbr_session": cookie})
    assert replay.get("/app/agreements", follow_redirects=False).status_code == 303  # to sign-in
    assert replay.post("/app/sign-out", data={"csrf": token}, follow_redirects=False).headers["location"].endswith("/app/sign-in")
    other = signed_in(app, world["fund"])  # another session of the same token goes on
    assert other.get("/app/agreements").status_code == 200


def test_check_shows_the_warnings_of_pbr_validate(app, world):
    # Odense's hours lowered to 10 in København's agreement, under the template's "15 hours" description.
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    lowered = text + "milestones:\n  job_13_weeks:\n    measure: {min_hours_per_week: 10}\n"
    page = c.get("/app/agreements/dk-101-koebenhavn/try")
    resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": lowered, "csrf": csrf_of(page.text), "action": "check"})
    assert resp.status_code == 200 and 'id="no-problems"' in resp.text
    warnings = re.search(r'<ul id="warnings">(.*?)</ul>', resp.text, re.S).group(1)
    line = len(lowered.splitlines())
    assert f"Linje {line}:" in warnings and "milestones.job_13_weeks.measure.min_hours_per_week: 10 here, but the template&#39;s description" in warnings


@pytest.mark.parametrize(("contract_id", "cohort"), [
    ("dk-101-koebenhavn", "koebenhavn-1000.jsonl"), ("dk-461-odense", "odense-1000.jsonl"), ("dk-751-aarhus", "aarhus-1000.jsonl"),
    ("fi-091-koto-sib-example", "fi-koto-sib-200.jsonl"),
])
def test_what_changes_works_for_every_kind_of_agreement(app, world, contract_id, cohort):
    # The review of the draft process: Aarhus (amended definitions) and the Finnish example
    # (a formula tariff, a comparison group) could not be sent to it and were 500s.
    c = signed_in(app, world["fund"])
    text = _source_text_of(app, contract_id)
    page = c.get(f"/app/agreements/{contract_id}/try")
    resp = c.post(f"/app/agreements/{contract_id}/try", data={"yaml": text, "csrf": csrf_of(page.text), "action": "changes", "cohort": cohort})
    assert resp.status_code == 200, resp.text[-2000:]


def test_a_draft_whose_evaluation_fails_shows_why_and_the_next_draft_works(app, world):
    # The review: an error raised in the draft process could not cross back (500), and it
    # broke the shared pool for everyone after.
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    referral = text + "tariffs:\n  job_13_weeks:\n    pricing_date: referral\n"
    for draft, status in ((referral, 422), (text.replace('value: "36000"', 'value: "46000"'), 200)):
        page = c.get("/app/agreements/dk-101-koebenhavn/try")
        resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": draft, "csrf": csrf_of(page.text), "action": "changes", "cohort": "koebenhavn-1000.jsonl"})
        assert resp.status_code == status, resp.text[-2000:]
        assert str(CONTRACTS.resolve()) not in resp.text
    assert "referral" in c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": referral, "csrf": csrf_of(c.get("/app/agreements/dk-101-koebenhavn/try").text), "action": "changes", "cohort": "koebenhavn-1000.jsonl"}).text


def _source_text_of(app, contract_id: str) -> str:
    return Path(app.state.registry.get(contract_id).path).read_text(encoding="utf-8")


def test_a_draft_is_evaluated_in_a_draft_process_so_the_server_never_compiles_it(app, world):
    # A review: each edited agreement's 'What changes' registered a ruleset (never freed by
    # durable-rules) and filled the per-contract caches: 1.3-2 MB a draft, for ever.
    from pbr_rules.evaluation import engine

    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    before = set(engine._registered)
    for value in ("46000", "47000"):
        page = c.get("/app/agreements/dk-101-koebenhavn/try")
        resp = c.post("/app/agreements/dk-101-koebenhavn/try",
                      data={"yaml": text.replace('value: "36000"', f'value: "{value}"'), "csrf": csrf_of(page.text), "action": "changes", "cohort": "koebenhavn-1000.jsonl"})
        assert resp.status_code == 200 and "job_13_weeks #1" in resp.text
    assert set(engine._registered) - before <= {app.state.registry.get("dk-101-koebenhavn").ruleset_name}  # only the signed agreement, if it was not yet


def test_an_as_of_beyond_the_calendar_is_a_message_not_a_500(app, world):
    c = signed_in(app, world["fund"])
    for day in ("9999-12-31", "0001-01-01"):
        resp = c.get(f"/app/business-case?cohort=koebenhavn-1000.jsonl&as_of={day}")
        assert resp.status_code == 200 and f"as of {day}: choose a date from" in resp.text and 'id="report"' not in resp.text


def test_a_token_runs_at_most_its_share_of_heavy_pages_at_once(app, world):
    # A review: 120 concurrent business cases of one token all ran, and other users waited 14 s.
    from types import SimpleNamespace

    c = signed_in(app, world["fund"])
    ws = app.state.workspace
    session = SimpleNamespace(token_id=app.state.tokens.lookup(world["fund"]).id)  # as the fund's session says
    most = app.state.settings.max_heavy_per_token
    with contextlib.ExitStack() as running:
        for _ in range(most):
            running.enter_context(ws.heavy(session))
        resp = c.get("/app/business-case?cohort=koebenhavn-1000.jsonl&as_of=2021-12-31")
        assert resp.status_code == 429 and resp.headers["retry-after"] == "10" and f"at most {most} at once" in resp.text
    assert c.get("/app/business-case?cohort=koebenhavn-1000.jsonl&as_of=2021-12-31").status_code == 200


def test_problems_in_other_files_name_no_server_path(app, world):
    # A review: "Problems in other files" showed absolute paths of the server's folders.
    c = signed_in(app, world["m101"])
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text(encoding="utf-8")
    edited = text.replace("extends: ../templates/vaekstpartnerskaber.yaml", "extends: ../templates/no-such-template.yaml")
    page = c.get("/app/agreements/dk-101-koebenhavn/try")
    resp = c.post("/app/agreements/dk-101-koebenhavn/try", data={"yaml": edited, "csrf": csrf_of(page.text), "action": "check"})
    assert resp.status_code == 422 and "no-such-template.yaml" in resp.text
    assert str(CONTRACTS.resolve()) not in resp.text and str(CONTRACTS.resolve().parent) not in resp.text


def _sign_out_many(key: str, start: int, n: int) -> None:
    from pbr_rules.web.session import Secret, Session, SignedOut

    store = SignedOut(Secret(key))
    for i in range(start, start + n):
        store.add(Session("t", "h", "fund", None, f"nonce-{i}", 4_000_000_000))


def test_sign_outs_from_several_processes_are_all_kept_and_a_damaged_file_is_read_around(tmp_path):
    # The review: four processes signing out at once lost 143 of 200 sign-outs (each rewrote
    # the file from its own read); bytes that are not text made every page a 500.
    import multiprocessing

    from pbr_rules.web.session import Secret, Session, SignedOut

    key = str(tmp_path / "web.key")
    procs = [multiprocessing.get_context("spawn").Process(target=_sign_out_many, args=(key, k * 50, 50)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    store = SignedOut(Secret(key))
    assert all(Session("t", "h", "fund", None, f"nonce-{i}", 0) in store for i in range(200))
    assert (store.path.stat().st_mode & 0o777) == 0o600
    store.path.write_bytes(b"\xff\xfe garbage \xb2\nnonce-x 4000000000\nnonce-y \xc2\xb2\n")
    fresh = SignedOut(Secret(key))
    assert Session("t", "h", "fund", None, "nonce-x", 0) in fresh and Session("t", "h", "fund", None, "nonce-y", 0) not in fresh
    fresh.add(Session("t", "h", "fund", None, "nonce-z", 4_000_000_000))  # the damaged lines are dropped, the good one kept
    assert {ln.split()[0] for ln in store.path.read_text().splitlines()} == {"nonce-x", "nonce-z"}

"""The web workspace under ``/app``: agreements, trying a change, the business case, the claims.

Server-rendered (Jinja2 templates in ``web/templates``, a little plain JavaScript and CSS in
``web/static``, all served from the package; nothing from a CDN). The pages are thin like the
API: parse the form, call one core function, render. They use the objects the API app keeps
on ``app.state`` (settings, tokens, registry, ledger), so this layer imports nothing of the API.

Permissions are the API's: a municipality sees only its own agreements, business case and
claims (another's is 403, the same page whether it exists or not); the auditor reads
agreements and claims and writes nothing; claim actions follow ``ledger.ACTION_ROLES``.
Nothing is saved from the browser to the contracts folder: agreements change through review
in git, and the "try a change" page offers the edited file for download instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid, PbrError
from pbr_rules.evaluation import DraftFailed, DraftTimeout, evaluate_cohort, evaluate_draft_cohort, limit_diagnostics
from pbr_rules.finance import business_case, load_scenario, simulate
from pbr_rules.language import (
    LoadedContract,
    agreement_warnings,
    contract_from_source,
    files_inside,
    load_cohorts,
    parse_yaml,
    read_agreement,
    relative_diagnostic,
)
from pbr_rules.lawyers import compare, diff_contracts, load_changelog, render_contract
from pbr_rules.ledger import ACTION_ROLES, ALLOWED_FROM, STATES, TransitionRefused
from pbr_rules.ledger import NotFound as ClaimNotFound
from pbr_rules.models.settlement import Settlement
from pbr_rules.i18n import format_money
from pbr_rules.reports import render_report, simulation_section
from pbr_rules.web.i18n import LANGUAGES, translator
from pbr_rules.web.session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Secret,
    SignedOut,
    Session,
    csrf_ok,
    csrf_token,
    make_session,
    read_session,
)

HERE = Path(__file__).parent
PREFIX = "/app"
MAX_YAML = 500_000  # bytes of an edited agreement
MAX_REASON = 2000


class Busy(Exception):
    """The token already runs as many heavy pages as it may (429)."""


class Denied(Exception):
    """The signed-in token may not see or do this (403)."""


class PageNotFound(Exception):
    """No such agreement or claim (404)."""


class SignInNeeded(Exception):
    """No valid session: to the sign-in page."""


@dataclass
class SimulationJob:
    id: str
    owner: str
    runs: int
    seed: int
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    result: Any = None
    error: str | None = None
    html: str | None = None


class Workspace:
    """Everything the pages share: templates, the signing key, running simulations."""

    def __init__(self, app: FastAPI, secret_file: str | Path | None = None):
        self.app = app
        self.secret = Secret(secret_file)
        self.signed_out = SignedOut(self.secret)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.jobs: dict[str, SimulationJob] = {}
        self.lock = threading.Lock()
        self._cases: dict[tuple, Any] = {}
        self._heavy: dict[str, int] = {}  # token id -> heavy pages it is computing now

    @contextmanager
    def heavy(self, session):
        """A page that computes a business case or a what-if: at most ``PBR_MAX_HEAVY_PER_TOKEN``
        at once per token (as the API's heavy requests), else ``Busy`` (a 429 page)."""
        most = self.settings.max_heavy_per_token
        with self.lock:
            running = self._heavy.get(session.token_id, 0)
            if running >= most:
                raise Busy(f"{running} computations of yours are still running (at most {most} at once): wait for them, then reload")
            self._heavy[session.token_id] = running + 1
        try:
            yield
        finally:
            with self.lock:
                left = self._heavy[session.token_id] - 1
                if left:
                    self._heavy[session.token_id] = left
                else:
                    del self._heavy[session.token_id]

    # --- state the API app keeps ------------------------------------------------------------------

    @property
    def settings(self):
        return self.app.state.settings

    @property
    def registry(self):
        return self.app.state.registry

    @property
    def ledger(self):
        return self.app.state.ledger

    # --- sessions ---------------------------------------------------------------------------------

    def session(self, request: Request) -> Session:
        s = read_session(self.secret, request.cookies.get(SESSION_COOKIE))
        if s is None or s in self.signed_out:  # a copy of a cookie signed out is refused too
            raise SignInNeeded()
        record = self.app.state.tokens.lookup_hash(s.token_hash)
        if record is None or record.id != s.token_id or (hasattr(record, "expired") and record.expired(date.today())):
            raise SignInNeeded()  # revoked or expired: the session ends with its token
        return s

    def check_csrf(self, session: Session, presented: str | None) -> None:
        if not csrf_ok(self.secret, session, presented):
            raise Denied("the form's security token is missing or wrong: reload the page and try again")

    def page(self, request: Request, template: str, session: Session | None, status: int = 200, **context) -> HTMLResponse:
        lang = request.cookies.get("pbr_lang") if request.cookies.get("pbr_lang") in LANGUAGES else "da"
        # Every amount is shown in its own currency: the template names it (the contract's, the claim's).
        context.setdefault("fmt", lambda amount, currency: format_money(amount, currency, lang))
        html = self.env.get_template(template).render(
            _=translator(lang), lang=lang, session=session, csrf=csrf_token(self.secret, session) if session else "",
            prefix=PREFIX, request_path=request.url.path, **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    # --- what a session may see -------------------------------------------------------------------

    def visible(self, session: Session) -> list[LoadedContract]:
        out = sorted(self.registry.by_id.values(), key=lambda lc: (lc.contract.municipality.code, lc.contract.id))
        return [lc for lc in out if session.role != "municipality" or lc.contract.municipality.code == session.municipality]

    def agreement(self, session: Session, contract_id: str) -> LoadedContract:
        """The agreement, if this session may see it: 403 for another municipality's (exists or not), else 404."""
        loaded = self.registry.get(contract_id)
        if loaded is None or (session.role == "municipality" and loaded.contract.municipality.code != session.municipality):
            raise Denied("this agreement is not yours to see") if session.role == "municipality" else PageNotFound(f"no agreement '{contract_id[:100]}'")
        return loaded

    def cohort_files(self) -> list[Path]:
        """The bundled cohort files (``PBR_COHORTS``, default fixtures/cohorts) offered on the pages."""
        folder = Path(self.settings.cohorts)
        return sorted(p for p in folder.glob("*") if p.suffix in (".jsonl", ".csv") and p.is_file()) if folder.is_dir() else []

    def cohort(self, name: str, loaded: LoadedContract) -> list:
        """The histories of one bundled cohort file that belong to the agreement's municipality."""
        files = {p.name: p for p in self.cohort_files()}
        if name not in files:
            raise InputInvalid([])
        histories = load_cohorts([files[name]], loaded.known)
        code = loaded.contract.municipality.code
        return [h for h in histories if getattr(h, "municipality", code) == code]


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _body_of(document: str) -> str:
    """The inside of a whole HTML document's <body> (the renderers write whole documents)."""
    start = document.find("<body>")
    end = document.rfind("</body>")
    return document[start + len("<body>") : end] if start >= 0 and end > start else document


def _numbered(text: str, problems: list) -> list[dict]:
    by_line: dict[int, list] = {}
    for d in problems:
        by_line.setdefault(d.line, []).append(d)
    return [{"n": i, "text": line, "problems": by_line.get(i, [])} for i, line in enumerate(text.splitlines() or [""], start=1)]


def install_workspace(app: FastAPI, secret_file: str | Path | None = None) -> Workspace:
    """Mount the workspace's pages and assets under /app on the API's app."""
    ws = Workspace(app, secret_file)
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="app-static")

    @app.exception_handler(SignInNeeded)
    async def _to_sign_in(request: Request, exc: SignInNeeded):
        resp = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return resp

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        s = read_session(ws.secret, request.cookies.get(SESSION_COOKIE))
        return ws.page(request, "error.html", s, status=403, title="403", message=str(exc) or "not allowed")

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        s = read_session(ws.secret, request.cookies.get(SESSION_COOKIE))
        resp = ws.page(request, "error.html", s, status=429, title="429", message=str(exc))
        resp.headers["Retry-After"] = "10"
        return resp

    @app.exception_handler(PageNotFound)  # the workspace's own: the API keeps answering problems for the ledger's NotFound
    async def _not_found(request: Request, exc: Exception):
        s = read_session(ws.secret, request.cookies.get(SESSION_COOKIE))
        return ws.page(request, "error.html", s, status=404, title="404", message=str(exc))

    # --- sign-in ----------------------------------------------------------------------------------

    @router.get("")
    def home(request: Request):
        ws.session(request)
        return RedirectResponse(f"{PREFIX}/agreements", status_code=303)

    @router.get("/sign-in")
    def sign_in_form(request: Request, error: str | None = None):
        nonce = request.cookies.get(SIGNIN_COOKIE) or uuid.uuid4().hex
        resp = ws.page(request, "sign_in.html", None, signin_csrf=nonce, error=error)
        resp.set_cookie(SIGNIN_COOKIE, nonce, httponly=True, samesite="strict", secure=request.url.scheme == "https", path=PREFIX)
        return resp

    @router.post("/sign-in")
    def sign_in(request: Request, token: str = Form("", max_length=200), csrf: str = Form("", max_length=200)):
        cookie = request.cookies.get(SIGNIN_COOKIE)
        if not cookie or not csrf or cookie != csrf:
            raise Denied("the sign-in form's security token is missing or wrong: reload the page and try again")
        record = ws.app.state.tokens.lookup(token.strip()) if token.strip() else None
        if record is None:
            return ws.page(request, "sign_in.html", None, status=401, signin_csrf=cookie, error="unknown")
        _, value = make_session(ws.secret, record.id, record.sha256, record.role, record.municipality)
        resp = RedirectResponse(f"{PREFIX}/agreements", status_code=303)
        resp.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https", path=PREFIX, max_age=8 * 3600)
        resp.delete_cookie(SIGNIN_COOKIE, path=PREFIX)
        return resp

    @router.post("/sign-out")
    def sign_out(request: Request, csrf: str = Form("", max_length=200)):
        s = ws.session(request)
        ws.check_csrf(s, csrf)
        ws.signed_out.add(s)  # the session ends here, not only in this browser
        resp = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return resp

    @router.post("/language")
    def language(request: Request, lang: str = Form("da", max_length=5), back: str = Form(PREFIX, max_length=400), csrf: str = Form("", max_length=200)):
        s = ws.session(request)
        ws.check_csrf(s, csrf)
        target = back if back.startswith(PREFIX + "/") or back == PREFIX else PREFIX
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie("pbr_lang", lang if lang in LANGUAGES else "da", httponly=True, samesite="strict", path=PREFIX)
        return resp

    # --- agreements -------------------------------------------------------------------------------

    @router.get("/agreements")
    def agreements(request: Request):
        s = ws.session(request)
        today = date.today()
        rows = [
            {"loaded": lc, "c": lc.contract, "in_force": lc.contract.term.start <= today <= lc.contract.term.end}
            for lc in ws.visible(s)
        ]
        return ws.page(request, "agreements.html", s, rows=rows, today=today)

    @router.get("/agreements/{contract_id}")
    def agreement(request: Request, contract_id: str):
        s = ws.session(request)
        loaded = ws.agreement(s, contract_id)
        document = _body_of(render_contract(loaded, "html"))
        changelog = []
        log_file = Path(ws.settings.contracts) / "CHANGELOG.yaml"
        if log_file.is_file():
            try:
                changelog = [e for e in load_changelog(log_file).entries if e.contract == loaded.contract.id]
            except PbrError:
                changelog = []
        return ws.page(request, "agreement.html", s, loaded=loaded, c=loaded.contract, document=document, changelog=changelog,
                       amendments=_amendments(loaded.contract))

    def _source_text(loaded: LoadedContract) -> str:
        return Path(loaded.path).read_text(encoding="utf-8")

    @router.get("/agreements/{contract_id}/try")
    def try_change(request: Request, contract_id: str):
        s = ws.session(request)
        loaded = ws.agreement(s, contract_id)
        text = _source_text(loaded)
        return ws.page(request, "try.html", s, loaded=loaded, c=loaded.contract, text=text, lines=_numbered(text, []), cohorts=[p.name for p in ws.cohort_files()])

    def _check(loaded: LoadedContract, text: str) -> tuple[LoadedContract | None, list, list]:
        """The edited text validated as the agreement's own file (so 'extends' resolves), with the
        engine's limits: the new agreement (None if it has problems), its problems, its warnings."""
        folder = Path(loaded.path).resolve().parent
        try:
            source = parse_yaml(text, file=str(folder / Path(loaded.path).name), max_bytes=MAX_YAML)
            files_inside(source, folder, Path(ws.settings.contracts), Path(ws.settings.cohorts))  # an edited text reads no file outside them
        except ContractInvalid as exc:
            return None, list(exc.diagnostics), []
        warnings = agreement_warnings(source, *read_agreement(source, base_dir=folder)) if isinstance(source.data, dict) else []
        try:
            new = contract_from_source(source, base_dir=folder)
        except ContractInvalid as exc:
            return None, list(exc.diagnostics), warnings
        problems = limit_diagnostics(new)
        return (None, problems, warnings) if problems else (new, [], warnings)

    @router.post("/agreements/{contract_id}/try")
    def try_post(
        request: Request,
        contract_id: str,
        yaml_text: str = Form("", alias="yaml", max_length=MAX_YAML),
        action: str = Form("check", max_length=20),
        cohort: str = Form("", max_length=200),
        csrf: str = Form("", max_length=200),
    ):
        s = ws.session(request)
        ws.check_csrf(s, csrf)
        loaded = ws.agreement(s, contract_id)
        text = yaml_text.replace("\r\n", "\n")
        if action == "download":
            name = Path(loaded.path).name
            return Response(text.encode("utf-8"), media_type="application/yaml", headers={"Content-Disposition": f'attachment; filename="{name}"'})
        new, problems, warnings = _check(loaded, text)
        problems = [_shown(ws, d) for d in problems]  # never the server's own paths
        here = Path(loaded.path).name
        own = [d for d in problems if Path(d.file).name == here or d.file.endswith(here)]
        other = [d for d in problems if d not in own]
        context: dict[str, Any] = {"loaded": loaded, "c": loaded.contract, "text": text, "lines": _numbered(text, own), "problems": problems, "warnings": warnings,
                                   "other_problems": other, "checked": True, "cohorts": [p.name for p in ws.cohort_files()], "cohort": cohort}
        if new is not None and action == "changes":
            d = diff_contracts(loaded, new)
            context["diff"] = d
            if cohort:
                try:
                    histories = ws.cohort(cohort, loaded)
                except InputInvalid:
                    histories = None
                    context["cohort_error"] = cohort
                if histories is not None and new.contract.currency != loaded.contract.currency:
                    # Payments in two currencies are not compared (the diff above names the change).
                    context["whatif_refused"] = f"{loaded.contract.currency} -> {new.contract.currency}"
                elif histories is not None:
                    try:
                        with ws.heavy(s):
                            before = evaluate_cohort(loaded, histories, None, workers=1)
                            # the draft in a draft process: its ruleset and caches never stay in this one (evaluation.executors)
                            folder = Path(loaded.path).resolve().parent
                            after = evaluate_draft_cohort(text, str(folder / Path(loaded.path).name), folder, histories, None,
                                                          timeout=ws.settings.heavy_time_limit_seconds)
                    except InputInvalid as exc:  # what the edited text names at evaluation (a comparison group) is wrong: shown on the page
                        shown = [_shown(ws, d) for d in exc.diagnostics]
                        return ws.page(request, "try.html", s, status=422, **{**context, "problems": shown, "other_problems": shown})
                    except (DraftTimeout, DraftFailed) as exc:
                        return ws.page(request, "try.html", s, status=503, **{**context, "whatif_error": str(exc)})
                    context["whatif"] = compare(loaded, new, before, after, None)
        return ws.page(request, "try.html", s, status=200 if not problems else 422, **context)

    # --- business case ----------------------------------------------------------------------------

    @router.get("/business-case")
    def case_page(request: Request, cohort: str = "", as_of: str = ""):
        s = ws.session(request)
        if s.role == "auditor":
            raise Denied("the business case is for the fund and the municipalities")
        files = [p.name for p in ws.cohort_files()]
        contracts = ws.visible(s)
        day = _parse_day(as_of) or max((lc.contract.term.end for lc in contracts), default=date.today())
        chosen = cohort if cohort in files else ""
        report_html, error = None, None
        ends = [lc.contract.term.end for lc in contracts]
        earliest = min((lc.contract.term.start for lc in contracts), default=day)
        latest = date(max(ends).year + 10, 12, 31) if ends else day
        shown = chosen
        if chosen and not earliest <= day <= latest:  # 9999-12-31 ran into the calendar's end (a 500)
            error, chosen = f"as of {day}: choose a date from {earliest} (the first term's start) to {latest} (ten years after the last term ends)", ""
        if chosen:
            key = (chosen, day, tuple(lc.content_hash for lc in contracts))
            report = ws._cases.get(key)
            if report is None:
                with ws.heavy(s):
                    report, error = _business_case_of(ws, chosen, contracts, day)
                if report is not None:
                    if len(ws._cases) >= 16:  # a few recent answers, not every date ever asked
                        ws._cases.pop(next(iter(ws._cases)))
                    ws._cases[key] = report
            if report is not None:
                report_html = _body_of(render_report(report, None))
        return ws.page(request, "business_case.html", s, files=files, cohort=shown, as_of=day, report_html=report_html, error=error,
                       max_runs=ws.settings.max_simulation_runs)

    @router.post("/simulations")
    def start_simulation(request: Request, runs: int = Form(50, ge=1, le=100_000), seed: int = Form(1, ge=0, le=2**31), csrf: str = Form("", max_length=200)):
        s = ws.session(request)
        ws.check_csrf(s, csrf)
        if s.role == "auditor":
            raise Denied("simulations are for the fund and the municipalities")
        runs = min(runs, ws.settings.max_simulation_runs)
        job = SimulationJob(id=uuid.uuid4().hex[:12], owner=s.token_id, runs=runs, seed=seed)
        with ws.lock:
            finished = [k for k, j in ws.jobs.items() if j.html is not None or j.error is not None]
            for k in finished[: max(0, len(ws.jobs) - 20)]:  # forget the oldest finished runs
                del ws.jobs[k]
            if sum(1 for j in ws.jobs.values() if j.html is None and j.error is None) >= 2:
                raise Denied("two simulations are already running on this server: wait for one to finish")
            ws.jobs[job.id] = job

        def work():
            try:
                scenario = load_scenario(Path(ws.settings.contracts) / "simulation" / "programme.yaml")

                def progress(done, total):
                    job.done, job.total = done, total

                result = simulate(scenario, runs=runs, seed=seed, workers=1, on_progress=progress)
                if s.role == "municipality":
                    result = result.model_copy(update={"municipalities": [m for m in result.municipalities if m.municipality == s.municipality]})
                job.result = result
                job.html = _simulation_html(result)
            except Exception as exc:  # shown on the page; never a traceback
                job.error = f"{type(exc).__name__}: {exc}"

        threading.Thread(target=work, daemon=True, name=f"simulation-{job.id}").start()
        return RedirectResponse(f"{PREFIX}/simulations/{job.id}", status_code=303)

    def _job(s: Session, job_id: str) -> SimulationJob:
        job = ws.jobs.get(job_id)
        if job is None or job.owner != s.token_id:
            raise Denied("no such simulation of yours")
        return job

    @router.get("/simulations/{job_id}")
    def simulation_page(request: Request, job_id: str):
        s = ws.session(request)
        job = _job(s, job_id)
        return ws.page(request, "simulation.html", s, job=job)

    @router.get("/simulations/{job_id}/progress")
    def simulation_progress(request: Request, job_id: str):
        s = ws.session(request)
        job = _job(s, job_id)
        elapsed = time.time() - job.started
        remaining = (elapsed / job.done * (job.total - job.done)) if job.done else None
        return JSONResponse({"done": job.done, "total": job.total or job.runs, "finished": job.html is not None or job.error is not None,
                             "error": job.error, "elapsed": round(elapsed, 1), "remaining": round(remaining, 1) if remaining is not None else None})

    # --- claims -----------------------------------------------------------------------------------

    @router.get("/claims")
    def claims_page(request: Request, state: str = "", contract: str = "", offset: int = 0):
        s = ws.session(request)
        offset = max(0, min(offset, 10**9))
        municipality = s.municipality if s.role == "municipality" else None
        found = ws.ledger.claims(contract_id=contract or None, state=state if state in STATES else None, municipality=municipality, limit=101, offset=offset)
        return ws.page(request, "claims.html", s, claims=found[:100], more=len(found) > 100, state=state, contract=contract, offset=offset,
                       states=STATES, contracts=[lc.contract.id for lc in ws.visible(s)])

    def _claim(s: Session, claim_id: str):
        try:
            claim = ws.ledger.claim(claim_id)
        except ClaimNotFound as exc:
            if s.role == "municipality":  # 403 whether it exists or not: another municipality's claims are not told
                raise Denied("this claim is not yours to see") from None
            raise PageNotFound(str(exc)) from None
        if s.role == "municipality" and claim.municipality != s.municipality:
            raise Denied("this claim is not yours to see")
        return claim

    @router.get("/claims/{claim_id:path}")
    def claim_page(request: Request, claim_id: str, message: str = ""):
        s = ws.session(request)
        claim = _claim(s, claim_id)
        line, evidence = _line_and_evidence(ws, claim)
        return ws.page(request, "claim.html", s, claim=claim, line=line, evidence=evidence, actions=_actions(s, claim), done=message[:20])

    @router.post("/claims/{claim_id:path}/act")
    def claim_act(
        request: Request,
        claim_id: str,
        action: str = Form(..., max_length=20),
        reason: str = Form("", max_length=MAX_REASON),
        csrf: str = Form("", max_length=200),
    ):
        s = ws.session(request)
        ws.check_csrf(s, csrf)
        if action not in (*ACTION_ROLES, "clear"):
            raise Denied("unknown action")
        needed = ACTION_ROLES["dispute" if action == "clear" else action]
        if s.role not in needed:
            raise Denied(f"a {s.role} token may not {action} claims")
        try:
            _claim(s, claim_id)

            def allowed(claim):
                if s.role == "municipality" and claim.municipality != s.municipality:
                    raise Denied("this claim is not yours")

            ws.ledger.act(claim_id, action, f"token:{s.token_id}", reason, allowed=allowed)
        except (TransitionRefused, PbrError) as exc:
            claim = _claim(s, claim_id)
            line, evidence = _line_and_evidence(ws, claim)
            return ws.page(request, "claim.html", s, status=409, claim=claim, line=line, evidence=evidence, actions=_actions(s, claim), message=str(exc), error=True)
        return RedirectResponse(f"{PREFIX}/claims/{claim_id}?message={action}", status_code=303)

    app.include_router(router)
    return ws


def _amendments(c) -> list[dict]:
    """Every dated value that starts after the term's first day: what each amendment changed, with its clause."""
    out = []

    def add(what: str, dated, money: bool = True) -> None:
        for day, entry in sorted((dated or {}).items()):
            if day > c.term.start:
                out.append({
                    "effective": day, "what": what, "value": entry.value, "money": money,
                    "reference": entry.reference, "documentation": entry.documentation or "",
                })

    for milestone, tariff in c.tariffs.items():
        for group, dated in tariff.amounts.items():
            add(f"tariff {milestone} ({group})", dated)
        if tariff.formula is not None:  # a formula's parameters (a rate is no amount), floor and cap
            for name, p in tariff.formula.parameters.items():
                add(f"formula {milestone}: {name} ({p.unit})", p.values, money=p.unit.startswith("money"))  # per goal or per week: still an amount
            add(f"formula {milestone}: floor", tariff.formula.floor)
            add(f"formula {milestone}: cap", tariff.formula.cap)
    caps = c.caps
    add("cap per participant", caps.per_participant)
    add("cap per company", caps.per_company)
    add("cap per contract", caps.per_contract)
    for k, dated in caps.per_milestone.items():
        add(f"cap on milestone {k}", dated)
    for k, dated in caps.per_payer.items():
        add(f"cap for payer {k}", dated)
    return sorted(out, key=lambda a: (a["effective"], a["what"]))


def _actions(s: Session, claim) -> list[str]:
    """The actions this role may take on the claim in its present state (the buttons shown)."""
    out = []
    for action, roles in ACTION_ROLES.items():
        if s.role not in roles:
            continue
        if action in ALLOWED_FROM and claim.state not in ALLOWED_FROM[action]:
            continue
        if action == "dispute" and claim.disputed:
            action = "clear"
        out.append(action)
    return out


def _line_and_evidence(ws: Workspace, claim):
    """The claim's line in the latest run of its contract (tariff, dates, adjustments), and the evidence kept for it."""
    latest = ws.ledger.latest_run(claim.contract_id)
    if latest is None:
        return None, None
    settlement = Settlement.model_validate_json(latest.settlement_json)
    line = next((x for x in settlement.lines if x.payment_id == claim.payment_id), None)
    evidence = ws.ledger.line_evidence(latest.id, claim.payment_id) or next(
        (ws.ledger.line_evidence(e.run_id, claim.payment_id) for e in reversed(claim.events) if e.run_id), None
    )
    return line, evidence


def _shown(ws: Workspace, d: Diagnostic) -> Diagnostic:
    """A problem as the page shows it: files relative to the contracts or cohorts folder, never the server's paths."""
    return relative_diagnostic(d, [(Path(ws.settings.contracts).resolve(), "contracts"), (Path(ws.settings.cohorts).resolve(), "cohorts")])


def _business_case_of(ws: Workspace, chosen: str, contracts: list[LoadedContract], day: date):
    """(the business case of the bundled cohort file ``chosen`` for ``contracts`` as of ``day``, None) or (None, why not)."""
    try:
        histories = load_cohorts([Path(ws.settings.cohorts) / chosen])
        mine = {lc.contract.municipality.code for lc in contracts}
        return business_case(contracts, [h for h in histories if h.municipality in mine], day, None, workers=1), None
    except PbrError as exc:
        return None, str(exc)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _simulation_html(result) -> str:
    return simulation_section(result)

"""The app factory: settings in, a FastAPI app out; contracts loaded and compiled at start-up.

``create_app(settings)`` builds the app; its lifespan loads the contracts folder into a
``Registry`` (every agreement validated and its engine ruleset built once per process,
never per request). ``create_app_from_env()`` is the factory ``pbr serve`` hands to
uvicorn, so every worker process builds its own app and engine from ``PBR_*`` settings.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pbr_rules.api.docs import install_docs
from pbr_rules.api.errors import install_error_handlers
from pbr_rules.api.fairuse import FairUse
from pbr_rules.api.middleware import RequestMiddleware, log_off_the_loop
from pbr_rules.api.offload import Offload
from pbr_rules.api.routes import contracts, evaluate, health, ledger, reports
from pbr_rules.api.schemas import REQUEST_MODELS, document_errors
from pbr_rules.api.settings import Settings
from pbr_rules.api.tokens import TokenStore
from pbr_rules.collector import freeze_long_lived
from pbr_rules.evaluation import Registry
from pbr_rules.ledger import Ledger
from pbr_rules.web import install_workspace

API_PREFIX = "/v1"

DESCRIPTION = """\
Payment-by-Results agreements as code: read the contracts, validate a draft, and evaluate
participant and company histories against a contract (which milestones are met, which
payments are triggered, with evidence, tariff and clause).

Every call under /v1 except /v1/health and /v1/ready needs `Authorization: Bearer <token>`
(made with `pbr token create`). Roles: **fund** (everything but approving claims),
**municipality** (only its own municipality's contracts; approves and disputes their claims),
**auditor** (reads everything, writes nothing). Settlements are recorded in the ledger
(`/v1/settlements`), each against the ledger's latest run of the contract; claims move
through `due -> approved -> paid` (`/v1/claims`); `/v1/audit` is the tamper-evident log.
POST routes that write take an `Idempotency-Key` header. Every error is an RFC 9457
problem (`application/problem+json`): `{"type", "title", "status", "detail", "instance",
"errors": [{"path", "message", "hint"}]}`. Personal data never enters: a CPR number in any
id, name, free text, header, path or query is refused (422) and never echoed or logged.
"""


def create_app(settings: Settings, *, freeze_at_start: bool = False) -> FastAPI:
    """The API for ``settings`` (already validated: see ``Settings.load``).

    ``freeze_at_start``: once the agreements and the ledger are loaded, exempt everything alive
    from later garbage collections (``collector.freeze_long_lived``): what the served process
    does (``create_app_from_env``); not for apps made and dropped many times in one process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "registry", None) is None:
            app.state.registry = Registry(settings.contracts)
        if getattr(app.state, "ledger", None) is None:
            app.state.ledger = Ledger(settings.database)
        if freeze_at_start:
            freeze_long_lived()
        stop_logging = log_off_the_loop()
        try:
            yield
        finally:
            stop_logging()
            app.state.fair_use.close()
            app.state.offload.close()
            app.state.ledger.close()

    app = FastAPI(
        title="pbr-rules",
        version="1",
        summary="Payment-by-Results agreements as code",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = TokenStore(settings.tokens_file, production=settings.production)
    app.state.registry = None
    app.state.ledger = None
    app.state.offload = Offload()
    app.state.fair_use = FairUse(settings.rate_limit_per_minute, settings.max_heavy_per_token, settings.heavy_time_limit_seconds)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(contracts.router, prefix=API_PREFIX)
    app.include_router(evaluate.router, prefix=API_PREFIX)
    app.include_router(reports.router, prefix=API_PREFIX)
    app.include_router(reports.simulations, prefix=API_PREFIX)
    app.include_router(ledger.settlements, prefix=API_PREFIX)
    app.include_router(ledger.claims, prefix=API_PREFIX)
    app.include_router(ledger.audit, prefix=API_PREFIX)
    app.state.workspace = install_workspace(app)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in REQUEST_MODELS:
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in js.pop("$defs", {}).items():
                    components.setdefault(name, sub)
                components[model.__name__] = js
            app.openapi_schema = document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi
    return app


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker: settings from ``PBR_*`` environment variables."""
    return create_app(Settings.load(), freeze_at_start=True)

"""Typed dependencies shared by the routes: settings, the registry, the token store, fair use, the ledger.

Each is an attribute read, so each is ``async``: FastAPI runs a plain ``def`` dependency in its
threadpool, a thread hop per dependency per request for nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pbr_rules.api.fairuse import FairUse
from pbr_rules.api.settings import Settings
from pbr_rules.api.tokens import TokenStore
from pbr_rules.evaluation import Registry
from pbr_rules.ledger import Ledger


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_token_store(request: Request) -> TokenStore:
    return request.app.state.tokens


async def get_fair_use(request: Request) -> FairUse:
    return request.app.state.fair_use


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
TokenStoreDep = Annotated[TokenStore, Depends(get_token_store)]


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
FairUseDep = Annotated[FairUse, Depends(get_fair_use)]

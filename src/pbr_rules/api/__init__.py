"""The HTTP API: a thin adapter over the core (parse, call one core function, format).

Public surface: ``create_app(settings)`` and ``Settings``. Layout: ``settings`` (one
model, validated at start-up), ``tokens`` and ``auth`` (bearer tokens, roles,
``require_role``), ``bodies`` (request parsing and limits), ``errors`` (one error shape),
``middleware`` (request id, access log, body limit, last-resort 500), ``routes/`` (one
module per resource) and ``cli`` (``pbr serve``, ``pbr token create``).
"""

from pbr_rules.api.main import create_app, create_app_from_env
from pbr_rules.api.settings import Settings, SettingsInvalid

__all__ = ["Settings", "SettingsInvalid", "create_app", "create_app_from_env"]

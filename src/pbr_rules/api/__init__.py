"""The HTTP API: a thin adapter over the core (parse, call one core function, format).

Public surface: ``create_app(settings)`` and ``Settings``. Layout: ``settings`` (one
model, validated at start-up), ``tokens`` and ``auth`` (bearer tokens, roles,
``require_role``), ``bodies`` (request parsing and limits), ``errors`` (RFC 9457 problems:
raise ``ApiError``), ``middleware`` (request id, CPR numbers in path/query/headers,
access log, body limit, last-resort 500), ``fairuse`` (request rate, heavy requests, time
limit), ``routes/`` (one module per resource); the commands are in ``cli/serve.py``.
"""

from pbr_rules.api.main import create_app, create_app_from_env
from pbr_rules.api.settings import Settings, SettingsInvalid

__all__ = ["Settings", "SettingsInvalid", "create_app", "create_app_from_env"]

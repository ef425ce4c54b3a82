"""``pbr serve`` and ``pbr token create``: the API's commands, registered into ``pbr`` by ``add_commands``."""

from __future__ import annotations

import copy
import os
import sys

from pbr_rules.cli.common import EXIT_OK, EXIT_USAGE

DEV_WARNING = """\
WARNING: no tokens file was found, so a DEVELOPMENT token (role fund: full access) was made
and its hash stored in {path}. It is shown this once and never again:

    {token}

Use it as 'Authorization: Bearer <token>'. Never use development tokens in production:
'pbr serve --production' refuses to start with one. Make real tokens with
'pbr token create --role ROLE [--municipality CODE] --tokens-file FILE'.
"""


def _log_config() -> dict:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["pbr_rules.api"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _port_in_use(host: str, port: int) -> str | None:
    """Why the address cannot be served on (None when it can): checked before any token is made."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def cmd_serve(args) -> int:
    import uvicorn

    from pbr_rules.api.settings import Settings, SettingsInvalid
    from pbr_rules.api.tokens import TokenFileInvalid, create_token, read_tokens
    from pbr_rules.errors import InputInvalid
    from pbr_rules.evaluation import Registry

    overrides = {
        "host": args.host,
        "port": args.port,
        "contracts": args.contracts,
        "workers": args.workers,
        "tokens_file": args.tokens_file,
        "production": True if args.production else None,
    }
    try:
        settings = Settings.load(**overrides)
    except SettingsInvalid as exc:
        print(f"pbr serve: refusing to start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    in_use = _port_in_use(settings.host, settings.port)
    if in_use:
        print(f"pbr serve: {settings.host}:{settings.port} is already in use ({in_use}); choose another with --port", file=sys.stderr)
        return EXIT_USAGE
    try:
        tokens = read_tokens(settings.tokens_file)
    except TokenFileInvalid as exc:
        print(f"pbr serve: refusing to start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not tokens:  # production never gets here: Settings refuses it without tokens
        token, _ = create_token(settings.tokens_file, "fund", development=True)
        print(DEV_WARNING.format(path=settings.tokens_file, token=token), file=sys.stderr, flush=True)
    try:
        registry = Registry(settings.contracts)  # fail here, clearly, rather than in every worker
    except InputInvalid as exc:
        print(f"pbr serve: the contracts in {settings.contracts} are not valid:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"pbr-rules API: {len(registry.by_id)} contracts from {settings.contracts}, {settings.workers} worker(s)\n"
        f"  web  {base}/app (the workspace: sign in with a token)\n  API  {base}/v1\n  docs {base}/docs (OpenAPI: {base}/openapi.json)",
        file=sys.stderr,
        flush=True,
    )
    os.environ.update(settings.to_env())
    uvicorn.run(
        "pbr_rules.api.main:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,  # our middleware logs requests without paths or queries
        log_config=_log_config(),
        server_header=False,
    )
    return EXIT_OK


def cmd_token_create(args) -> int:
    from pbr_rules.api.settings import DEFAULT_TOKENS_FILE
    from pbr_rules.api.tokens import TokenFileInvalid, create_token

    path = args.tokens_file or os.environ.get("PBR_TOKENS_FILE") or DEFAULT_TOKENS_FILE
    try:
        token, record = create_token(path, args.role, args.municipality)
    except (ValueError, TokenFileInvalid) as exc:
        print(f"pbr token create: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scope = f" for municipality {record.municipality}" if record.municipality else ""
    print(
        f"created token {record.id} (role {record.role}{scope}); its hash is stored in {path}.\n"
        "The token is shown this once; store it safely:",
        file=sys.stderr,
    )
    print(token)
    return EXIT_OK


def add_commands(subparsers) -> None:
    s = subparsers.add_parser("serve", help="run the HTTP API (docs at /docs)")
    s.add_argument("--host", help="interface to listen on (default 127.0.0.1; PBR_HOST)")
    s.add_argument("--port", type=int, help="port (default 8000; PBR_PORT)")
    s.add_argument("--contracts", help="the contracts folder (default contracts/; PBR_CONTRACTS)")
    s.add_argument("--workers", type=int, help="worker processes, each with its own engine (default 1; PBR_WORKERS)")
    s.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    s.add_argument("--production", action="store_true", help="refuse to start without configured tokens (PBR_PRODUCTION=1)")
    s.set_defaults(func=cmd_serve)

    t = subparsers.add_parser("token", help="manage API bearer tokens")
    tsub = t.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    c = tsub.add_parser("create", help="make a new token: printed once, only its hash is stored")
    c.add_argument("--role", required=True, choices=["fund", "municipality", "auditor"])
    c.add_argument("--municipality", help="three-digit municipality code (municipality tokens only)")
    c.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    c.set_defaults(func=cmd_token_create)

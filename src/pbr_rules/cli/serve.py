"""``pbr serve`` and ``pbr token create|list|revoke``: the API's commands, registered into ``pbr`` by ``add_commands``."""

from __future__ import annotations

import copy
import os
import sys

from pbr_rules.cli.common import EXIT_OK, EXIT_USAGE

DEV_WARNING = """\
WARNING: {why}, so a DEVELOPMENT token (role fund: full access) was made
and its hash stored in {path}. {where}

Use it as 'Authorization: Bearer <token>'. Never use development tokens in production:
'pbr serve --production' refuses to start with one. Make real tokens with
'pbr token create --role ROLE [--municipality CODE] --tokens-file FILE'.
"""

PLAIN_HTTP_WARNING = """\
WARNING: serving plain HTTP on {host}, an address other machines can reach. Bearer tokens
and participant histories would cross the network unencrypted: anyone on the path can read
them and replay the tokens. Serve HTTPS with --ssl-certfile and --ssl-keyfile, or bind to
127.0.0.1 behind a reverse proxy that terminates TLS (docs/api.md, "TLS and reverse proxies").
"""

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config() -> dict:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["pbr_rules.api"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # every line any handler writes is masked for CPR numbers (pbr_rules.personal_data)
    config.setdefault("filters", {})["cpr"] = {"()": "pbr_rules.personal_data.CprLogFilter"}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "cpr"]
    return config


def _show_development_token(token: str, tokens_file, why: str) -> None:
    """Once on a terminal; otherwise (logs, CI, a service manager) into a 0600 file whose path is printed."""
    from pathlib import Path

    if sys.stdout.isatty():
        where = "It is shown this once (below, on the terminal) and never again."
        print(DEV_WARNING.format(why=why, path=tokens_file, where=where), file=sys.stderr, flush=True)
        print(f"    {token}\n", flush=True)
        return
    target = Path(f"{tokens_file}.dev-token")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(token + "\n")
    where = f"Standard output is not a terminal, so the token is not printed: it is in {target} (mode 0600); read it, then delete the file."
    print(DEV_WARNING.format(why=why, path=tokens_file, where=where), file=sys.stderr, flush=True)


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
    from pbr_rules.api.tokens import TokenFileInvalid, create_token, loose_permissions, read_tokens
    from pbr_rules.errors import InputInvalid
    from pbr_rules.evaluation import Registry

    overrides = {
        "host": args.host,
        "port": args.port,
        "contracts": args.contracts,
        "workers": args.workers,
        "tokens_file": args.tokens_file,
        "production": True if args.production else None,
        "ssl_certfile": args.ssl_certfile,
        "ssl_keyfile": args.ssl_keyfile,
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
    loose = loose_permissions(settings.tokens_file)
    if loose:  # production never gets here: Settings refuses it
        print(f"WARNING (SECURITY): {loose}. Development mode only warns; --production refuses to start.", file=sys.stderr, flush=True)
    if not tokens:  # production never gets here: Settings refuses it without tokens
        existed = settings.tokens_file.exists()
        why = f"the tokens file {settings.tokens_file} holds no tokens" if existed else f"there is no tokens file {settings.tokens_file}"
        token, _ = create_token(settings.tokens_file, "fund", development=True)
        _show_development_token(token, settings.tokens_file, why)
    if not is_loopback(settings.host) and not settings.tls:
        print(PLAIN_HTTP_WARNING.format(host=settings.host), file=sys.stderr, flush=True)
    try:
        registry = Registry(settings.contracts)  # fail here, clearly, rather than in every worker
    except InputInvalid as exc:
        print(f"pbr serve: the contracts in {settings.contracts} are not valid:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    base = f"{'https' if settings.tls else 'http'}://{settings.host}:{settings.port}"
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
        ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
    )
    return EXIT_OK


def _tokens_path(args) -> str:
    from pbr_rules.api.settings import DEFAULT_TOKENS_FILE

    return args.tokens_file or os.environ.get("PBR_TOKENS_FILE") or DEFAULT_TOKENS_FILE


def cmd_token_create(args) -> int:
    from pbr_rules.api.tokens import TokenFileInvalid, create_token, parse_expires

    path = _tokens_path(args)
    try:
        expires = parse_expires(args.expires)
        token, record = create_token(path, args.role, args.municipality, expires=expires)
    except (ValueError, TokenFileInvalid, OSError) as exc:
        print(f"pbr token create: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scope = f" for municipality {record.municipality}" if record.municipality else ""
    until = f", valid until {record.expires} (UTC)" if record.expires else ", never expires"
    print(
        f"created token {record.id} (role {record.role}{scope}{until}); its hash is stored in {path}.\n"
        "The token is shown this once; store it safely:",
        file=sys.stderr,
    )
    print(token)
    return EXIT_OK


def cmd_token_list(args) -> int:
    import json

    from pbr_rules.api.tokens import TokenFileInvalid, read_tokens, utc_today

    path = _tokens_path(args)
    if not os.path.exists(path):
        print(f"pbr token list: there is no tokens file {path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        records = read_tokens(path)
    except TokenFileInvalid as exc:
        print(f"pbr token list: {exc}", file=sys.stderr)
        return EXIT_USAGE
    today = utc_today()
    rows = [
        {
            "id": r.id,
            "role": r.role,
            "municipality": r.municipality or "",
            "created": r.created,
            "expires": r.expires or "never",
            "last_used": r.last_used or "never",
            "state": "expired" if r.expired(today) else ("development" if r.development else "valid"),
        }
        for r in records
    ]
    if args.format == "json":
        print(json.dumps({"tokens": rows}, indent=2))
        return EXIT_OK
    if not rows:
        print(f"{path} holds no tokens")
        return EXIT_OK
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
    return EXIT_OK


def cmd_token_revoke(args) -> int:
    from pbr_rules.api.tokens import TokenFileInvalid, revoke_token

    path = _tokens_path(args)
    try:
        record = revoke_token(path, args.id)
    except KeyError:
        print(f"pbr token revoke: no token {args.id} in {path}; 'pbr token list' shows the ids", file=sys.stderr)
        return EXIT_USAGE
    except (TokenFileInvalid, OSError) as exc:
        print(f"pbr token revoke: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"revoked token {record.id} (role {record.role}); a running server refuses it from its next request", file=sys.stderr)
    return EXIT_OK


def add_commands(subparsers) -> None:
    s = subparsers.add_parser("serve", help="run the HTTP API (docs at /docs)")
    s.add_argument("--host", help="interface to listen on (default 127.0.0.1; PBR_HOST)")
    s.add_argument("--port", type=int, help="port (default 8000; PBR_PORT)")
    s.add_argument("--contracts", help="the contracts folder (default contracts/; PBR_CONTRACTS)")
    s.add_argument("--workers", type=int, help="worker processes, each with its own engine (default 1; PBR_WORKERS)")
    s.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    s.add_argument("--production", action="store_true", help="refuse to start without configured tokens (PBR_PRODUCTION=1)")
    s.add_argument("--ssl-certfile", help="serve HTTPS with this certificate chain, PEM (PBR_SSL_CERTFILE); needs --ssl-keyfile")
    s.add_argument("--ssl-keyfile", help="the TLS private key, PEM (PBR_SSL_KEYFILE)")
    s.set_defaults(func=cmd_serve)

    t = subparsers.add_parser("token", help="manage API bearer tokens")
    tsub = t.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    c = tsub.add_parser("create", help="make a new token: printed once, only its hash is stored")
    c.add_argument("--role", required=True, choices=["fund", "municipality", "auditor"])
    c.add_argument("--municipality", help="three-digit municipality code (municipality tokens only)")
    c.add_argument("--expires", default="365d", help="last valid day: YYYY-MM-DD, a number of days such as 90d, or never (default 365d)")
    c.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    c.set_defaults(func=cmd_token_create)
    ls = tsub.add_parser("list", help="the tokens: id, role, municipality, created, expires, last used (never the secret)")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    ls.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    ls.set_defaults(func=cmd_token_list)
    rv = tsub.add_parser("revoke", help="remove a token by its id; a running server refuses it at once")
    rv.add_argument("id", help="the token id, e.g. t-3f9a1c2b ('pbr token list')")
    rv.add_argument("--tokens-file", help="the hashed tokens file (default pbr-tokens.json; PBR_TOKENS_FILE)")
    rv.set_defaults(func=cmd_token_revoke)

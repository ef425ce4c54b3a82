"""The ``pbr`` command: assembles the command groups and turns errors into exit codes.

Each command group lives in its own module (``contracts``, ``evaluate``, ``business_case``,
``rates``, ``simulation``, ``lawyers``, ``serve``) with an ``add_commands(sub)``; they share only
``common``. Exit codes are documented in ``common``.
"""

from __future__ import annotations

import argparse
import os
import sys

from pbr_rules.cli import business_case, contracts, evaluate, importing, lawyers, ledger, rates, serve, simulation
from pbr_rules.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, argument_problem
from pbr_rules.cli.ledger import close_ledgers
from pbr_rules.collector import command_owns_process, freeze_long_lived
from pbr_rules.errors import EngineFailure, InputInvalid, PbrError
from pbr_rules.i18n import use_language


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pbr", description="Payment-by-Results agreements as code.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (contracts, evaluate, business_case, rates, lawyers, simulation, ledger, importing, serve):
        group.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = argument_problem(args)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    try:
        # Each command writes in its own language: --lang, or what the command chooses from the
        # agreement (common.choose_language); English until then. Reset afterwards, so one
        # command's language never leaks into the next call in the same process.
        with use_language(getattr(args, "lang", None) or "en"):
            try:
                return args.func(args)
            finally:
                close_ledgers()
    except InputInvalid as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except EngineFailure as exc:
        print(f"engine failure (nothing was decided): {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except PbrError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS if _refused_transition(exc) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        name = str(exc.filename or "").removesuffix(".tmp")  # an atomic write's temporary file is the user's file
        print(f"{name or 'a file'}: {exc.strerror.lower() if exc.strerror else exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so plainly, no traceback unless asked
        if os.environ.get("PBR_DEBUG"):
            raise
        print(f"internal error ({type(exc).__name__}): {exc}. This is a bug in pbr-rules; run with PBR_DEBUG=1 for details.", file=sys.stderr)
        return EXIT_INTERNAL


def run(argv: list[str] | None = None) -> int:
    """The ``pbr`` command itself (``main`` is for callers in a process that goes on).

    Its last step is ``collector.freeze_long_lived``: one collection, then what is still alive
    is exempted from the cyclic collector (``gc.freeze``). At exit the interpreter collects again and again while it tears
    the modules down, walking the whole heap (the loaded agreement, the engine's tables, every
    import): 60-90 ms of every command that loads an agreement, against about 30 ms for the
    one collection, and a few ms once the commands that load agreements have frozen them as
    soon as they were loaded (``collector.freeze_loaded``, which only a process that ends with
    its command does: ``command_owns_process``). That collection is kept so that whatever the
    command left unreachable is still finalised (a connection closed) as before; the ledgers it opened are closed
    explicitly anyway (``close_ledgers``), files and temporary folders by their ``with`` blocks.
    """
    try:
        with command_owns_process():  # the command may freeze what it loaded (collector.freeze_loaded)
            return main(argv)
    finally:
        freeze_long_lived()


def _refused_transition(exc: PbrError) -> bool:
    """A claim or run transition the ledger refused (exit 1, not 2).

    The ledger (SQLAlchemy, Alembic: a third of a command's start-up) is imported only by the
    commands that use it, so ``pbr evaluate --cohort --no-log`` and its workers start without
    it; if it was never imported, nothing it raises can be here.
    """
    claims = sys.modules.get("pbr_rules.ledger.claims")
    return claims is not None and isinstance(exc, claims.TransitionRefused)


if __name__ == "__main__":
    sys.exit(run())

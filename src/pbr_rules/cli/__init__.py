"""The ``pbr`` command line: one module per command group, shared helpers in ``common``."""

from pbr_rules.cli.main import main, run

__all__ = ["main", "run"]

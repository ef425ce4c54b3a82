"""``python -m pbr_rules.cli``: the same as the ``pbr`` command."""

import sys

from pbr_rules.cli.main import run

sys.exit(run())

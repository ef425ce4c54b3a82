"""Progress on standard error (pbr_rules.reports.Progress): elapsed and remaining time on a
terminal, nothing at all when standard error is a pipe or a file."""

from __future__ import annotations

import io
import re

from rich.console import Console

from pbr_rules.i18n import use_language
from pbr_rules.reports import Progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120), buf


def test_on_a_terminal_it_shows_counts_elapsed_and_remaining_time():
    console, buf = _terminal()
    p = Progress("evaluating", enabled=True, console=console)
    for done in range(1, 5):
        p(done, 4)
    text = ANSI.sub("", buf.getvalue())
    last = [line for line in text.replace("\r", "\n").splitlines() if line.strip()][-1]
    assert re.fullmatch(r"evaluating .* 4/4 elapsed \d:\d\d:\d\d remaining (\d:\d\d:\d\d|-:--:--)\s*", last), last


def test_not_on_a_terminal_it_is_quiet():
    # pytest captures standard error, so it is not a terminal here: the default is quiet
    assert Progress("evaluating").enabled is False
    console, buf = _terminal()
    p = Progress("evaluating", enabled=False, console=console)
    p(1, 2)
    p(2, 2)
    assert buf.getvalue() == ""


def test_in_danish():
    console, buf = _terminal()
    with use_language("da"):
        p = Progress("simulating", enabled=True, console=console)
        p(1, 1)
    text = ANSI.sub("", buf.getvalue())
    assert "simulerer" in text and "forløbet" in text and "tilbage" in text

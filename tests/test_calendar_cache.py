"""Working days remembered between commands (``periods.remembered_working_days``).

The file is only ever a copy of what the ``holidays`` package said, so every check here
compares it with the package itself, asked directly (not through pbr-rules' calendar):

1. a command with a remembered calendar gives the package's working days and due dates, and
   never imports the package (each process a fresh interpreter: nothing already imported);
2. a file that cannot be read, or holds anything but what pbr-rules writes, is worked out
   again from the package and written anew;
3. an unknown calendar is refused as before, whatever is remembered, and a calendar the
   package knows only by an alias (UK for GB) is never remembered as if checked;
4. ``PBR_CACHE_DIR=`` (empty) keeps nothing, and a cache that cannot be written is no error;
5. another version of the package, or of pbr-rules' own rules (periods.py), has files of its
   own; a file someone else could have written is not read;
6. a year the package warns about is never remembered, so its warning is said every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import hashlib
import stat

import holidays
import pytest

from pbr_rules import periods

ROOT = Path(__file__).resolve().parents[1]
KBH = str(ROOT / "contracts/agreements/101-koebenhavn.yaml")
HISTORY = str(ROOT / "fixtures/participants/101/p-101-001.yaml")
YEARS = range(2019, 2029)


def _python(code: str, cache: str, *args: str, home: str = "/nonexistent") -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "PBR_CACHE_DIR": cache, "HOME": home}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


_TABLES = """
import json, sys
from pbr_rules.periods import _working_days, check_calendar
check_calendar("DK", None)
check_calendar("GB", "ENG")
out = {f"{c}-{s}-{y}": list(_working_days(c, s, y)[1]) for c, s in (("DK", None), ("GB", "ENG")) for y in range(2019, 2029)}
print(json.dumps({"tables": out, "imported": "holidays" in sys.modules}))
"""


def _package_says(country: str, subdivision: str | None, year: int) -> list[int]:
    """One per day of ``year``: 1 when neither a weekend nor a public holiday, by the package directly."""
    public = holidays.country_holidays(country, subdiv=subdivision, categories=("public",), years=year)
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    return [0 if d.weekday() >= 5 or d in public else 1 for d in days]


def _tables(cache: str) -> dict:
    out = _python(_TABLES, cache)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return json.loads(out.stdout)


PERIODS_DIGEST = hashlib.sha256((ROOT / "src/pbr_rules/periods.py").read_bytes()).hexdigest()[:12]


def _file(cache: Path, code: str) -> Path:
    return cache / "working-days" / f"holidays-{holidays.__version__}-periods-{PERIODS_DIGEST}" / f"{code}.json"


def test_a_remembered_calendar_gives_the_packages_days_without_importing_it(tmp_path):
    expected = {f"{c}-{s}-{y}": _package_says(c, s, y) for c, s in (("DK", None), ("GB", "ENG")) for y in YEARS}
    cold = _tables(str(tmp_path))
    assert cold["imported"] is True  # nothing remembered yet: the package worked them out
    assert cold["tables"] == expected
    for code in ("DK", "GB-ENG"):
        written = json.loads(_file(tmp_path, code).read_text(encoding="utf-8"))
        assert written["versions"] == f"holidays-{holidays.__version__}-periods-{PERIODS_DIGEST}"
        assert sorted(written["years"]) == [str(y) for y in YEARS]
    warm = _tables(str(tmp_path))
    assert warm["imported"] is False
    assert warm["tables"] == expected


def test_a_command_with_remembered_days_answers_alike_and_never_imports_the_package(tmp_path):
    code = """
import contextlib, io, json, sys
from pbr_rules.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(["evaluate", "--contract", sys.argv[1], "--history", sys.argv[2], "--format", "json", "--no-log"])
print(json.dumps({"rc": rc, "out": out.getvalue(), "imported": "holidays" in sys.modules}))
"""
    runs = []
    for _ in range(2):
        done = _python(code, str(tmp_path), KBH, HISTORY)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert [r["rc"] for r in runs] == [0, 0]
    assert [r["imported"] for r in runs] == [True, False]
    assert runs[0]["out"] == runs[1]["out"]  # the same bytes, due dates included
    payments = json.loads(runs[1]["out"])["payments"]
    assert payments and all(p["due_date"] for p in payments)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: "not json",
        lambda text: text.replace('"country": "DK"', '"country": "SE"'),  # another calendar's
        lambda text: text.replace('"2024": "', '"2024": "1'),  # a day too many
        lambda text: text.replace('"2024": "0', '"2024": "2'),  # not a 0 or a 1
        lambda text: text.replace('"2024"', '"1066"', 1),  # a year no date may have
        lambda text: "[" * 100_000 + "]" * 100_000,  # nested too deep for the JSON reader
        lambda text: " " * (2 << 20) + text,  # larger than any such file
    ],
    ids=["cut-short", "not-json", "another-calendar", "a-day-too-many", "not-a-digit", "year-1066", "too-deep", "too-large"],
)
def test_a_file_that_is_not_what_pbr_rules_writes_is_worked_out_again(tmp_path, spoil):
    _tables(str(tmp_path))
    f = _file(tmp_path, "DK")
    good = f.read_text(encoding="utf-8")
    f.write_text(spoil(good), encoding="utf-8")
    again = _tables(str(tmp_path))
    assert again["imported"] is True
    assert again["tables"]["DK-None-2024"] == _package_says("DK", None, 2024)
    assert json.loads(f.read_text(encoding="utf-8")) == json.loads(good)  # written anew, whole


def test_an_unknown_calendar_is_refused_whatever_is_remembered(tmp_path):
    _tables(str(tmp_path))
    code = """
import sys
from pbr_rules.periods import UnknownCalendar, check_calendar
for country, sub in (("XX", None), ("GB", "XYZ"), ("DK-X", None), ("../DK", None)):
    try:
        check_calendar(country, sub)
        print("accepted", country, sub)
    except UnknownCalendar as exc:
        print("refused", country, sub, exc.hint)
"""
    done = _python(code, str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["refused"] * 4
    assert "subdivisions of GB: " in lines[1]
    assert sorted(p.name for p in _file(tmp_path, "DK").parent.iterdir()) == ["DK.json", "GB-ENG.json"]


def test_an_empty_cache_setting_keeps_nothing_and_an_unwritable_cache_is_no_error(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    off = _python(_TABLES, "", home=str(home))
    assert off.returncode == 0 and off.stderr == ""
    assert json.loads(off.stdout)["tables"]["DK-None-2024"] == _package_says("DK", None, 2024)
    assert list(home.iterdir()) == []  # not even the default ~/.cache/pbr-rules
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    for cache in (str(blocker), str(blocker / "below")):
        done = _python(_TABLES, cache)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert json.loads(done.stdout)["tables"]["DK-None-2024"] == _package_says("DK", None, 2024)
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_where_the_cache_is(monkeypatch, tmp_path):
    monkeypatch.setenv("PBR_CACHE_DIR", "")
    assert periods.cache_dir() is None
    assert periods.remembered_working_days("DK") is None
    monkeypatch.delenv("PBR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert periods.cache_dir() == tmp_path / "xdg" / "pbr-rules"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, as the XDG specification says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert periods.cache_dir() == tmp_path / "home" / ".cache" / "pbr-rules"
    monkeypatch.delenv("XDG_CACHE_HOME")
    for home in ("", "/", "~"):  # no home folder: nothing is kept (not ./~/.cache or /.cache)
        monkeypatch.setenv("HOME", home)
        monkeypatch.setattr("os.path.expanduser", lambda p, home=home: home or p)
        assert periods.cache_dir() is None, home


def test_another_version_of_the_package_or_of_the_rules_has_files_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("PBR_CACHE_DIR", str(tmp_path))
    assert periods.remembered_working_days("GB", "ENG") == _file(tmp_path, "GB-ENG")
    periods._versions.cache_clear()
    monkeypatch.setattr("importlib.metadata.version", lambda name: "99.0")
    try:
        assert periods.remembered_working_days("GB", "ENG").parent.name == f"holidays-99.0-periods-{PERIODS_DIGEST}"
        periods._versions.cache_clear()
        monkeypatch.setattr("importlib.metadata.version", lambda name: "../../x")
        assert periods.remembered_working_days("GB", "ENG") is None  # never a path made of anything else
    finally:
        periods._versions.cache_clear()


def test_a_calendar_known_only_by_an_alias_is_never_remembered_as_checked(tmp_path):
    """The package answers for UK (an alias of GB) and England (of ENG), which check_calendar
    refuses; working out their days must not make a later check accept them."""
    code = """
import json, sys
from datetime import date
from pbr_rules.periods import Calendar, UnknownCalendar, check_calendar
Calendar("UK").is_working_day(date(2024, 1, 2))
Calendar("GB", "England").is_working_day(date(2024, 1, 2))
out = []
for country, sub in (("UK", None), ("GB", "England")):
    try:
        check_calendar(country, sub)
        out.append("accepted")
    except UnknownCalendar:
        out.append("refused")
print(json.dumps(out))
"""
    for _ in range(2):  # in the process that worked them out, and in the next
        done = _python(code, str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == ["refused", "refused"]
    assert not (tmp_path / "working-days").exists()


def test_a_file_someone_else_could_have_written_is_not_read(tmp_path):
    _tables(str(tmp_path))
    f = _file(tmp_path, "DK")
    good = json.loads(f.read_text(encoding="utf-8"))
    f.chmod(0o664)  # writable by the group
    again = _tables(str(tmp_path))
    assert again["imported"] is True
    assert again["tables"]["DK-None-2024"] == _package_says("DK", None, 2024)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600  # written anew, private
    assert json.loads(f.read_text(encoding="utf-8")) == good
    f.parent.chmod(0o777)  # a folder anyone can write to: nothing in it is read, nothing written
    try:
        third = _tables(str(tmp_path))
        assert third["imported"] is True and third["tables"] == again["tables"]
    finally:
        f.parent.chmod(0o700)


def test_a_year_the_package_warns_about_is_never_remembered(tmp_path):
    code = """
import sys, warnings
from datetime import date
from pbr_rules.periods import Calendar, check_calendar
check_calendar("IN", None)
print(Calendar("IN").add_working_days(date(2040, 3, 2), 5), Calendar("IN").add_working_days(date(2030, 3, 2), 5))
"""
    said = []
    for _ in range(2):
        done = _python(code, str(tmp_path))
        assert done.returncode == 0, done.stderr
        said.append(done.stderr)
    assert all("available only from" in e for e in said)  # said by the package, every time
    written = json.loads(_file(tmp_path, "IN").read_text(encoding="utf-8"))
    assert "2030" in written["years"] and "2040" not in written["years"]

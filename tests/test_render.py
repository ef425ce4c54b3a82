"""render_contract: every milestone, tariff value and clause of each bundled agreement appears, in Markdown and HTML."""

from __future__ import annotations

import html
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pbr_rules.cli import main
from pbr_rules.language.loader import load_contract
from pbr_rules.lawyers.render import measure_sentence, render_contract
from pbr_rules.models.contract import EmploymentWeeks
from pbr_rules.i18n import format_money

ROOT = Path(__file__).resolve().parents[1]
AGREEMENTS = sorted((ROOT / "contracts" / "agreements").glob("*.yaml"))
AGREEMENTS = [p for p in AGREEMENTS if not p.name.endswith(".scenarios.yaml")]


def references(data) -> set[str]:
    """Every clause reference anywhere in a contract (values under the key 'reference')."""
    out: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "reference" and isinstance(v, str):
                out.add(v)
            else:
                out |= references(v)
    elif isinstance(data, list):
        for v in data:
            out |= references(v)
    return out


class Checker(HTMLParser):
    """Tags balance (void elements aside); collects start tags and text."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.starts: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.starts.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Checker:
    c = Checker()
    c.feed(page)
    c.close()
    assert not c.errors, c.errors
    assert not c.stack, f"unclosed: {c.stack}"
    return c


@pytest.mark.parametrize("path", AGREEMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_milestone_tariff_value_and_clause_appears(path, fmt):
    loaded = load_contract(path)
    c = loaded.contract
    doc = render_contract(loaded, fmt)
    esc = html.escape if fmt == "html" else (lambda s: s)
    for mid in c.milestones:
        assert mid in doc
    for mid, t in c.tariffs.items():
        for line, dated in t.amounts.items():
            for day, entry in dated.items():
                assert day.isoformat() in doc
                assert (format_money(entry.value, "DKK", "en") if entry.value is not None else "withdrawn") in doc, (mid, line, day)
    refs = references(c.model_dump(mode="json"))
    assert refs  # the contracts are full of them
    for ref in sorted(refs):
        assert esc(ref) in doc, ref
    assert loaded.content_hash in doc
    assert c.term.start.isoformat() in doc and c.signed.isoformat() in doc and esc(c.version) in doc


def test_koebenhavn_reads_like_the_agreement():
    doc = render_contract(load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml"), "md")
    assert "ILLUSTRATIVE EXAMPLE" in doc
    assert "udsatte kontanthjælpsmodtagere (cash_benefit)" in doc
    assert "On benefits at least 40 of the 52 weeks before enrolment" in doc
    assert "In work at least 15 hours a week in 13 of any 16 consecutive weeks, within 104 weeks after the start" in doc
    assert "| all target groups | 2021-01-01 | withdrawn | Tillæg 1, § 3 |" in doc
    assert "| fleksjobvisiterede med lille arbejdsevne | 2019-01-01 |" not in doc  # the line names the group id too
    assert "| flexjob_visitated (fleksjobvisiterede med lille arbejdsevne) | 2019-01-01 | DKK 40,000.00 | Bilag 2, pkt. 5, stk. 2 |" in doc
    assert "Københavns Kommune (municipality) 60 %" in doc
    assert "15 working days" in doc


def test_amendment_is_shown_with_its_date_clause_and_what_changes():
    doc = render_contract(load_contract(ROOT / "contracts/agreements/751-aarhus.yaml"), "md")
    assert "From 2020-09-01 [Tillæg 2, § 1]: In work at least 15 hours a week in 10 of any 13 consecutive weeks" in doc
    assert "measure.weeks 13 -> 10" in doc and "measure.out_of 16 -> 13" in doc


def test_measure_sentence():
    m = EmploymentWeeks(kind="employment_weeks", min_hours_per_week=15, weeks=13, pattern="of", out_of=16, window={"after": "start", "weeks": 104})
    assert measure_sentence(m).startswith("In work at least 15 hours a week in 13 of any 16 consecutive weeks, within 104 weeks after the start")


def test_html_is_self_contained_printable_and_deterministic():
    loaded = load_contract(ROOT / "contracts/agreements/461-odense.yaml")
    page = render_contract(loaded, "html")
    assert page == render_contract(loaded, "html")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page and "<style>" in page
    assert "<link" not in page and "<script" not in page and "http" not in page
    checker = parse(page)
    assert checker.starts.count("table") >= 14  # parties, 14 tariffs, caps


def test_text_from_the_contract_is_escaped(tmp_path):
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    f = tmp_path / "contracts/agreements/101-koebenhavn.yaml"
    text = f.read_text(encoding="utf-8")
    text = text.replace(
        "version: \"1.2\"",
        "version: \"1.2\"\ndescription: \"Evil <script>alert('x')</script> & <b>bold</b>\"",
    )
    text = text.replace("Re-profiled towards job outcomes.", "Re-profiled <img src=x onerror=alert(1)> | piped")
    f.write_text(text, encoding="utf-8")
    loaded = load_contract(f)
    page = render_contract(loaded, "html")
    checker = parse(page)
    assert "script" not in checker.starts and "img" not in checker.starts and "b" not in checker.starts
    body = "".join(checker.text)
    assert "Evil <script>alert('x')</script> & <b>bold</b>" in body
    assert "Re-profiled <img src=x onerror=alert(1)> | piped" in body
    md = render_contract(loaded, "md")
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script>" in md and "Re-profiled &lt;img src=x onerror=alert(1)> \\| piped" in md


def test_cli_render(tmp_path, capsys):
    out = tmp_path / "k.html"
    assert main(["render", str(ROOT / "contracts/agreements/101-koebenhavn.yaml"), "--format", "html", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["render", str(ROOT / "contracts/agreements/101-koebenhavn.yaml")]) == 0
    assert capsys.readouterr().out.startswith("# Social inklusion")
    assert main(["render", str(tmp_path / "missing.yaml")]) == 2
    assert "is not a valid agreement" in capsys.readouterr().err

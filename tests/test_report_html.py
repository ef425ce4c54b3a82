"""The self-contained HTML report (pbr_rules.reports.html): parses, one chart per municipality, offline, escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from pbr_rules.finance.cases import business_case
from pbr_rules.finance.simulation import generate_cohort, load_scenario, simulate, to_histories
from pbr_rules.reports.html import render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "contracts" / "simulation" / "programme.yaml"
AGREEMENTS = ROOT / "contracts" / "agreements"


class Collect(HTMLParser):
    """Every start tag with its attributes, and every piece of text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def classes(self, name: str) -> list[dict]:
        return [a for _, a in self.tags if name in (a.get("class") or "").split()]


@pytest.fixture(scope="module")
def report_and_simulation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    text = PROGRAMME.read_text(encoding="utf-8").replace("../agreements/", f"{AGREEMENTS.as_posix()}/")
    text = text.replace("participants: {value: 100,", "participants: {value: 12,")
    scenario_path = folder / "tiny.yaml"
    scenario_path.write_text(text, encoding="utf-8")
    scenario = load_scenario(scenario_path)
    histories = [h for p in scenario.plans for h in to_histories(generate_cohort(p, scenario.as_of, 1, 0))]
    report = business_case([p.loaded for p in scenario.plans], histories, scenario.as_of, scenario.discount_rate)
    # A municipality with markup in its name, and one with a break-even month, to check both.
    first = report.municipalities[0]
    months = first.months
    evil = first.model_copy(update={"municipality": "<b>Evil</b> Kommune", "break_even_month": months[len(months) // 2].month})
    second = report.municipalities[1].model_copy(update={"break_even_month": None})
    report = report.model_copy(update={"municipalities": [evil, second] + report.municipalities[2:]})
    return report, simulate(scenario, runs=3, seed=1, workers=1)


def test_the_report_parses_and_has_one_cumulative_chart_per_municipality(report_and_simulation, tmp_path):
    report, sim = report_and_simulation
    path = tmp_path / "report.html"
    write_report(report, sim, path)
    html = path.read_text(encoding="utf-8")
    p = Collect()
    p.feed(html)
    p.close()
    charts = p.classes("cumulative")
    assert len(charts) == len(report.municipalities) + (1 if report.programme else 0)
    assert [c["data-municipality"] for c in charts[:3]] == ["<b>Evil</b> Kommune"] + [m.municipality for m in report.municipalities[1:3]]
    # three lines in each chart, a legend and axis labels in DKK
    assert len(p.classes("series-costs")) == len(p.classes("series-savings")) == len(p.classes("series-payments")) == len(charts)
    text = " ".join(p.text)
    assert "Cumulative course costs" in text and "Cumulative savings" in text and "DKK (cumulative)" in text and "Month" in text
    # the break-even month is marked where there is one, and "no break-even" stated where not
    assert len(p.classes("break-even")) >= 1 and f"break-even {report.municipalities[0].break_even_month}" in text
    assert len(p.classes("no-break-even")) >= 1
    # the Monte Carlo histogram, with P5/P50/P95 marked, once per municipality and for the programme
    assert len(p.classes("histogram")) == len(sim.municipalities) + 1
    assert len(p.classes("percentile")) == 3 * (len(sim.municipalities) + 1)
    assert report.municipalities[1].answer in text
    assert "Investor view" in text


def test_the_report_escapes_names_and_is_fully_offline(report_and_simulation):
    report, sim = report_and_simulation
    html = render_report(report, sim)
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; Kommune" in html
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and " src=" not in html


def test_the_report_is_deterministic_and_written_atomically(report_and_simulation, tmp_path):
    report, sim = report_and_simulation
    path = tmp_path / "r.html"
    write_report(report, sim, path)
    first = path.read_bytes()
    write_report(report, sim, path)
    assert path.read_bytes() == first
    assert [x.name for x in tmp_path.iterdir()] == ["r.html"]  # no temporary file left behind


def test_without_a_simulation_there_is_no_histogram(report_and_simulation):
    report, _ = report_and_simulation
    p = Collect()
    p.feed(render_report(report, None))
    assert p.classes("histogram") == [] and len(p.classes("cumulative")) >= 3

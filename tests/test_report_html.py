"""The self-contained HTML report (pbr_rules.reports.html): parses, one chart per municipality, offline, escaped."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pbr_rules.finance.cases import business_case
from pbr_rules.finance.simulation import generate_cohort, load_scenario, simulate, to_histories
from pbr_rules.i18n import format_money
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


# --- a report that answers (issue 13, item 6) -------------------------------------------------------


def test_the_report_opens_with_the_verdicts(report_and_simulation):
    report, sim = report_and_simulation
    html = render_report(report, sim)
    body = html.split("<body>", 1)[1].lstrip()
    # the title, then straight away one verdict per municipality and for the programme
    assert body.startswith("<h1>Business case: can the savings finance the courses?</h1>\n<div class=\"answer\">")
    answer = body.split('<div class="answer">', 1)[1].split("</div>", 1)[0]
    cases = report.municipalities + ([report.programme] if report.programme else [])
    assert answer.count("<p>") == len(cases)
    for c in cases:
        assert (": YES," in c.answer) == (c.net_result >= 0)


def test_percentages_are_percentages_and_the_irr_is_in_words_when_there_is_none(report_and_simulation):
    report, sim = report_and_simulation
    first = report.municipalities[0]
    lost = first.investor.model_copy(update={"irr": None})  # repaid something, but no rate above -99 % balances it
    nothing = first.investor.model_copy(update={"irr": None, "principal_repaid": Decimal("0.00"), "return_paid": Decimal("0.00")})
    shown = first.investor.model_copy(update={"irr": "-0.46809450", "money_multiple": "0.8325"})
    html = render_report(report.model_copy(update={"discount_rate": "0.04", "municipalities": [
        first.model_copy(update={"investor": lost}),
        report.municipalities[1].model_copy(update={"investor": nothing}),
        report.municipalities[2].model_copy(update={"investor": shown}),
    ]}), sim)
    assert "discount rate 4 %." in html
    assert "<td>IRR (annual)</td><td>below -99 % a year: the investors get back only a small part of what they put in</td>" in html
    assert "<td>IRR (annual)</td><td>none: the investors get nothing back</td>" in html
    assert "<td>IRR (annual)</td><td>-46.8 %</td>" in html and "<td>Money multiple</td><td>0.8325</td>" in html
    # Monte Carlo shares as percentages, with what they mean
    c = sim.municipalities[0]
    share = f"{(Decimal(c.probability_positive_net) * 100).quantize(Decimal('0.1'))} %"
    simulation = html.split('<section id="simulation">', 1)[1]
    assert f"<td>{share}</td></tr>" in simulation and "<td>0.3333</td>" not in simulation
    assert "P(savings cover the course costs) is the share of the 3 runs in which the savings were at least the total course costs" in html
    assert "not forecasts for the real cohort" in html


def test_the_legend_has_one_entry_a_line_inside_the_chart(report_and_simulation):
    report, _ = report_and_simulation
    p = Collect()
    p.feed(render_report(report, None))
    chart = p.classes("cumulative")[0]
    height = int(chart["height"])
    legend = [a for a in p.classes("legend") if "font-size" in a][:3]  # the three texts of the first chart
    ys = [float(a["y"]) for a in legend]
    assert len({a["x"] for a in legend}) == 1 and ys == sorted(ys) and len(set(ys)) == 3
    assert ys[-1] < height


def test_the_projection_is_shown_apart_from_the_realised_savings(report_and_simulation):
    report, _ = report_and_simulation
    html = render_report(report, None)
    c = report.municipalities[1]
    assert c.projected_savings is not None
    assert f"<td>Savings on benefits, realised to the as-of date</td><td>{format_money(c.savings, 'DKK', 'en')}</td>" in html
    assert f"<td>Savings projected past the realised ones</td><td>{format_money(c.projected_savings, 'DKK', 'en')}</td>" in html
    assert f"<td>Net result with the projected savings</td><td>{format_money(c.projected_net_result, 'DKK', 'en')}</td>" in html
    assert "Projection: projected to 5 years after each enrolment" in html
    assert "No Monte Carlo simulation in this report" in html


def test_business_case_html_does_not_simulate_unless_asked(tmp_path, monkeypatch, capsys):
    import pbr_rules.finance as finance
    from pbr_rules.cli import main

    def refuse(*args, **kwargs):
        raise AssertionError("the simulation ran without --runs")

    monkeypatch.setattr(finance, "simulate", refuse)
    out = tmp_path / "r.html"
    code = main(["business-case", "--contract", str(AGREEMENTS / "101-koebenhavn.yaml"), "--cohort", str(ROOT / "fixtures" / "participants" / "101"),
                 "--as-of", "2022-09-30", "--workers", "1", "--html", str(out), "--lang", "en"])
    assert code == 0, capsys.readouterr().err
    assert "No Monte Carlo simulation in this report" in out.read_text(encoding="utf-8")

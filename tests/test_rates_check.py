"""``pbr rates check``: every assumed rate, the agreements that would use it, exit 1 if one is used.

The hand-made agreement extends the programme template (enrolment window 2019-03-01 to
2021-09-30) with savings counted 4 weeks after the enrolment week, so its business case
values the weeks 2019-W10 (the week after Friday 2019-03-01's week W09; Thursday
2019-03-07) to 2021-W43 (Thursday 2021-09-30 is in W39; + 4 = W43, Thursday 2021-10-28),
on every benefit code.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from pbr_rules.cli import main
from pbr_rules.evaluation import load_checked_contract
from pbr_rules.finance import check_rates, load_benefit_rates

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "contracts" / "templates" / "vaekstpartnerskaber.yaml"
BUNDLED = ROOT / "contracts" / "data" / "benefit-rates.yaml"

STAIRCASE = """\
staircase:
  reference: "finansieringsloven § 5, stk. 2"
  bands:
    - {from_week: 1, to_week: 4, municipal_share: "0.2"}
    - {from_week: 5, to_week: 26, municipal_share: "0.6"}
    - {from_week: 27, to_week: 52, municipal_share: "0.7"}
    - {from_week: 53, to_week: null, municipal_share: "0.8"}
"""

SOURCE = '{title: "Satser for 2019: Sygedagpenge", url: "https://bm.dk/satser/satser-for-2019/sygedagpenge/"}'


def rates_file(folder: Path, kontanthjaelp: str) -> Path:
    path = folder / "rates.yaml"
    path.write_text(
        "kind: benefit_rates\n" + STAIRCASE + "rates:\n  kontanthjaelp:\n" + kontanthjaelp
        + "  sygedagpenge:\n"
        + f'    "2019-01-01": {{value: {{per: week, amount: "4355", source: {SOURCE}}}, reference: "§ 50, stk. 1"}}\n',
        encoding="utf-8",
    )
    return path


# Real kommunekoder (the vocabulary knows only real ones), one per test agreement.
REAL_CODES = {"dk-825-ratecheck": "825", "dk-741-other": "741"}


def agreement(folder: Path, ident: str, rates: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ident}.yaml"
    path.write_text(
        f"""kind: agreement
extends: {os.path.relpath(TEMPLATE, folder)}
id: {ident}
title: Rate-check test agreement
version: "1"
municipality: {{name: Testrup, code: "{REAL_CODES[ident]}"}}
business_case:
  benefit_rates: {rates}
  savings_weeks: 4
""",
        encoding="utf-8",
    )
    return path


KH_USED = """\
    "2019-01-01": {value: {per: month, amount: "11423", assumption: true}, reference: "§ 25, stk. 2, nr. 2", documentation: "Estimated: test."}
    "2030-01-01": {value: {per: month, amount: "15000", assumption: true}, reference: "§ 25, stk. 2, nr. 2"}
"""
KH_PUBLISHED = """\
    "2019-01-01": {value: {per: month, amount: "11423"}, reference: "§ 25, stk. 2, nr. 2"}
    "2030-01-01": {value: {per: month, amount: "15000", assumption: true}, reference: "§ 25, stk. 2, nr. 2", documentation: "Estimated: test."}
"""


@pytest.fixture
def folder(tmp_path):
    agreement(tmp_path / "agreements", "dk-825-ratecheck", "../rates.yaml")
    return tmp_path


def test_an_assumed_rate_the_agreement_uses_fails_the_check(folder, capsys):
    rates = rates_file(folder, KH_USED)
    assert main(["rates", "check", str(rates), "--contracts", str(folder / "agreements")]) == 1
    assert capsys.readouterr().out == f"""\
{rates}: 3 rates, 1 published, 2 assumptions (assumption: true).

Agreements whose business case uses this table (every code that costs the municipality may be used):
  dk-825-ratecheck: weeks 2019-W10 to 2021-W43 (enrolment 2019-03-01 to 2021-09-30, savings counted 4 weeks after the enrolment week)

Assumed figures:
  kontanthjaelp 2019-01-01 to 2029-12-31: DKK 11,423 a month
    why: Estimated: test.
    used by: dk-825-ratecheck
  kontanthjaelp from 2030-01-01: DKK 15,000 a month
    why: (no documentation: say how the figure was estimated)
    used by: none of the agreements

1 assumed figure is used by an agreement: replace it with a published rate (with its source) before relying on the business case.
"""


def test_assumptions_no_agreement_uses_pass_the_check(folder, capsys):
    rates = rates_file(folder, KH_PUBLISHED)
    assert main(["rates", "check", str(rates), "--contracts", str(folder / "agreements")]) == 0
    assert capsys.readouterr().out == f"""\
{rates}: 3 rates, 2 published, 1 assumptions (assumption: true).

Agreements whose business case uses this table (every code that costs the municipality may be used):
  dk-825-ratecheck: weeks 2019-W10 to 2021-W43 (enrolment 2019-03-01 to 2021-09-30, savings counted 4 weeks after the enrolment week)

Assumed figures:
  kontanthjaelp from 2030-01-01: DKK 15,000 a month
    why: Estimated: test.
    used by: none of the agreements

No agreement uses an assumed figure.
"""


def test_an_agreement_naming_another_table_does_not_use_this_one(folder, capsys):
    rates = rates_file(folder, KH_USED)
    other = folder / "other"
    other.mkdir()
    rates_file(other, KH_USED)
    (folder / "agreements" / "dk-825-ratecheck.yaml").unlink()
    agreement(folder / "agreements", "dk-741-other", "../other/rates.yaml")
    assert main(["rates", "check", str(rates), "--contracts", str(folder / "agreements")]) == 0
    out = capsys.readouterr().out
    assert "No agreement uses this table.\nAgreements that use another rate table: dk-741-other\n" in out
    assert out.endswith("No agreement uses an assumed figure.\n")


def test_a_rate_is_used_when_the_days_it_is_in_force_meet_the_weeks_valued(folder):
    # Weeks valued: Thursdays 2019-03-07 .. 2021-10-28.
    rates = rates_file(
        folder,
        """\
    "2018-01-01": {value: {per: month, amount: "1", assumption: true}, reference: "r"}
    "2019-03-07": {value: {per: month, amount: "2", assumption: true}, reference: "r"}
    "2021-10-28": {value: {per: month, amount: "3", assumption: true}, reference: "r"}
    "2021-10-29": {value: {per: month, amount: "4", assumption: true}, reference: "r"}
""",
    )
    loaded = load_checked_contract(folder / "agreements" / "dk-825-ratecheck.yaml")
    check = check_rates(rates, [loaded])
    used = {a.effective: bool(a.used_by) for a in check.assumed}
    assert used == {
        date(2018, 1, 1): False,  # in force to 2019-03-06, the day before the first Thursday
        date(2019, 3, 7): True,
        date(2021, 10, 28): True,  # in force on the last Thursday only
        date(2021, 10, 29): False,
    }


def test_a_missing_rate_file_is_a_usage_error_without_traceback(folder, capsys):
    assert main(["rates", "check", str(folder / "nope.yaml"), "--contracts", str(folder / "agreements")]) == 2
    err = capsys.readouterr().err
    assert err == f"{(folder / 'nope.yaml').resolve()}: benefit-rate file not found\n"


def test_an_invalid_rate_file_says_where(folder, capsys):
    rates = rates_file(folder, KH_USED.replace('amount: "11423"', 'amount: "eleven"'))
    assert main(["rates", "check", str(rates), "--contracts", str(folder / "agreements")]) == 2
    assert capsys.readouterr().err == (
        f"{rates.resolve()}:11:48: rates.kontanthjaelp.2019-01-01.value.amount: "
        "amount 'eleven' is not a number of kroner with at most 2 decimals, e.g. '1250.50'\n"
    )


def test_a_missing_contracts_folder_is_a_usage_error(folder, capsys):
    assert main(["rates", "check", str(rates_file(folder, KH_USED)), "--contracts", str(folder / "none")]) == 2
    assert capsys.readouterr().err == f"{folder / 'none'}: no such folder of agreements (give --contracts DIR)\n"


# --- the bundled table -----------------------------------------------------------------


def test_the_bundled_agreements_use_assumed_rates(capsys):
    assert main(["rates", "check", str(BUNDLED), "--contracts", str(ROOT / "contracts")]) == 1
    out = capsys.readouterr().out
    assert re.match(r".*benefit-rates\.yaml: \d+ rates, \d+ published, \d+ assumptions \(assumption: true\)\.\n", out)
    for ident in ("dk-101-koebenhavn", "dk-461-odense", "dk-751-aarhus"):
        assert f"  {ident}: weeks 2019-W10 to 2023-W39 (enrolment 2019-03-01 to 2021-09-30, savings counted 104 weeks" in out
    # fleksløntilskud is a modelled amount, never a published rate: 18,866 × 0.98 − 2,400 = 16,088.68 -> 16,089.
    assert (
        "  fleksloentilskud 2019-01-01 to 2019-12-31: DKK 16,089 a month\n"
        in out
    )
    assert "    used by: dk-101-koebenhavn, dk-461-odense, dk-751-aarhus\n" in out


def test_every_bundled_figure_is_either_sourced_or_an_explained_assumption():
    rates = load_benefit_rates(BUNDLED)
    for code, dated in rates.rates.items():
        for day, entry in dated.items():
            where = f"{code} {day}"
            if entry.value.assumption:
                assert entry.documentation and "Estimated" in entry.documentation, where
            else:
                assert entry.value.source is not None, f"{where}: a published figure must name its source"
                assert entry.value.source.url.startswith("http"), where
    years = {day.year for dated in rates.rates.values() for day in dated}
    assert set(range(2019, 2027)) <= years


def test_a_comparison_group_counterfactual_may_use_any_date(folder, capsys):
    # The comparison histories bring their own dates, so no period bounds the rates used.
    path = folder / "agreements" / "dk-825-ratecheck.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + '  counterfactual: {method: comparison_group, reference: "§ 10.1"}\n',
        encoding="utf-8",
    )
    rates = rates_file(folder, KH_PUBLISHED)
    assert main(["rates", "check", str(rates), "--contracts", str(folder / "agreements")]) == 1
    out = capsys.readouterr().out
    assert "  dk-825-ratecheck: any date (a comparison_group counterfactual values the comparison histories' own weeks)\n" in out
    assert "  kontanthjaelp from 2030-01-01: DKK 15,000 a month\n    why: Estimated: test.\n    used by: dk-825-ratecheck\n" in out

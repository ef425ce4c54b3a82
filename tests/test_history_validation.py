"""Participant histories that describe impossible things are refused, each problem at its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pbr_rules.errors import HistoryInvalid
from pbr_rules.language.loader import load_benefit_codes, load_history
from pbr_rules.personal_data import CPR_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
CODES = frozenset(load_benefit_codes(ROOT / "contracts/data/benefit-codes.yaml").codes)

# Lines 1-7 of every history below; line numbers in the expectations count from here.
HEAD = """\
kind: participant
participant: P-0001
municipality: "101"
birth_date: "1990-05-17"
target_group: cash_benefit
enrolment: "2019-03-04"
extracted: "2020-12-31"
"""


@pytest.fixture
def write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def _write(text: str, name: str = "h.yaml") -> str:
        Path(name).write_text(textwrap.dedent(text), encoding="utf-8")
        return name

    return _write


def problems(path: str, codes=CODES) -> list[str]:
    with pytest.raises(HistoryInvalid) as info:
        load_history(path, codes)
    return [str(d) for d in info.value.diagnostics]


def test_a_sound_history_loads(write):
    path = write(
        HEAD
        + """\
benefits:
  - {weeks: 2018-W10..2019-W09, code: kontanthjaelp}
employment:
  - {start: "2019-06-03", end: "2019-12-31", hours_per_week: 20, monthly_earnings: "9000", employer: Firma A}
  - {start: "2020-01-06", hours_per_week: 25, monthly_earnings: "11000", employer: Firma B}
events:
  - {date: "2020-02-01", kind: qualification}
"""
    )
    h = load_history(path, CODES)
    assert h.participant == "P-0001"
    assert len(h.employment) == 2


def test_spell_ending_before_it_starts(write):
    path = write(
        HEAD
        + """\
employment:
  - {start: "2019-06-03", end: "2019-05-31", hours_per_week: 20, monthly_earnings: "9000", employer: Firma A}
"""
    )
    # Line 9: '  - {start: "2019-06-03", end: ' -> the end date's opening quote is column 32.
    assert problems(path) == ["h.yaml:9:32: employment[0].end: the spell ends (2019-05-31) before it starts (2019-06-03)"]


def test_overlapping_spells(write):
    path = write(
        HEAD
        + """\
employment:
  - {start: "2019-09-02", end: "2019-12-31", hours_per_week: 20, monthly_earnings: "9000", employer: Firma A}
  - {start: "2019-11-04", hours_per_week: 10, monthly_earnings: "4000", employer: Firma B}
"""
    )
    # Line 10: the second spell's start value is column 13.
    assert problems(path) == [
        "h.yaml:10:13: employment[1].start: this spell (2019-11-04) overlaps employment[0]"
        " (2019-09-02 to 2019-12-31); spells must not overlap"
    ]


def test_an_open_spell_overlaps_everything_after_it(write):
    path = write(
        HEAD
        + """\
employment:
  - {start: "2020-03-02", hours_per_week: 20, monthly_earnings: "9000", employer: Firma B}
  - {start: "2019-06-03", hours_per_week: 20, monthly_earnings: "9000", employer: Firma A}
"""
    )
    # Spells are compared in date order: the earlier, open-ended one (line 10) runs into the later one (line 9).
    assert problems(path) == [
        "h.yaml:9:13: employment[0].start: this spell (2020-03-02) overlaps employment[1]"
        " (2019-06-03 to ongoing); spells must not overlap"
    ]


def test_every_overlap_is_reported(write):
    path = write(
        HEAD
        + """\
employment:
  - {start: "2019-04-01", end: "2020-06-30", hours_per_week: 30, monthly_earnings: "15000", employer: Firma A}
  - {start: "2019-05-06", end: "2019-05-31", hours_per_week: 10, monthly_earnings: "3000", employer: Firma B}
  - {start: "2019-08-05", end: "2019-08-30", hours_per_week: 10, monthly_earnings: "3000", employer: Firma C}
"""
    )
    found = problems(path)
    assert any(p.startswith("h.yaml:10:13: employment[1].start:") for p in found)
    assert any(p.startswith("h.yaml:11:13: employment[2].start:") for p in found)


def test_a_week_given_twice(write):
    path = write(
        HEAD
        + """\
benefits:
  - {weeks: 2018-W10..2019-W09, code: kontanthjaelp}
  - {weeks: 2019-W09..2019-W12, code: kontanthjaelp}
"""
    )
    assert problems(path) == ["h.yaml:10:13: benefits[1].weeks: week 2019-W09 is given twice (also in benefits[0])"]


def test_benefit_weeks_after_extraction(write):
    path = write(
        HEAD
        + """\
benefits:
  - {weeks: 2020-W50..2021-W02, code: kontanthjaelp}
"""
    )
    # Extracted Thursday 2020-12-31, in 2020-W53: 2021-W01 and 2021-W02 are in the future.
    assert problems(path) == ["h.yaml:9:13: benefits[0].weeks: week 2021-W02 is after the extraction date 2020-12-31"]


def test_week_53_in_a_year_without_one(write):
    path = write(
        HEAD
        + """\
benefits:
  - {weeks: 2019-W50..2019-W53, code: kontanthjaelp}
"""
    )
    assert problems(path) == ["h.yaml:9:13: benefits[0].weeks: '2019-W53' does not exist: 2019 has no week 53"]


def test_events_before_birth(write):
    path = write(
        HEAD
        + """\
events:
  - {date: "1989-01-01", kind: qualification}
course:
  - {date: "1990-05-16", kind: completion}
"""
    )
    assert problems(path) == [
        "h.yaml:9:12: events[0].date: event 1989-01-01 is before birth 1990-05-17",
        "h.yaml:11:12: course[0].date: course event 1990-05-16 is before birth 1990-05-17",
        "h.yaml:11:12: course[0].date: course event 1990-05-16 is before enrolment 2019-03-04",
    ]


def test_an_exit_before_the_enrolment_is_impossible(write):
    # A review: a participant who died in 2018, enrolled in 2019 and worked after, was ELIGIBLE.
    path = write(
        HEAD
        + """\
exits:
  - {date: "2018-01-01", reason: died}
"""
    )
    assert problems(path) == [
        "h.yaml:9:12: exits[0].date: exit 2018-01-01 (died) is before the enrolment 2019-03-04: a participant exits after enrolling"
    ]


def test_events_after_extraction(write):
    path = write(
        HEAD
        + """\
events:
  - {date: "2020-12-31", kind: qualification}
  - {date: "2021-01-15", kind: qualification}
exits:
  - {date: "2021-02-01", reason: moved_away}
"""
    )
    # The extraction day itself is fine; the day after is not.
    assert problems(path) == [
        "h.yaml:10:12: events[1].date: event 2021-01-15 is after the extraction date 2020-12-31",
        "h.yaml:12:12: exits[0].date: exit 2021-02-01 is after the extraction date 2020-12-31",
    ]


def test_unknown_benefit_code_with_a_suggestion(write):
    path = write(
        HEAD
        + """\
benefit_at_enrolment: kontanthjalp
benefits:
  - {weeks: 2018-W10..2019-W09, code: kontanthjaelp}
  - {weeks: 2019-W10, code: sygedagpenger}
  - {weeks: 2019-W11, code: xyz}
"""
    )
    assert problems(path) == [
        "h.yaml:8:23: benefit_at_enrolment: unknown benefit code 'kontanthjalp'; did you mean 'kontanthjaelp'?",
        "h.yaml:11:29: benefits[1].code: unknown benefit code 'sygedagpenger'; did you mean 'sygedagpenge'?",
        "h.yaml:12:29: benefits[2].code: unknown benefit code 'xyz'; known codes: a_dagpenge, fleksloentilskud,"
        " foertidspension, integrationsydelse, jobafklaringsydelse, kontanthjaelp, ledighedsydelse, loentilskud,"
        " ressourceforloebsydelse, sygedagpenge, uddannelseshjaelp",
    ]


def test_codes_are_not_checked_without_a_vocabulary(write):
    path = write(HEAD + "benefits:\n  - {weeks: 2019-W11, code: xyz}\n")
    assert load_history(path).benefits[0].code == "xyz"


@pytest.mark.parametrize(
    "written",
    ['"170590-1234"', "170590-1234", '"1705901234"', '"170590 1234"', "' 170590-1234 '"],
)
def test_cpr_number_as_participant_id_is_refused_without_echoing_it(write, written):
    path = write(HEAD.replace("participant: P-0001", f"participant: {written}"))
    found = problems(path)
    assert found == [f"h.yaml:2:14: participant: {CPR_MESSAGE}"]
    assert not any(digits in text for text in found for digits in ("170590", "1234"))


def test_cpr_number_written_as_a_bare_number_is_not_echoed(write):
    path = write(HEAD.replace("participant: P-0001", "participant: 1705901234"))
    found = problems(path)
    assert found == ["h.yaml:2:14: participant: expected text, got a number (put it in quotes)"]
    assert "1705901234" not in "".join(found)


def test_cpr_number_inside_a_longer_id_is_not_echoed(write):
    path = write(HEAD.replace("participant: P-0001", 'participant: "CPR 170590-1234"'))
    found = problems(path)
    assert found == [f"h.yaml:2:14: participant: {CPR_MESSAGE}"]  # an embedded CPR number is one (issue 12)
    assert "170590" not in "".join(found)


def test_both_birth_date_and_age(write):
    path = write(HEAD.replace('birth_date: "1990-05-17"\n', 'birth_date: "1990-05-17"\nage_at_enrolment: 28\n'))
    assert problems(path) == ["h.yaml:4:13: birth_date: give exactly one of birth_date and age_at_enrolment"]


def test_neither_birth_date_nor_age(write):
    path = write(HEAD.replace('birth_date: "1990-05-17"\n', ""))
    # There is no birth_date line to point at: the diagnostic falls back to the top of the file.
    assert problems(path) == ["h.yaml:1:1: birth_date: give exactly one of birth_date and age_at_enrolment"]


def test_every_problem_at_once(write):
    path = write(
        HEAD.replace("extracted: \"2020-12-31\"", "extracted: \"2019-01-31\"")
        + """\
employment:
  - {start: "2019-02-04", end: "2019-02-01", hours_per_week: 20, monthly_earnings: "9000", employer: Firma A}
"""
    )
    assert problems(path) == [
        "h.yaml:7:12: extracted: extracted 2019-01-31 is before the enrolment 2019-03-04",
        "h.yaml:9:13: employment[0].start: employment start 2019-02-04 is after the extraction date 2019-01-31",
        "h.yaml:9:32: employment[0].end: end 2019-02-01 is after the extraction date 2019-01-31",
        "h.yaml:9:32: employment[0].end: the spell ends (2019-02-01) before it starts (2019-02-04)",
    ]


# --- the words of the agreement's jurisdiction (target groups, areas, benefit codes) ---------------


def _evaluate_refused(contract: str, history: dict) -> list[str]:
    from pbr_rules.errors import HistoryInvalid
    from pbr_rules.evaluation.evaluator import evaluate
    from pbr_rules.language.loader import load_contract
    from pbr_rules.models.history import ParticipantHistory

    loaded = load_contract(ROOT / contract)
    with pytest.raises(HistoryInvalid) as info:
        evaluate(loaded, ParticipantHistory.model_validate(history))
    return [f"{d.path}: {d.message}" for d in info.value.diagnostics]


ENGLISH = {
    "participant": "gb-001", "municipality": "E08000003", "age_at_enrolment": 30, "target_group": "long_term_unemployed",
    "enrolment": "2024-05-03", "extracted": "2024-12-31", "benefits": [{"weeks": "2024-W01..2024-W18", "code": "universal_credit"}],
}  # fmt: skip


def test_a_history_is_checked_against_the_vocabulary_of_the_agreement_it_is_evaluated_under():
    # Valid under the English test agreement (tests/contracts/gb-eng-calendar.yaml) ...
    from pbr_rules.evaluation.evaluator import evaluate
    from pbr_rules.language.loader import load_contract
    from pbr_rules.models.history import ParticipantHistory

    assert evaluate(load_contract(ROOT / "tests/contracts/gb-eng-calendar.yaml"), ParticipantHistory.model_validate(ENGLISH)).eligibility.eligible
    # ... but every word of it is unknown in Denmark's.
    assert _evaluate_refused("contracts/agreements/101-koebenhavn.yaml", ENGLISH) == [
        "benefits[0].code: unknown benefit code 'universal_credit'; known codes: a_dagpenge, fleksloentilskud,"
        " foertidspension, integrationsydelse, jobafklaringsydelse, kontanthjaelp, ledighedsydelse, loentilskud,"
        " ressourceforloebsydelse, sygedagpenge, uddannelseshjaelp",
        "municipality: unknown area (municipality) code 'E08000003'; known areas: 101, 147, 151, 153, 155, 157, 159,"
        " 161, 163, 165, 167, 169, 173, 175, 183, 185, 187, 190, 201, 210 and 78 more",
        "target_group: unknown target group 'long_term_unemployed'; known target groups: cash_benefit,"
        " cash_benefit_immigrant, cash_benefit_youth, early_retirement_pension, flexjob_visitated,"
        " newly_arrived_refugee, other_vulnerable, resource_course",
    ]


def test_a_mistyped_target_group_or_area_gets_the_nearest_word():
    danish = {**ENGLISH, "municipality": "110", "target_group": "cash_benfit", "benefits": []}
    assert _evaluate_refused("contracts/agreements/101-koebenhavn.yaml", danish) == [
        "municipality: unknown area (municipality) code '110'; did you mean '101' or '190' or '210'?",
        "target_group: unknown target group 'cash_benfit'; did you mean 'cash_benefit'?",
    ]


def test_another_municipality_of_the_jurisdiction_is_valid_and_not_eligible():
    from pbr_rules.evaluation.evaluator import evaluate
    from pbr_rules.language.loader import load_contract
    from pbr_rules.models.history import ParticipantHistory

    h = {**ENGLISH, "municipality": "147", "target_group": "cash_benefit", "enrolment": "2019-04-03", "extracted": "2020-12-31", "benefits": []}
    r = evaluate(load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml"), ParticipantHistory.model_validate(h))
    assert not r.eligibility.eligible
    assert [x.rule for x in r.eligibility.rules if not x.passed][0] == "municipality"


def test_a_history_file_is_refused_at_the_line_of_the_unknown_word(tmp_path):
    from pbr_rules.errors import HistoryInvalid
    from pbr_rules.language.loader import load_contract

    known = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml").known
    path = tmp_path / "h.yaml"
    path.write_text(
        "participant: p1\nmunicipality: '101'\nage_at_enrolment: 30\ntarget_group: long_term_unemployed\n"
        "enrolment: 2019-04-03\nextracted: 2020-12-31\n",
        encoding="utf-8",
    )
    with pytest.raises(HistoryInvalid) as info:
        load_history(path, known)
    assert [str(d).replace(str(path), "h.yaml") for d in info.value.diagnostics] == [
        "h.yaml:4:15: target_group: unknown target group 'long_term_unemployed'; known target groups: cash_benefit,"
        " cash_benefit_immigrant, cash_benefit_youth, early_retirement_pension, flexjob_visitated,"
        " newly_arrived_refugee, other_vulnerable, resource_course"
    ]

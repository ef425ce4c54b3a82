"""Every broken contract in tests/broken/ is refused with the exact diagnostic a contract manager sees.

Each expected line:col below was checked by hand against the file (column = character
position, 1-based): it points at the offending key or value, not merely near it.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.language.loader import load_contract
from pbr_rules.language.yaml_source import MAX_BYTES, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "tests/broken"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    # Paths are passed (and so reported) relative to the repository root.
    monkeypatch.chdir(ROOT)


def diagnostics(path: str) -> list[str]:
    with pytest.raises(ContractInvalid) as info:
        load_contract(path)
    return [str(d) for d in info.value.diagnostics]


SEPARATOR_HINT = (
    " (amounts are written without thousands separators and with '.' before the øre,"
    ' in quotes: 30.000,50 kr. is "30000.50")'
)

EXPECTED = {
    "syntax_error.yaml": [
        # 'title: Vækstpartnerskaber: Testby Kommune': the second ':' is column 26.
        "tests/broken/syntax_error.yaml:4:26: YAML syntax: mapping values are not allowed in this context"
        " (a value containing ': ' must be quoted)",
    ],
    "tab_indentation.yaml": [
        # The tab that indents 'name' under 'municipality'.
        "tests/broken/tab_indentation.yaml:6:1: YAML syntax: a tab character where only spaces may be"
        " (indent with spaces, not tabs)",
    ],
    "python_tag.yaml": [
        "tests/broken/python_tag.yaml:4:10: version: tag '!!python/object/apply:os.system' is not allowed"
        " (safe YAML only: plain maps, lists, text, numbers, dates)",
    ],
    "billion_laughs.yaml": [
        # The expansion budget runs out while building 'f' (9**6 copies of "lol").
        "tests/broken/billion_laughs.yaml:8:1: f: aliases expand to more than 100,000 values"
        " (remove the anchors ('&name') and aliases ('*name') that multiply)",
    ],
    "duplicate_key.yaml": [
        "tests/broken/duplicate_key.yaml:11:3: tariffs.job_13_weeks: duplicate key 'job_13_weeks' (first at line 7)"
        " (each key may appear once; merge the two entries)",
    ],
    "merge_key.yaml": [
        "tests/broken/merge_key.yaml:13:11: tariffs.job_13_weeks.amounts.all.2020-07-01:"
        " merge keys ('<<') are not supported (write the keys out, or use 'extends')",
    ],
    "unknown_key_typo.yaml": [
        "tests/broken/unknown_key_typo.yaml:6:1: tarifs: unknown key 'tarifs' (did you mean 'tariffs'?"
        " allowed: kind, id, title, description, documentation, illustrative, programme, benefit_codes,"
        " municipality, parties, signed, term, currency, language, version, eligibility, milestones, tariffs, payment, caps,"
        " costs, business_case, investor)",
    ],
    "wrong_enum.yaml": [
        "tests/broken/wrong_enum.yaml:7:31: payment.claim_lag.kind: 'workng' is not allowed here"
        " (did you mean 'working'? allowed: calendar, working)",
    ],
    # The hire measure's new keys (docs/semantics.md § 5, "Hires verified") are strict.
    "hire_hours.yaml": [
        "tests/broken/hire_hours.yaml:11:47: milestones.company_hire.measure.min_hours_per_week: 90 is too large: it must be at most 80",
        "tests/broken/hire_hours.yaml:11:64: milestones.company_hire.measure.rehire_pays: input should be a valid boolean (got 'yes')",
    ],
    "unknown_measure_kind.yaml": [
        "tests/broken/unknown_measure_kind.yaml:9:13: milestones.job_13_weeks.measure.kind:"
        " unknown kind 'employment_week' (did you mean 'employment_weeks'? allowed: enrolment, outcome_event,"
        " employment_weeks, self_supporting_weeks, cumulative_earnings, course_attendance, course_completion,"
        " flexjob_hours_increase, accelerator_phase, hire, hire_retained)",
    ],
    "text_too_long.yaml": [
        "tests/broken/text_too_long.yaml:6:14: description: string should have at most 1000 characters (got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...)"
    ],
    "float_money.yaml": [
        "tests/broken/float_money.yaml:10:31: tariffs.job_13_weeks.amounts.all.2019-01-01.value:"
        ' amount 30000.5 must be written in quotes, e.g. "30000.50"'
        " (a number with decimals is only exact in quotes; whole kroner may be written without)",
    ],
    # Danish and English thousands separators: the suggestion is the amount meant, never 38 kroner.
    "danish_thousands.yaml": [
        # value: 38.000 unquoted is a YAML float 38.0; the message works from the text written.
        "tests/broken/danish_thousands.yaml:10:31: tariffs.job_13_weeks.amounts.all.2019-01-01.value:"
        " amount 38.000 uses '.' as a thousands separator (Danish style); write \"38000\"" + SEPARATOR_HINT,
        "tests/broken/danish_thousands.yaml:14:31: tariffs.job_26_weeks.amounts.all.2019-01-01.value:"
        " amount 30.000,50 uses Danish separators ('.' between thousands, ',' before the øre);"
        " write \"30000.50\"" + SEPARATOR_HINT,
        "tests/broken/danish_thousands.yaml:18:31: tariffs.self_support_blocks.amounts.all.2019-01-01.value:"
        " amount 38,000 uses ',' as a thousands separator; write \"38000\"" + SEPARATOR_HINT,
    ],
    "unknown_persistence_outcome.yaml": [
        # The projection's persistence names a milestone the agreement does not have.
        "tests/broken/unknown_persistence_outcome.yaml:11:20: business_case.projection.persistence.job_26_week:"
        " persistence for unknown milestone 'job_26_week' (did you mean 'job_26_weeks'?)",
    ],
    # Issue 11, item 8: which day's prices apply (trigger, enrolment, referral); a company has no referral date.
    "pricing_date.yaml": [
        "tests/broken/pricing_date.yaml:8:19: tariffs.job_13_weeks.pricing_date: 'referal' is not allowed here"
        " (did you mean 'referral'? allowed: trigger, enrolment, referral)",
    ],
    "pricing_date_company.yaml": [
        "tests/broken/pricing_date_company.yaml:8:19: tariffs.company_hire.pricing_date: a company has no referral date,"
        " so a company milestone cannot be priced on one (price it on 'trigger' or 'enrolment' (the accelerator start))",
        # The payment terms' default would reach the template's company tariffs: one error, where the default is written.
        "tests/broken/pricing_date_company.yaml:10:17: payment.pricing_date: a company has no referral date, but the company"
        " milestones company_start, growth_plan, social_model, hire_retained would be priced on one (give each its own"
        " pricing_date, 'trigger' or 'enrolment' (the accelerator start), e.g. tariffs.company_start.pricing_date: enrolment)",
    ],
    # Item 9: a maximum total below one tariff, on a milestone that pays once, not in force from the term start.
    "max_total.yaml": [
        "tests/broken/max_total.yaml:8:39: tariffs.self_support_blocks.max_total.2019-01-01.value: max_total 2000.00 is below"
        " the single tariff 3000.00 of 'self_support_blocks' (not even one occurrence could be paid in full; raise max_total"
        " or lower the tariff)",
        "tests/broken/max_total.yaml:10:5: tariffs.job_13_weeks.max_total: 'job_13_weeks' pays once (no repeat), so a maximum"
        " total can never bind (remove max_total, or give milestones.job_13_weeks a repeat)",
        "tests/broken/max_total.yaml:10:17: tariffs.job_13_weeks.max_total.2019-06-01: nothing is in force from the term"
        " start 2019-01-01: the first effective date is 2019-06-01 (date the first value 2019-01-01 or earlier)",
    ],
    # Item 10: a soft target above the hard cohort size, and dated outside the term.
    "target.yaml": [
        "tests/broken/target.yaml:8:20: eligibility.citizens.target.size: target 120 is above the cohort size 100: those"
        " beyond 100 are never paid (lower the target, or raise cohort_size)",
        "tests/broken/target.yaml:8:29: eligibility.citizens.target.by: target date 2023-06-30 is outside the term"
        " 2019-01-01..2022-09-30",
    ],
    # Item 13: the discounting convention is one of three; the rate is a share in quotes.
    "discounting.yaml": [
        "tests/broken/discounting.yaml:8:17: business_case.discounting.convention: 'per_month' is not allowed here"
        " (allowed: act365_from_term_start, per_period, annual_compounding)",
        "tests/broken/discounting.yaml:9:11: business_case.discounting.rate: share 0.04 must be written as a string, e.g. '0.6'",
    ],
    "non_iso_date.yaml": [
        "tests/broken/non_iso_date.yaml:6:9: signed: '2019-3-1' is not an ISO date;"
        " write it as YYYY-MM-DD, e.g. '2019-03-01'",
    ],
    "missing_reference.yaml": [
        # At the effective date that lacks its clause.
        "tests/broken/missing_reference.yaml:10:9: tariffs.job_13_weeks.amounts.all.2020-07-01.reference:"
        " missing required key 'reference'"
        " (every item that moves money must cite the clause of the signed agreement)",
    ],
    "missing_required_key.yaml": [
        "tests/broken/missing_required_key.yaml:7:3: milestones.job_52_weeks.description:"
        " missing required key 'description'",
    ],
    "unknown_prerequisite.yaml": [
        "tests/broken/unknown_prerequisite.yaml:8:21: milestones.job_26_weeks.prerequisites[0]:"
        " unknown milestone 'job_13_week' (did you mean 'job_13_weeks'?)",
    ],
    "prerequisite_cycle.yaml": [
        "tests/broken/prerequisite_cycle.yaml:7:3: milestones.job_13_weeks: prerequisites form a cycle:"
        " job_13_weeks -> job_26_weeks -> job_13_weeks (no milestone can come first)",
    ],
    "unknown_milestone_tariff.yaml": [
        "tests/broken/unknown_milestone_tariff.yaml:7:3: tariffs.job_13_week:"
        " tariff for unknown milestone 'job_13_week' (did you mean 'job_13_weeks'?)",
    ],
    "group_not_admitted.yaml": [
        "tests/broken/group_not_admitted.yaml:12:7: tariffs.job_13_weeks.amounts.flexjob_visitated:"
        " tariff for target group 'flexjob_visitated', which the contract does not admit"
        " (add it to eligibility.citizens.target_groups or remove this line)",
    ],
    "payer_shares.yaml": [
        "tests/broken/payer_shares.yaml:7:3: payment.payers: payer shares sum to 0.9, not 1"
        " (adjust the shares so they add up to exactly 1)",
    ],
    "cap_below_tariff.yaml": [
        "tests/broken/cap_below_tariff.yaml:8:27: caps.per_participant.2019-01-01.value:"
        " cap 20000.00 is below the largest single citizen tariff 30000.00"
        " (no such outcome could ever be paid in full; raise the cap or lower the tariff)",
    ],
    "amendment_overlap.yaml": [
        "tests/broken/amendment_overlap.yaml:9:7: milestones.job_13_weeks.amendments.2019-01-01:"
        " an amendment from 2019-01-01 overlaps the original definition, in force from the term start 2019-01-01"
        " (edit the definition itself, or date the amendment after the term start)",
    ],
    "unknown_benefit_code.yaml": [
        "tests/broken/unknown_benefit_code.yaml:11:30: eligibility.citizens.baseline.codes[1]:"
        " unknown benefit code 'kontanthjalp' (did you mean 'kontanthjaelp'?)",
    ],
    "first_date_after_start.yaml": [
        "tests/broken/first_date_after_start.yaml:9:7: caps.per_milestone.job_13_weeks.2019-02-01:"
        " nothing is in force from the term start 2019-01-01: the first effective date is 2019-02-01"
        " (date the first value 2019-01-01 or earlier)",
    ],
    "unknown_party.yaml": [
        "tests/broken/unknown_party.yaml:7:18: payment.citizen_payee: unknown party 'provder'"
        " (did you mean 'provider'?)",
    ],
    "missing_template.yaml": [
        "tests/broken/missing_template.yaml:2:10: extends:"
        " template not found: ../../contracts/templates/vaekstpartnerskaber-v2.yaml"
        f" (looked for {ROOT / 'contracts/templates/vaekstpartnerskaber-v2.yaml'})",
    ],
    "wrong_kind.yaml": [
        "tests/broken/wrong_kind.yaml:2:7: kind: kind is 'agrement'; this file must be one of: agreement"
        " (the first key of every file says what it is, e.g. 'kind: agreement')",
    ],
    "three_mistakes.yaml": [
        # A target group that does not exist (the nearest real one is too far for a suggestion).
        "tests/broken/three_mistakes.yaml:17:35: eligibility.citizens.target_groups[1]: 'refugee' is not allowed here"
        " (allowed: flexjob_visitated, early_retirement_pension, resource_course, cash_benefit, cash_benefit_youth,"
        " cash_benefit_immigrant, newly_arrived_refugee, other_vulnerable)",
        # A typo: one mistake, one diagnostic (no second "missing required key 'reference'").
        "tests/broken/three_mistakes.yaml:22:5: milestones.citizen_start.refrence: unknown key 'refrence'"
        " (did you mean 'reference'? allowed: side, description, documentation, reference, measure,"
        " prerequisites, repeat, amendments)",
        "tests/broken/three_mistakes.yaml:28:35: tariffs.citizen_start.amounts.all.2019-01-01.value:"
        ' amount 5000.5 must be written in quotes, e.g. "5000.50"'
        " (a number with decimals is only exact in quotes; whole kroner may be written without)",
    ],
}


def test_every_broken_file_has_an_expectation():
    on_disk = {p.name for p in (ROOT / BROKEN).glob("*.yaml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_contract_diagnostics(name):
    assert diagnostics(f"{BROKEN}/{name}") == EXPECTED[name]


def test_diagnostic_fields_match_the_text():
    (d,) = ContractInvalidInfo.of(f"{BROKEN}/unknown_party.yaml")
    assert (d.file, d.line, d.col, d.path) == ("tests/broken/unknown_party.yaml", 7, 18, "payment.citizen_payee")
    assert d.message == "unknown party 'provder'"
    assert d.hint == "did you mean 'provider'?"


class ContractInvalidInfo:
    @staticmethod
    def of(path: str):
        with pytest.raises(ContractInvalid) as info:
            load_contract(path)
        return info.value.diagnostics


# --- security properties: refused fast, without eating memory -----------------------------


@pytest.mark.parametrize("name", ["billion_laughs.yaml", "python_tag.yaml"])
def test_refused_within_a_second(name):
    start = time.perf_counter()
    with pytest.raises(ContractInvalid):
        load_contract(f"{BROKEN}/{name}")
    assert time.perf_counter() - start < 1.0


def test_yaml_bomb_does_not_grow_memory():
    tracemalloc.start()
    try:
        with pytest.raises(ContractInvalid):
            load_contract(f"{BROKEN}/billion_laughs.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


def test_python_tag_is_never_constructed(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    text = f'kind: agreement\nid: x\nversion: !!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(ContractInvalid) as info:
        parse_yaml(text, file="inline.yaml")
    assert [str(d) for d in info.value.diagnostics] == [
        "inline.yaml:3:10: version: tag '!!python/object/apply:os.system' is not allowed"
        " (safe YAML only: plain maps, lists, text, numbers, dates)"
    ]
    assert not marker.exists()


def test_bomb_is_refused_even_with_a_large_node_budget():
    # Cohort files get a far larger node budget; aliases keep their own, fixed one.
    text = (ROOT / BROKEN / "billion_laughs.yaml").read_text()
    start = time.perf_counter()
    with pytest.raises(ContractInvalid) as info:
        parse_yaml(text, file="bomb.yaml", max_bytes=200_000_000, max_nodes=50_000_000)
    assert time.perf_counter() - start < 1.0
    assert [str(d) for d in info.value.diagnostics] == [
        "bomb.yaml:8:1: f: aliases expand to more than 100,000 values"
        " (remove the anchors ('&name') and aliases ('*name') that multiply)"
    ]


# --- files generated at test time ---------------------------------------------------------------


def test_file_too_large(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    head = b"kind: agreement\nid: too-big\n"
    Path("too_big.yaml").write_bytes(head + b"#" * (MAX_BYTES + 1 - len(head) - 1) + b"\n")
    assert Path("too_big.yaml").stat().st_size == 2_000_001
    assert diagnostics("too_big.yaml") == ["too_big.yaml: file is 2,000,001 bytes; the limit is 2,000,000 (split it up)"]


def test_file_at_the_size_limit_is_read(tmp_path, monkeypatch):
    # Exactly MAX_BYTES is allowed: the refusal is about size, not about reaching the limit.
    monkeypatch.chdir(tmp_path)
    head = b"kind: agreement\nid: big\n"
    Path("big.yaml").write_bytes(head + b"#" * (MAX_BYTES - len(head) - 1) + b"\n")
    with pytest.raises(ContractInvalid) as info:
        load_contract("big.yaml")
    assert all("limit" not in d.message for d in info.value.diagnostics)


def test_non_utf8_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 'København' saved as Latin-1: the ø is the single byte 0xF8, the 9th character of line 3.
    Path("latin1.yaml").write_bytes("kind: agreement\nid: latin1\ntitle: København\n".encode("latin-1"))
    assert diagnostics("latin1.yaml") == [
        "latin1.yaml:3:9: the file is not UTF-8 text (byte 0xf8 cannot be read) (save the file with the encoding UTF-8)"
    ]


def test_non_utf8_column_counts_characters_not_bytes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 'Århus' in UTF-8 (Å is two bytes), then a Latin-1 æ: the bad byte is the 14th character.
    Path("mixed.yaml").write_bytes("kind: agreement\ntitle: Århus ".encode() + b"\xe6\n")
    assert diagnostics("mixed.yaml") == [
        "mixed.yaml:2:14: the file is not UTF-8 text (byte 0xe6 cannot be read) (save the file with the encoding UTF-8)"
    ]


# --- small YAML-level refusals that must not crash --------------------------------------------------


def test_hex_integer_key_does_not_crash():
    assert parse_yaml("0x1F: a\n").data == {31: "a"}


def test_deep_nesting_refused():
    with pytest.raises(ContractInvalid):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n")


def test_recursive_alias_refused():
    with pytest.raises(ContractInvalid) as info:
        parse_yaml("a: &a [*a]\n", file="r.yaml")
    assert [str(d) for d in info.value.diagnostics] == ["r.yaml:1:4: nesting deeper than 64 levels"]


# --- the bundled contracts are clean -------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "contracts/agreements").glob("*.yaml") if not p.name.endswith(".scenarios.yaml")))
def test_bundled_contracts_load_clean(path):
    loaded = load_contract(path)
    assert loaded.contract.kind == "agreement"
    assert loaded.path == path


def test_there_are_bundled_contracts():
    assert len(list((ROOT / "contracts/agreements").glob("*.yaml"))) >= 3

"""The team's regression guard: what every bundled agreement produces, committed byte for byte.

For each agreement in ``contracts/agreements/`` this makes the outputs of the main commands
in their machine and human formats, and ``tests/test_expected_outputs.py`` makes them again
in memory and compares them with the files committed here, byte for byte:

- ``render.md``, ``render.en.md``: ``pbr render`` (the agreement's language, and English);
- ``scenarios.json``, ``scenarios.explain.txt``: each worked example of the agreement's
  ``*.scenarios.yaml`` evaluated as of its date (``pbr evaluate --format json`` and
  ``--explain``, one after the other in the scenarios' order);
- ``fixtures.json``, ``fixtures.explain.txt``: the same for the bundled participant and company
  histories of ``fixtures/participants/<code>/`` and ``fixtures/companies/<code>/``;
- ``cohort.json``, ``cohort.txt``, ``cohort.csv``: ``pbr evaluate --cohort`` on a deterministic
  sample of ``fixtures/cohorts/<name>-1000.jsonl`` (every 20th line, from the first), each
  history as of its extraction date;
- ``settle.json``, ``settle.txt`` (with ``--details``), ``settle.csv``: ``pbr settle --dry-run``
  against an empty ledger of the sample and the bundled histories, as of ``SETTLE_AS_OF``.

For each illustrative example in ``contracts/examples/`` (England, GBP; Finland, EUR; ``examples/<name>/``):
``render.md``, ``scenarios.json``, ``scenarios.explain.txt``, and ``cohort.*`` and ``settle.*``
on every 20th line of its cohort ``fixtures/cohorts/<name>-300.jsonl``, settled as of
``EXAMPLES_SETTLE_AS_OF`` (after every extraction date of those cohorts). The examples have
no bundled fixture histories and stay out of the Danish programme's business case.

and once for the programme, across the three agreements (``business-case/``):
``business-case.json``, ``.txt``, ``.csv`` (the months) and ``.html`` (the report, without the
simulation) for the samples and the bundled histories as of ``SETTLE_AS_OF``.

Settlement and the business case are made in the agreement's language (``language: da``)
from the start, as the commands do by default (their verdicts and notes are worded in it);
an evaluation is in English, as ``pbr evaluate`` writes it.

Regenerate ONLY for an intended change of output, and review the diff before committing it:

    .venv/bin/python tests/expected/regenerate.py          # rewrite the files
    .venv/bin/python tests/expected/regenerate.py --check  # compare only (exit 1 on a difference)

A difference you did not intend is a regression: fix the code, not the expected files.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent
AGREEMENTS = ROOT / "contracts" / "agreements"
FIXTURES = ROOT / "fixtures"
SAMPLE_EVERY = 20
SETTLE_AS_OF = date(2021, 12, 31)
DISCOUNT_RATE = Decimal("0.04")
# the cohort of each agreement, by municipality code
COHORTS = {"101": "koebenhavn-1000.jsonl", "461": "odense-1000.jsonl", "751": "aarhus-1000.jsonl"}
EXAMPLES = ROOT / "contracts" / "examples"
EXAMPLE_COHORTS = {
    "e08000025-employment-programme": "employment-programme-300.jsonl",
    "e08000035-youth-rate-card": "youth-rate-card-300.jsonl",
    "fi-091-koto-sib": "fi-koto-sib-200.jsonl",  # every 20th is one pattern; tests/test_examples_fi.py works all ten by hand
}
EXAMPLES_SETTLE_AS_OF = date(2028, 3, 1)
# The Finnish cohort's histories follow ten patterns in turn: every 7th line (not every 20th,
# which is one pattern) samples each pattern, so the sample's netting shows.
EXAMPLE_SAMPLE_EVERY = {"fi-091-koto-sib": 7}


def _sample(code: str, known_codes: frozenset[str] | None):
    """Every ``SAMPLE_EVERY``-th history of the agreement's bundled cohort, from the first (deterministic)."""
    from pbr_rules.language import load_cohort

    return load_cohort(FIXTURES / "cohorts" / COHORTS[code], known_codes)[::SAMPLE_EVERY]


def _bundled(code: str, known_codes: frozenset[str] | None):
    """The bundled participant and company histories of a municipality, in file-name order."""
    from pbr_rules.language import load_history

    files = sorted((FIXTURES / "participants" / code).glob("*.yaml")) + sorted((FIXTURES / "companies" / code).glob("*.yaml"))
    return [load_history(f, known_codes) for f in files]


def _json_list(results) -> str:
    from pbr_rules.reports import to_json

    return to_json(list(results))


def _agreement_outputs(path: Path) -> dict[str, str]:
    from pbr_rules.evaluation import evaluate, evaluate_cohort, load_checked_contract, load_scenarios
    from pbr_rules.i18n import use_language
    from pbr_rules.language import history_from_data
    from pbr_rules.lawyers import render_contract
    from pbr_rules.models.history import ParticipantHistory
    from pbr_rules.reports import cohort_text, payments_csv, result_text, settlement_csv, settlement_text, to_json
    from pbr_rules.settlement import settle

    out: dict[str, str] = {}
    loaded = load_checked_contract(path)
    c = loaded.contract
    codes = frozenset(loaded.codes.codes)
    with use_language(c.language):
        out["render.md"] = render_contract(loaded, "md")
    with use_language("en"):
        out["render.en.md"] = render_contract(loaded, "md")

    # the agreement's worked examples, each as of its own date
    ls = load_scenarios(path.with_name(path.stem + ".scenarios.yaml"))
    results = []
    for i, sc in enumerate(ls.scenarios.scenarios):
        history = history_from_data(sc.history, ls.source, codes, ("scenarios", i, "history"))
        hired = [history_from_data(p, ls.source, codes, ("scenarios", i, "participants", k)) for k, p in enumerate(sc.participants)]
        participants = {p.participant: p for p in hired if isinstance(p, ParticipantHistory)}
        results.append(evaluate(ls.contract, history, sc.as_of, sc.eligible_participants, participants))
    out["scenarios.json"] = _json_list(results)
    out["scenarios.explain.txt"] = "\n".join(result_text(r, explain=True) for r in results)

    # the bundled histories, each as of its extraction date
    bundled = _bundled(c.municipality.code, codes)
    results = [evaluate(loaded, h, None) for h in bundled]
    out["fixtures.json"] = _json_list(results)
    out["fixtures.explain.txt"] = "\n".join(result_text(r, explain=True) for r in results)

    # a sample of the bundled cohort, each as of its extraction date
    sample = _sample(c.municipality.code, codes)
    results = evaluate_cohort(loaded, sample, None, workers=1)
    out["cohort.json"] = to_json(results)
    out["cohort.txt"] = cohort_text(results)
    out["cohort.csv"] = payments_csv(results)

    # the settlement of the sample and the bundled histories against an empty ledger, in the
    # agreement's language from the start, as 'pbr settle' does
    with use_language(c.language):
        s = settle(loaded, sample + bundled, SETTLE_AS_OF, workers=1)
        out["settle.json"] = to_json(s)
        out["settle.txt"] = settlement_text(s, details=True)
        out["settle.csv"] = settlement_csv(s)
    return out


def _business_case_outputs(paths: list[Path]) -> dict[str, str]:
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.finance import business_case
    from pbr_rules.i18n import use_language
    from pbr_rules.reports import business_case_csv, business_case_text, render_report, to_json

    contracts = [load_checked_contract(p) for p in paths]
    histories = []
    for lc in contracts:
        code = lc.contract.municipality.code
        histories += _sample(code, None) + _bundled(code, None)
    languages = {lc.contract.language for lc in contracts}
    lang = languages.pop() if len(languages) == 1 else "en"
    with use_language(lang):  # from the start, as 'pbr business-case' does: the verdicts are worded in it
        report = business_case(contracts, histories, SETTLE_AS_OF, DISCOUNT_RATE, workers=1)
        return {
            "business-case.json": to_json(report),
            "business-case.csv": business_case_csv(report),
            "business-case.txt": business_case_text(report),
            "business-case.html": render_report(report, None),
        }


def _example_outputs(path: Path) -> dict[str, str]:
    """An example's render, worked examples, cohort sample and settlement (in English, its language)."""
    from pbr_rules.evaluation import evaluate, evaluate_cohort, load_checked_contract, load_scenarios
    from pbr_rules.i18n import use_language
    from pbr_rules.language import history_from_data, load_cohort
    from pbr_rules.lawyers import render_contract
    from pbr_rules.reports import cohort_text, payments_csv, result_text, settlement_csv, settlement_text, to_json
    from pbr_rules.settlement import settle

    out: dict[str, str] = {}
    loaded = load_checked_contract(path)
    with use_language(loaded.contract.language):
        out["render.md"] = render_contract(loaded, "md")
        ls = load_scenarios(path.with_name(path.stem + ".scenarios.yaml"))
        results = [
            evaluate(ls.contract, history_from_data(sc.history, ls.source, loaded.known, ("scenarios", i, "history")), sc.as_of)
            for i, sc in enumerate(ls.scenarios.scenarios)
        ]
        out["scenarios.json"] = _json_list(results)
        out["scenarios.explain.txt"] = "\n".join(result_text(r, explain=True) for r in results)
        sample = load_cohort(FIXTURES / "cohorts" / EXAMPLE_COHORTS[path.stem], loaded.known)[:: EXAMPLE_SAMPLE_EVERY.get(path.stem, SAMPLE_EVERY)]
        results = evaluate_cohort(loaded, sample, None, workers=1)
        out["cohort.json"] = to_json(results)
        out["cohort.txt"] = cohort_text(results)
        out["cohort.csv"] = payments_csv(results)
        s = settle(loaded, sample, EXAMPLES_SETTLE_AS_OF, workers=1)
        out["settle.json"] = to_json(s)
        out["settle.txt"] = settlement_text(s, details=True)
        out["settle.csv"] = settlement_csv(s)
    return out


def example_files() -> list[Path]:
    """The illustrative examples: the English ones and the Finnish one."""
    return sorted(EXAMPLES / f"{stem}.yaml" for stem in EXAMPLE_COHORTS)


def agreement_files() -> list[Path]:
    return sorted(p for p in AGREEMENTS.glob("*.yaml") if not p.name.endswith(".scenarios.yaml"))


def outputs() -> dict[str, str]:
    """Every expected file, relative path -> text."""
    out: dict[str, str] = {}
    paths = agreement_files()
    for path in paths:
        for name, text in _agreement_outputs(path).items():
            out[f"{path.stem}/{name}"] = text
    for name, text in _business_case_outputs(paths).items():
        out[f"business-case/{name}"] = text
    for path in example_files():
        for name, text in _example_outputs(path).items():
            out[f"examples/{path.stem}/{name}"] = text
    return out


def committed() -> dict[str, str]:
    """The expected files committed here, relative path -> text (``simulation/`` is
    tests/test_simulation_expected.py's: pbr simulate's recorded output)."""
    return {
        str(p.relative_to(EXPECTED)): p.read_text(encoding="utf-8")
        for p in sorted(EXPECTED.rglob("*"))
        if p.is_file() and p.suffix in {".json", ".txt", ".csv", ".md", ".html"} and p.parent != EXPECTED
        and p.relative_to(EXPECTED).parts[0] != "simulation"
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files; write nothing")
    args = parser.parse_args(argv)
    made = outputs()
    if args.check:
        have = committed()
        differ = sorted(k for k in made.keys() | have.keys() if made.get(k) != have.get(k))
        for k in differ:
            print(f"differs: tests/expected/{k}", file=sys.stderr)
        return 1 if differ else 0
    for old in committed():
        if old not in made:
            (EXPECTED / old).unlink()
    for name, text in made.items():
        target = EXPECTED / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    print(f"wrote {len(made)} files under tests/expected/; review the diff (git diff --stat tests/expected) before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())

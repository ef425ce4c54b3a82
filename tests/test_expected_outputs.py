"""Every bundled agreement gives the committed output, byte for byte (issue 11's acceptance test).

``tests/expected/regenerate.py`` makes the outputs of the main commands (evaluate with and
without ``--explain``, a cohort, settle, the business case, render) for every agreement in
``contracts/agreements/``; this test makes them again in memory and compares them with the
files committed under ``tests/expected/``. A difference is a regression unless the change
was meant: then regenerate (``.venv/bin/python tests/expected/regenerate.py``) and review
the diff in the same commit as the change (tests/expected/README.md).
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

EXPECTED = Path(__file__).resolve().parent / "expected"


def _generator():
    spec = importlib.util.spec_from_file_location("pbr_expected_outputs", EXPECTED / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated():
    gen = _generator()
    return gen.outputs(), gen.committed()


def test_every_expected_file_is_made_and_nothing_else(generated):
    made, have = generated
    assert sorted(made) == sorted(have), "regenerate tests/expected (see its README) and review the diff"


def test_bundled_agreements_give_the_committed_output_byte_for_byte(generated):
    made, have = generated
    differ = []
    for name in sorted(made.keys() & have.keys()):
        if made[name] != have[name]:
            diff = difflib.unified_diff(
                have[name].splitlines(), made[name].splitlines(), f"expected/{name}", f"now/{name}", lineterm="", n=1
            )
            differ.append("\n".join(list(diff)[:40]))
    assert not differ, (
        f"{len(differ)} expected file(s) differ (first lines of each diff below). A change you meant: regenerate with "
        "'.venv/bin/python tests/expected/regenerate.py' and review the diff; one you did not: fix the code.\n\n" + "\n\n".join(differ)
    )


def test_every_bundled_agreement_is_covered(generated):
    made, _ = generated
    agreements = _generator().agreement_files()
    assert agreements
    for path in agreements:
        for name in ("scenarios.json", "scenarios.explain.txt", "cohort.json", "settle.json", "settle.txt", "render.md"):
            assert f"{path.stem}/{name}" in made

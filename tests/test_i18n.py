"""Danish output (pbr_rules.i18n): formats, the message catalogue, and each command in Danish.

Every expected Danish string is written out by hand: how a Danish municipal reader writes
an amount (30.000,00 kr.), a date (1. juli 2020) and a percentage (12,5 %).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from pbr_rules.cli import main
from pbr_rules.language import load_contract
from pbr_rules.i18n import (
    LOCALE_DIR,
    _,
    catalogue,
    current_language,
    format_amount,
    format_date,
    format_money,
    format_percent,
    format_whole,
    use_language,
)

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "pbr_rules"
KBH = str(ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml")
TILLAEG_3 = str(ROOT / "fixtures" / "amendments" / "101-koebenhavn-tillaeg-3.yaml")
PARTICIPANTS = str(ROOT / "fixtures" / "participants" / "101")
D = Decimal


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("30000", "30.000,00 kr."),
        ("30000.5", "30.000,50 kr."),
        ("-1250.5", "-1.250,50 kr."),
        ("0", "0,00 kr."),
        ("0.005", "0,01 kr."),  # half-up to whole øre, as everywhere in pbr-rules
        ("1234567.89", "1.234.567,89 kr."),
    ],
)
def test_money_in_danish(amount, expected):
    assert format_money(D(amount), "DKK", "da") == expected


def test_money_in_english_is_unchanged():
    assert format_money(D("30000"), "DKK", "en") == "DKK 30,000.00"
    assert format_amount(D("30000.5"), "en") == "30,000.50"
    assert format_whole(D("1674000"), "en") == "1,674,000"


def test_amounts_in_danish_tables():
    assert format_amount(D("654000"), "da") == "654.000,00"
    assert format_amount(D("-18000"), "da") == "-18.000,00"
    assert format_whole(D("1674000.40"), "da") == "1.674.000"
    assert format_whole(D("-82813.22"), "da") == "-82.813"


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2020, 7, 1), "1. juli 2020"),
        (date(2019, 1, 15), "15. januar 2019"),
        (date(2021, 12, 31), "31. december 2021"),
        (date(2022, 5, 2), "2. maj 2022"),
    ],
)
def test_dates_in_danish(day, expected):
    assert format_date(day, "da") == expected


def test_dates_in_english_stay_iso():
    assert format_date(date(2020, 7, 1), "en") == "2020-07-01"


def test_percentages():
    assert format_percent(D("0.125"), lang="da") == "12,5 %"
    assert format_percent(D("1.105"), lang="da") == "110,5 %"
    assert format_percent(D("0.125"), lang="en") == "12.5 %"
    assert format_percent(D("0.8234"), lang="da") == "82,3 %"


def test_the_language_is_per_context():
    assert current_language() == "en"
    with use_language("da"):
        assert _("Caps") == "Lofter"
        with use_language("en"):
            assert _("Caps") == "Caps"
        assert format_money(D("5000"), "DKK") == "5.000,00 kr."
    assert _("Caps") == "Caps"
    with pytest.raises(ValueError, match="unknown language 'de'; use one of da, en"):
        with use_language("de"):
            pass


# --- the catalogue ----------------------------------------------------------------------------


# as babel.cfg: the Python code and the web workspace's templates
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _messages_in_code() -> set[str]:
    out = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(SRC), method_map=METHODS):
        if isinstance(message, str) and message:
            out.add(message)
    return out


def test_every_message_in_the_code_has_a_danish_translation():
    in_code = _messages_in_code()
    assert len(in_code) > 250  # the extractor found the messages (a wrong path would find none)
    danish = catalogue("da")
    missing = sorted(m for m in in_code if m not in danish)
    assert not missing, f"add Danish translations (run 'make messages', then edit the .po) for: {missing}"


def test_the_template_is_up_to_date_and_nothing_is_fuzzy():
    with (LOCALE_DIR / "pbr_rules.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == _messages_in_code(), "run 'make messages'"
    with (LOCALE_DIR / "da" / "LC_MESSAGES" / "pbr_rules.po").open("rb") as f:
        po = read_po(f, locale="da")
    assert not [m.id for m in po if m.id and m.fuzzy]


def test_translations_keep_every_placeholder():
    for msgid, text in catalogue("da").items():
        assert sorted(re.findall(r"\{[a-z_]*\}", msgid)) == sorted(re.findall(r"\{[a-z_]*\}", text)), msgid


def test_the_catalogue_ships_with_the_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.po"' in text


# --- commands in Danish ---------------------------------------------------------------------


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_render_is_danish_for_the_bundled_agreements(capsys):
    code, out, err = run(capsys, "render", KBH)
    assert code == 0, err
    assert "- **Underskrevet:** 15. januar 2019" in out
    assert "- **Løbetid:** 1. januar 2019 til 30. september 2022, begge dage inklusive" in out
    assert "## Milepæle og takster" in out
    assert "| alle målgrupper | 1. juli 2020 | 36.000,00 kr. | Tillæg 1, § 2 |" in out
    assert "DKK 36,000.00" not in out
    code, out, _err = run(capsys, "render", KBH, "--lang", "en")
    assert "- **Signed:** 2019-01-15" in out and "## Milestones and tariffs" in out


def test_render_html_says_its_language(capsys):
    _code, out, _err = run(capsys, "render", KBH, "--format", "html")
    assert '<html lang="da">' in out
    _code, out, _err = run(capsys, "render", KBH, "--format", "html", "--lang", "en")
    assert '<html lang="en">' in out


def test_an_agreement_without_a_language_stays_english(capsys, tmp_path):
    text = Path(KBH).read_text(encoding="utf-8").replace("language: da\n", "")
    (tmp_path / "agreements").mkdir()
    english = tmp_path / "agreements" / "101.yaml"
    templates = os.path.relpath(ROOT / "contracts" / "templates", english.parent)  # extends is relative to the agreement
    english.write_text(text.replace("../templates/", templates + "/"), encoding="utf-8")
    code, out, err = run(capsys, "render", str(english))
    assert code == 0, err
    assert "- **Signed:** 2019-01-15" in out


def test_settle_in_danish(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    common = ["settle", "--contract", KBH, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31", "--dry-run", "--workers", "1", "--database", str(tmp_path / "l.db")]
    code, out, err = run(capsys, *common, "--format", "json")
    s = json.loads(out)
    # 13 histories: 654,000 settled (p-101-013's six self-support blocks capped at 3,000 each: 18,000 not paid).
    assert (s["total"], s["refused"]) == ("654000.00", "18000.00")
    code, out, err = run(capsys, *common)
    assert code == 0, err
    lines = out.splitlines()
    content = load_contract(KBH).content_hash[:12]
    assert lines[0] == f"Afregning af dk-101-koebenhavn version 1.2 (indhold {content}) pr. 31. december 2021"
    assert lines[1] == "Afregnet til dato 654.000,00 kr.; forfalder nu 654.000,00 kr.; ikke betalt på grund af lofter, trin eller kohortestørrelsen 18.000,00 kr."
    assert lines[2] == "70 betalinger: 64 betalt fuldt ud, 0 nedsat, 6 ikke betalt (0 efter lofter, trin eller kohortestørrelsen)"
    # A column of amounts names its currency in its header (kr. in Danish).
    assert "årsag              betalinger  ændring (kr.)  bestemmelse" in lines
    assert "loft pr. deltager  6           -18.000,00     § 8.1" in lines
    # no ledger database at l.db: the dry run creates none, and says so
    assert err == f"ingen hovedbogsdatabase i {tmp_path / 'l.db'}: intet bogført at sammenligne med (en prøvekørsel opretter ingen)\nprøvekørsel: intet blev bogført i hovedbogen\n"


def test_diff_in_danish(capsys):
    code, out, _err = run(capsys, "diff", KBH, TILLAEG_3)
    assert code == 1
    assert "Ændringer, der påvirker betalinger (3):" in out
    assert (
        "    - sænket: job_13_weeks, alle målgrupper: 30.000,00 kr. fra 1. juli 2021"
        " (de gamle vilkår havde 36.000,00 kr. gældende på det tidspunkt)  [Tillæg 3, § 1; Bilag 2, pkt. 5]"
    ) in out
    assert out.rstrip().endswith("3 ændring(er) påvirker betalinger; registrér dem i contracts/CHANGELOG.yaml.")
    # every change line in Danish, not only the tariffs
    assert "    - udvidet: højeste alder 64 -> 67  [§ 3.1]" in out
    assert "    - hævet: loft pr. deltager: 150.000,00 kr. fra 1. juli 2021" in out
    assert "    - omformuleret: job_13_weeks: beskrivelse omformuleret  [§ 4.5]" in out


def test_business_case_of_the_whole_contracts_folder_writes_in_the_language_of_the_agreements_reported(capsys):
    # The folder also holds English examples (contracts/examples) with no histories in this
    # cohort: they are not reported on, so they do not make the report English.
    code, out, err = run(capsys, "business-case", "--cohort", PARTICIPANTS, "--as-of", "2022-09-30", "--workers", "1")
    assert code == 0, err
    assert out.startswith("Business case pr. 30. september 2022, diskonteringsrente")


def test_business_case_in_danish(capsys, tmp_path):
    code, out, err = run(capsys, "business-case", "--contract", KBH, "--cohort", PARTICIPANTS, "--as-of", "2022-09-30", "--workers", "1", "--format", "json", "--lang", "en")
    case = json.loads(out)["municipalities"][0]
    code, out, err = run(capsys, "business-case", "--contract", KBH, "--cohort", PARTICIPANTS, "--as-of", "2022-09-30", "--workers", "1")
    assert code == 0, err
    assert out.startswith("Business case pr. 30. september 2022, diskonteringsrente")
    savings = format_money(D(case["savings"]), "DKK", "da")
    # Participants only (no companies): København's savings exceed what it paid, a YES.
    paid = D(case["municipal_outcome_payments"]) + D(case["municipal_course_costs"])
    assert D(case["net_result"]) > 0
    assert out.splitlines()[2:4] == [
        "Kan besparelserne finansiere forløbene?",
        f"København: JA, besparelserne finansierer forløbene: besparelserne på {savings} pr. 30. september 2022 overstiger"
        f" de {format_money(paid, 'DKK', 'da')}, som kommunens resultatbetalinger og egne forløbsudgifter beløb sig til,"
        f" med {format_money(D(case['net_result']), 'DKK', 'da')}; break-even {case['break_even_month']}."
        f" Fremskrevet til 5 år efter optagelsen: {format_money(D(case['projected_savings']), 'DKK', 'da')} yderligere besparelser,"
        f" netto {format_money(D(case['projected_net_result']), 'DKK', 'da')}: JA, besparelserne forventes at finansiere forløbene.",
    ]
    report = tmp_path / "case.html"
    code, _out, err = run(capsys, "business-case", "--contract", KBH, "--cohort", PARTICIPANTS, "--as-of", "2022-09-30", "--workers", "1", "--html", str(report), "--runs", "0")
    html = report.read_text(encoding="utf-8")
    assert '<html lang="da">' in html and "<h1>Business case: kan besparelserne finansiere forløbene?</h1>" in html
    assert f"<td>Besparelser på ydelser, realiseret til opgørelsesdatoen</td><td>{savings}</td>" in html


def test_error_hints_in_danish(capsys):
    code, out, _err = run(capsys, "validate", str(ROOT / "tests" / "broken" / "danish_thousands.yaml"), "--lang", "da")
    assert code == 1
    assert (
        "tariffs.job_13_weeks.amounts.all.2019-01-01.value: beløbet 38.000 bruger '.' som tusindtalsseparator"
        ' (dansk skrivemåde); skriv "38000" (beløb skrives uden tusindtalsseparator og med \'.\' før ørerne,'
        ' i anførselstegn: 30.000,50 kr. skrives "30000.50")'
    ) in out
    code, out, _err = run(capsys, "validate", str(ROOT / "tests" / "broken" / "unknown_key_typo.yaml"), "--lang", "da")
    assert "tarifs: ukendt nøgle 'tarifs' (mente du 'tariffs'? tilladt: kind, id," in out


def test_a_danish_command_does_not_leave_the_process_danish(capsys):
    run(capsys, "render", KBH)
    assert current_language() == "en"
    assert _("Caps") == "Caps"


def test_validate_and_a_recorded_settlement_in_danish(capsys, tmp_path, monkeypatch):
    content = load_contract(KBH).content_hash[:12]
    code, out, _err = run(capsys, "validate", KBH)
    assert code == 0
    assert out.splitlines() == [
        f"ok    {KBH}: dk-101-koebenhavn v1.2: København (101), løbetid 2019-01-01..2022-09-30, 17 milepæle, 17 takster,"
        f" indhold {content} [illustrativ]",
        "1 filer kontrolleret, ingen problemer.",
    ]
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    code, _out, err = run(capsys, "settle", "--contract", KBH, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31", "--workers", "1", "--database", str(tmp_path / "l.db"))
    assert code == 0
    assert err.splitlines()[0] == "Kørsel 1: dk-101-koebenhavn afregning nr. 1 pr. 31. december 2021 (forrige kørsel ingen: den første)"
    assert "  afregnet til dato 654.000,00 kr.; forfalder nu 654.000,00 kr.; ikke betalt på grund af lofter, trin eller kohortestørrelsen 18.000,00 kr." in err

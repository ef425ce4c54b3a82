"""Synthetic municipal extracts for tests, the benchmark and demonstrations of ``pbr import``.

``write_extracts(folder, persons, seed)`` writes a mapping file and the five files it names,
laid out and written as Danish municipal systems write them: ';' between fields, a UTF-8
byte-order mark, Danish column names, DREAM week columns ``y_YYWW``, dates as DD-MM-YYYY in
the attendance export, amounts with a decimal comma. The CPR numbers are made up (valid
in form: a real birth date and the century digit that goes with it). With ``bad_rows``
the files also hold one row of each kind of mistake, returned as the problems an import
must report. The same seed writes the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

EXTRACTED = date(2020, 12, 31)
FIRST_WEEK = (2019, 1)
LOCAL_CODES = {"130": "kontanthjaelp", "131": "uddannelseshjaelp", "740": "ressourceforloebsydelse", "641": "fleksloentilskud", "890": "sygedagpenge"}
LOCAL_GROUPS = {"KH": "cash_benefit", "UNG": "cash_benefit_youth", "RF": "resource_course", "FLEX": "flexjob_visitated"}
COMPANIES = [("31000001", 8, "01-03-2019", "ja"), ("31000002", 40, "01-04-2019", "ja"), ("31000003", 120, "01-09-2019", "nej")]


@dataclass(frozen=True)
class Written:
    mapping: Path
    cprs: list[str]  # every CPR number written (for checks that none survives an import)
    bad: list[tuple[str, int, str]]  # (file name, row, the start of the reason an import gives)


def _weeks() -> list[tuple[int, int]]:
    out = []
    day = date.fromisocalendar(*FIRST_WEEK, 1)
    while day <= EXTRACTED - timedelta(days=6):
        y, w, _ = day.isocalendar()
        out.append((y, w))
        day += timedelta(days=7)
    return out


def _cpr(rng: random.Random) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    seventh = rng.randrange(0, 4) if born.year < 2000 else 4
    return f"{born:%d%m%y}-{seventh}{rng.randrange(1000):03d}"


def write_extracts(
    folder: str | Path, persons: int = 200, seed: int = 1, *, bad_rows: bool = True, cohort_share: float = 1.0,
    benefit_codes: str | Path | None = None,
) -> Written:
    """Write the extracts of ``persons`` people (a ``cohort_share`` of them enrolled) into ``folder``.

    ``benefit_codes``: the vocabulary the mapping names (default: the repository's contracts/data/benefit-codes.yaml)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"pbr-import:{seed}")
    weeks = _weeks()
    cprs: list[str] = []
    seen = set()
    while len(cprs) < persons:
        c = _cpr(rng)
        if c not in seen:
            seen.add(c)
            cprs.append(c)
    bad: list[tuple[str, int, str]] = []

    participants = ["cpr;startdato;maalgruppe;bopael"]
    register = ["cpr;kommune;" + ";".join(f"y_{y % 100:02d}{w:02d}" for y, w in weeks)]
    income = ["cpr;maaned;timer;loen;cvr"]
    attendance = ["cpr;dato;modul"]
    enrolled = []
    for i, c in enumerate(cprs):
        in_cohort = rng.random() < cohort_share
        start_week = rng.randrange(20, len(weeks) - 30)
        ey, ew = weeks[start_week]
        enrolment = date.fromisocalendar(ey, ew, 3)
        group = rng.choice(list(LOCAL_GROUPS))
        code = {"KH": "130", "UNG": "131", "RF": "740", "FLEX": "641"}[group]
        job_from = start_week + rng.randrange(4, 26) if rng.random() < 0.5 else None
        cells = []
        for k in range(len(weeks)):
            if job_from is not None and k >= job_from and group != "FLEX":
                cells.append("")
            elif rng.random() < 0.03:
                cells.append("890")
            else:
                cells.append(code)
        register.append(f"{c};101;" + ";".join(cells))
        if not in_cohort:
            continue
        enrolled.append(c)
        participants.append(f"{c};{enrolment.isoformat()};{group};ja")
        if job_from is not None:
            jy, jw = weeks[job_from]
            first = date.fromisocalendar(jy, jw, 1)
            month = date(first.year, first.month, 1)
            employer = rng.choice(COMPANIES)[0] if rng.random() < 0.3 else f"3{rng.randrange(10**7):07d}"
            hours = rng.choice([60, 87, 120, 160])
            while month <= EXTRACTED:
                pay = hours * rng.choice([130, 145, 160])
                income.append(f"{c};{month:%Y-%m};{hours};{pay // 1000}.{pay % 1000:03d},00;{employer}")
                month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        for s in range(rng.randrange(0, 12)):
            day = enrolment + timedelta(days=7 * s + rng.randrange(3))
            if day <= EXTRACTED:
                attendance.append(f"{c};{day:%d-%m-%Y};modul {s % 4 + 1}")

    companies = ["cvr;aar;ansatte;start;partner"]
    for cvr, employees, start, partner in COMPANIES:
        for year in (2019, 2020):
            companies.append(f"{cvr};{year};{employees + (year - 2019)};{start};{partner}")

    if bad_rows:
        # a register row whose person column is not a CPR number
        register.append("12345;101;" + ";".join("" for _ in weeks))
        bad.append(("dream.csv", len(register), "the person column does not hold a valid CPR number"))
        # an unknown local benefit code in one week of an enrolled person: that person is not imported
        row = register.index(next(r for r in register if r.startswith(enrolled[1] + ";")))
        cells = register[row].split(";")
        cells[2 + 10] = "999"
        register[row] = ";".join(cells)
        bad.append(("dream.csv", row + 1, f"week {weeks[10][0]}-W{weeks[10][1]:02d} (y_{weeks[10][0] % 100:02d}{weeks[10][1]:02d}): benefit code '999'"))
        # the same person twice in the register
        register.append(next(r for r in register if r.startswith(enrolled[2] + ";")))
        bad.append(("dream.csv", len(register), "the same person as row"))
        # an income row with a month that does not exist, and one with hours that are not a number
        income.append(f"{enrolled[3]};2020-13;80;10.000,00;31000001")
        bad.append(("eindkomst.csv", len(income), "month '2020-13' is not YYYY-MM or YYYYMM"))
        income.append(f"{enrolled[4]};2020-06;mange;10.000,00;31000001")
        bad.append(("eindkomst.csv", len(income), "hours 'mange' is not a number of hours"))
        # an attendance row on a day that does not exist
        attendance.append(f"{enrolled[5]};31-02-2020;modul 1")
        bad.append(("fremmoede.csv", len(attendance), "date '31-02-2020' is not a date"))
        # a participant with a target group the mapping does not know, and one with an impossible enrolment
        participants.append(f"{_cpr(rng)};2020-03-04;XX;ja")
        bad.append(("deltagere.csv", len(participants), "target group 'XX' is not in the mapping"))
        participants.append(f"{_cpr(rng)};2020-02-30;KH;ja")
        bad.append(("deltagere.csv", len(participants), "enrolment '2020-02-30' is not a date"))
        # a company row with a negative head count
        companies.append("31000009;2020;-3;01-05-2019;ja")
        bad.append(("virksomheder.csv", len(companies), "employees '-3' is not a number"))

    def write(name: str, lines: list[str]) -> None:
        (folder / name).write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8", newline="")

    write("deltagere.csv", participants)
    write("dream.csv", register)
    write("eindkomst.csv", income)
    write("fremmoede.csv", attendance)
    write("virksomheder.csv", companies)
    codes = Path(benefit_codes) if benefit_codes else Path(__file__).resolve().parents[3] / "contracts" / "data" / "benefit-codes.yaml"
    mapping = folder / "mapping.yaml"
    mapping.write_text(
        "kind: import_mapping\n"
        "description: Synthetic extracts of Københavns Kommune, made up by pbr_rules.importers.synthetic\n"
        'municipality: "101"\n'
        f'extracted: "{EXTRACTED.isoformat()}"\n'
        f"benefit_codes: {codes.as_posix()}\n"
        "participants:\n"
        "  file: deltagere.csv\n"
        "  columns: {person: cpr, enrolment: startdato, target_group: maalgruppe, resident: bopael}\n"
        "  target_groups: {" + ", ".join(f"{k}: {v}" for k, v in LOCAL_GROUPS.items()) + "}\n"
        "benefits:\n"
        "  file: dream.csv\n"
        "  person: cpr\n"
        "  codes: {" + ", ".join(f'"{k}": {v}' for k, v in LOCAL_CODES.items()) + "}\n"
        "income:\n"
        "  file: eindkomst.csv\n"
        "  columns: {person: cpr, month: maaned, hours: timer, earnings: loen, employer: cvr}\n"
        "attendance:\n"
        "  file: fremmoede.csv\n"
        "  columns: {person: cpr, date: dato, session: modul}\n"
        "companies:\n"
        "  file: virksomheder.csv\n"
        "  columns: {company: cvr, year: aar, employees: ansatte, start: start, partner: partner}\n",
        encoding="utf-8",
    )
    return Written(mapping=mapping, cprs=cprs, bad=bad)

"""Municipal register extracts to participant and company histories (``pbr import``).

Reads, through a mapping file (``kind: import_mapping``, pbr_rules.models.importing):

- the participants file (the cohort: CPR number, enrolment, local target group);
- (a) the weekly benefit register extract in the DREAM layout: one row per person, one
  column per ISO week (``y_YYWW`` as DREAM writes it, or ``YYYY-Www``), each cell a local
  benefit code or empty (self-supporting);
- (b) monthly income records in the eIndkomst layout: person, month, hours, earnings, employer;
- (c) a course provider's attendance export: person, date, session;
- (d) company yearly figures: company, year, employees, accelerator start, partner;

and writes histories (JSON Lines) the rest of pbr-rules reads. Rules, each documented in
docs/import.md:

- **CPR numbers never leave this module.** Each is replaced by ``p-`` and 16 base32 characters
  of an HMAC-SHA256 under a secret key the municipality keeps (the same person gets the same id
  in every import with the same key; without the key the id cannot be traced back, and the
  key is never written to the output). An employer id shaped like a CPR number (a sole
  trader) is replaced the same way (``e-``). No message quotes a CPR number: rows are named by
  file and row number.
- **Nothing is dropped silently.** A row that cannot be read is reported with file:row and
  the reason; a participant with any such row is not written (a history with a hole would
  be wrong, not partial), and that too is reported. Rows about people outside the cohort
  are counted in the summary.
- A participant's history is validated like any history (``ParticipantHistory.problems``)
  before it is written.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.language import VOCABULARY_FILE, load_benefit_codes, load_vocabulary, load_yaml_file, require_kind, validate_model
from pbr_rules.models.vocabulary import Known
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.models.importing import ImportMapping
from pbr_rules.money import separator_fix
from pbr_rules.periods import format_iso_week, week_index
from pbr_rules.personal_data import contains_cpr, mask_cpr

KEY_BYTES = 32
_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d)(\d{3})$")
_DREAM_WEEK = re.compile(r"^y_(\d{2})(\d{2})$")
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-?(\d{2})$")
_DANISH_DATE = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YES = {"ja", "j", "yes", "y", "1", "true", "sand"}
_NO = {"nej", "n", "no", "0", "false", "falsk"}
HOURS_PER_WEEK = Decimal(12) / Decimal(52)  # monthly hours x 12 / 52 = hours a week


class MappingInvalid(InputInvalid):
    """The mapping file (or a file it names) cannot be used; nothing was imported. Every
    message and hint is masked (a CPR number in a header, a mapping or a cell never shows)."""

    def __init__(self, diagnostics, **kw):
        super().__init__([replace(d, message=mask_cpr(d.message), hint=mask_cpr(d.hint)) for d in diagnostics], **kw)


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A row (or a participant) that was not imported, and why."""

    file: str
    row: int
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", mask_cpr(self.message))  # a cell quoted in a reason may hold a CPR number

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.message}"


@dataclass
class FileSummary:
    file: str
    rows: int = 0
    outside_cohort: int = 0
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import read and wrote: the histories (JSON-ready, sorted by id), per file what was
    read, every row not imported with its reason, and notes on rows imported with an adjustment."""

    histories: list[dict]
    participants: int
    companies: int
    cohort: int
    files: list[FileSummary]
    problems: list[RowProblem]
    notes: list[RowProblem]

    def jsonl(self) -> str:
        return "".join(json.dumps(h, ensure_ascii=False, separators=(",", ":")) + "\n" for h in self.histories)


_CPR_ANYWHERE = re.compile(r"(?<!\d)\d{6}[-\s]?\d{4}(?!\d)")


def _hide_cpr(p: RowProblem) -> RowProblem:
    """A message quotes cell values (a code, a date): never one shaped like a CPR number."""
    return RowProblem(p.file, p.row, _CPR_ANYWHERE.sub("[hidden: shaped like a CPR number]", p.message))


# --- pseudonyms ---------------------------------------------------------------------------------


def load_or_create_key(path: str | Path) -> bytes:
    """The pseudonymisation key: read from ``path`` (hex), or made (32 random bytes) and kept there, readable by its owner only."""
    path = Path(path)
    if path.exists():
        text = path.read_text(encoding="ascii").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise MappingInvalid([Diagnostic(file=str(path), message="the key file does not hold a key written by pbr import (64 hex digits)")]) from None
        if len(key) < 16:
            raise MappingInvalid([Diagnostic(file=str(path), message="the key is too short: at least 32 hex digits")])
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


def pseudonym(key: bytes, cpr_digits: str, prefix: str = "p-") -> str:
    """A stable pseudonymous id for a CPR number (ten digits, no dash): ``p-`` and the first 80
    bits of HMAC-SHA256 in base32, lower case (16 characters; letters and 2-7, so an id never
    holds ten digits in a row for a CPR scanner to mistake)."""
    digest = hmac.new(key, cpr_digits.encode("ascii"), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest[:10]).decode("ascii").lower()


def cpr_birth_date(text: str) -> tuple[str, date] | None:
    """(the ten digits, the birth date) of a CPR number, or None if it is not one.

    The century follows the 7th digit (CPR-kontoret): 0-3 19xx; 4 and 9: 20xx up to 36, else
    19xx; 5-8: 20xx up to 57, else 18xx. The check digit is not checked (not all CPR numbers
    since 2007 pass modulus 11)."""
    m = _CPR.match(text.strip())
    if not m:
        return None
    dd, mm, yy, seventh = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
    if seventh <= 3:
        year = 1900 + yy
    elif seventh in (4, 9):
        year = (2000 if yy <= 36 else 1900) + yy
    else:
        year = (2000 if yy <= 57 else 1800) + yy
    try:
        born = date(year, mm, dd)
    except ValueError:
        return None
    return m.group(1) + m.group(2) + m.group(3) + m.group(4) + m.group(5), born


# --- reading files ------------------------------------------------------------------------------


MAX_FIELD = 131_072  # the csv module's own limit on a cell; a header line longer than it is not a header


def _open_rows(path: Path, spec, what: str) -> tuple[list[str], object]:
    """(the header, an iterator over the data rows) of a CSV file, or MappingInvalid if it cannot be read."""
    encoding = "utf-8-sig" if spec.encoding == "utf-8" else spec.encoding
    try:
        if path.exists() and not path.is_file():
            raise MappingInvalid([Diagnostic(file=str(path), message=f"the {what} file is not a regular file (a folder, a device or a pipe)", hint="check 'file:' in the mapping")])
        f = path.open("r", encoding=encoding, newline="")
        first = f.readline(MAX_FIELD)
    except FileNotFoundError:
        raise MappingInvalid([Diagnostic(file=str(path), message=f"the {what} file does not exist", hint="check 'file:' in the mapping")]) from None
    except OSError as exc:
        raise MappingInvalid([Diagnostic(file=str(path), message=f"cannot read the {what} file: {exc.strerror or exc}", hint="check 'file:' in the mapping")]) from None
    except UnicodeDecodeError:
        raise MappingInvalid(
            [Diagnostic(file=str(path), line=1, col=1, message=f"the file is not {spec.encoding} text", hint="set 'encoding:' in the mapping (utf-8, cp1252 or latin-1)")]
        ) from None
    if spec.delimiter == "auto":
        delimiter = max((";", ",", "\t"), key=first.count)
    else:
        delimiter = "\t" if spec.delimiter == "tab" else spec.delimiter
    header = next(csv.reader([first], delimiter=delimiter), [])
    header = [h.strip() for h in header]

    def rows():
        reader = csv.reader(f, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as exc:  # a cell over the csv module's limit (131,072 characters), a NUL byte
            raise MappingInvalid(
                [Diagnostic(file=str(path), line=reader.line_num + 1, message=f"the file cannot be read as {what} CSV: {exc}", hint="is it the export the mapping names?")]
            ) from None
        except UnicodeDecodeError:
            raise MappingInvalid(
                [Diagnostic(file=str(path), message=f"the file is not {spec.encoding} text", hint="set 'encoding:' in the mapping (utf-8, cp1252 or latin-1)")]
            ) from None
        finally:
            f.close()

    return header, rows()


def _count_lines(path: Path) -> int:
    """Lines in a file (for progress), counted in blocks without decoding."""
    n = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return n


def _columns(path: Path, header: list[str], wanted: dict[str, str | None]) -> dict[str, int]:
    """Positions of the columns the mapping names; every missing one reported at once."""
    out, missing = {}, []
    for role, name in wanted.items():
        if name is None:
            continue
        if name in header:
            out[role] = header.index(name)
        else:
            missing.append(name)
    if missing:
        if any(contains_cpr(h) for h in header):
            hint = "the first line holds a CPR number: it is data, not the header line whose column names the mapping reads; add the header line"
        else:
            hint = f"the columns are: {', '.join(header)}"
        raise MappingInvalid(
            [Diagnostic(file=str(path), line=1, col=1, message=f"no column '{m}' (named in the mapping)", hint=hint) for m in missing]
        )
    return out


def _date(text: str) -> date | None:
    text = text.strip()
    m = _ISO_DATE.match(text)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DANISH_DATE.match(text)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def _number(text: str) -> Decimal | None:
    """A number as written in Danish or English files: '12', '12.5', '12,5', '30.000,50'."""
    text = text.strip().replace("\u00a0", " ")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fix = separator_fix(text)
        if fix is None:
            return None
        value = Decimal(fix[1])
    # 'NaN', 'Infinity', '1e400' and 29-digit amounts are not figures a register holds: the row is
    # reported as unreadable (they broke the arithmetic after, an internal error)
    if not value.is_finite() or (value and not -6 <= value.adjusted() <= 12):
        return None
    return value


def _yes_no(text: str) -> bool | None:
    t = text.strip().lower()
    return True if t in _YES else False if t in _NO else None


def _week_of_column(name: str) -> int | None:
    m = _DREAM_WEEK.match(name)
    year = week = None
    if m:
        year, week = 2000 + int(m.group(1)), int(m.group(2))
    else:
        m = _ISO_WEEK.match(name)
        if m:
            year, week = int(m.group(1)), int(m.group(2))
    if year is None:
        return None
    try:
        return week_index(date.fromisocalendar(year, week, 4))
    except ValueError:
        return None


# --- the import ---------------------------------------------------------------------------------


def load_mapping(path: str | Path) -> ImportMapping:
    """The mapping file, validated (every problem at its line)."""
    source = load_yaml_file(Path(path), error=MappingInvalid)
    require_kind(source, ("import_mapping",), MappingInvalid)
    return validate_model(ImportMapping, source, MappingInvalid)


@dataclass
class _Person:
    pid: str
    birth: date
    row: int
    enrolment: date
    target_group: str
    resident: bool | None  # None: the participants file has no residence column (the history leaves it out)
    weeks: dict[int, str] = field(default_factory=dict)
    register_row: int | None = None
    months: dict[str, list] = field(default_factory=dict)  # 'YYYY-MM' -> [(employer, hours, earnings, row)]
    sessions: dict[date, set] = field(default_factory=dict)
    bad: list[RowProblem] = field(default_factory=list)


def import_histories(mapping_path: str | Path, key: bytes, *, on_progress=None) -> ImportResult:
    """Read the files a mapping names and build the histories (nothing is written here)."""
    mapping_path = Path(mapping_path)
    m = load_mapping(mapping_path)
    base = mapping_path.parent
    codes = load_benefit_codes(base / m.benefit_codes)
    vocabulary = codes.codes
    # The target groups are the jurisdiction's: vocabulary.yaml beside the benefit codes.
    words = base / m.benefit_codes
    words = words.parent / VOCABULARY_FILE
    groups = frozenset(load_vocabulary(words).target_groups) if words.exists() else None
    unknown = sorted(v for v in set(m.benefits.codes.values()) if v not in vocabulary)
    unknown_groups = sorted(g for g in set(m.participants.target_groups.values()) if groups is not None and g not in groups)
    if unknown or unknown_groups:
        raise MappingInvalid(
            [Diagnostic(file=str(mapping_path), message=f"benefits.codes maps to '{u}', which is not in the benefit-code vocabulary",
                        hint=f"known codes: {', '.join(sorted(vocabulary))}") for u in unknown]
            + [Diagnostic(file=str(mapping_path), message=f"participants.target_groups maps to '{g}', which is not a target group of the vocabulary",
                          hint=f"known target groups: {', '.join(sorted(groups or ()))}") for g in unknown_groups]
        )
    flexjob_codes = {c for c, v in vocabulary.items() if v.category == "flexjob"}
    last_week = week_index(m.extracted)
    problems: list[RowProblem] = []
    notes: list[RowProblem] = []
    files: list[FileSummary] = []
    people: dict[str, _Person] = {}  # by CPR digits: never leaves this function

    # --- the cohort
    spec = m.participants
    first_row: dict[str, int] = {}
    for where, n, row, cols, summary in _table_rows(base / spec.file, spec, "participants", problems, files):
        cpr = cpr_birth_date(row[cols["person"]])
        if cpr is None:
            problems.append(RowProblem(*where, "the person column does not hold a valid CPR number (DDMMYY-XXXX)"))
            continue
        digits, born = cpr
        if digits in first_row:
            problems.append(RowProblem(*where, f"the same person as row {first_row[digits]}: each participant once, so neither row is imported"))
            people.pop(digits, None)
            continue
        first_row[digits] = n
        why = []
        enrolment = _date(row[cols["enrolment"]])
        if enrolment is None:
            why.append(f"enrolment '{row[cols['enrolment']].strip()}' is not a date (YYYY-MM-DD or DD-MM-YYYY)")
        elif enrolment > m.extracted:
            why.append(f"enrolment {enrolment} is after the extraction date {m.extracted}")
        local_group = row[cols["target_group"]].strip()
        group = spec.target_groups.get(local_group)
        if group is None:
            why.append(f"target group '{local_group}' is not in the mapping's participants.target_groups ({', '.join(spec.target_groups)})")
        resident = None
        if "resident" in cols:
            resident = _yes_no(row[cols["resident"]])
            if resident is None:
                why.append(f"resident '{row[cols['resident']].strip()}' is not ja/nej, yes/no or 1/0")
        if why:
            problems.append(RowProblem(*where, "; ".join(why)))
            continue
        people[digits] = _Person(pseudonym(key, digits), born, n, enrolment, group, resident)
    cohort_size = len(first_row)

    # --- (a) the weekly benefit register
    spec = m.benefits
    path = base / spec.file
    header, rows = _open_rows(path, spec, "benefit register")
    person_col = _columns(path, header, {"person": spec.person})["person"]
    week_cols: list[tuple[int, int]] = []
    summary = FileSummary(str(path))
    files.append(summary)
    late = []
    for i, name in enumerate(header):
        if i == person_col:
            continue
        w = _week_of_column(name)
        if w is None:
            summary.ignored_columns.append(name)
        elif w > last_week:
            late.append(name)
        else:
            week_cols.append((i, w))
    seen_week: dict[int, str] = {}
    for i, w in week_cols:
        if w in seen_week:
            raise MappingInvalid(
                [
                    Diagnostic(
                        file=str(path), line=1, col=1,
                        message=f"the week of column '{header[i]}' is also column '{seen_week[w]}': a week given twice cannot be read",
                        hint="one column a week: is the export's header right?",
                    )
                ]
            )
        seen_week[w] = header[i]
    if late:
        notes.append(RowProblem(str(path), 1, f"{len(late)} week columns after the extraction date {m.extracted} are not imported: {', '.join(late[:6])}{' ...' if len(late) > 6 else ''}"))
    if not week_cols:
        raise MappingInvalid([Diagnostic(file=str(path), line=1, col=1, message="no week columns (y_YYWW or YYYY-Www) up to the extraction date")])
    local_codes = spec.codes
    blank = set(spec.self_supporting)
    total = _count_lines(path) - 1 if on_progress else 0
    seen_register: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):
        summary.rows += 1
        if on_progress and summary.rows % 2000 == 0:
            on_progress(min(summary.rows, total), total)
        where = (str(path), n)
        if not any(cell.strip() for cell in row):
            continue
        cpr = cpr_birth_date(row[person_col]) if person_col < len(row) else None
        if cpr is None:
            problems.append(RowProblem(*where, "the person column does not hold a valid CPR number (DDMMYY-XXXX)"))
            continue
        digits = cpr[0]
        person = people.get(digits)
        if digits in seen_register:
            twice = RowProblem(*where, f"the same person as row {seen_register[digits]}: one row per person")
            (person.bad if person is not None else problems).append(twice)
            continue
        seen_register[digits] = n
        if person is None:
            if digits not in first_row:
                summary.outside_cohort += 1
            continue
        if len(row) < len(header):
            person.bad.append(RowProblem(*where, f"{len(row)} columns, the header has {len(header)}"))
            continue
        person.register_row = n
        weeks = person.weeks
        for i, w in week_cols:
            cell = row[i].strip()
            if cell in blank:
                continue
            code = local_codes.get(cell)
            if code is None:
                person.bad.append(RowProblem(*where, f"week {format_iso_week(w)} ({header[i]}): benefit code '{cell}' is not in the mapping's benefits.codes"))
                break
            weeks[w] = code

    if on_progress and total > 0:
        on_progress(total, total)

    # --- (b) monthly income
    if m.income is not None:
        extraction_month = f"{m.extracted.year}-{m.extracted.month:02d}"
        for where, n, row, cols, person in _person_rows(base / m.income.file, m.income, "income", people, first_row, problems, files):
            why = []
            mm = _MONTH.match(row[cols["month"]].strip())
            month = f"{mm.group(1)}-{mm.group(2)}" if mm and 1 <= int(mm.group(2)) <= 12 else None
            if month is None:
                why.append(f"month '{row[cols['month']].strip()}' is not YYYY-MM or YYYYMM")
            elif month > extraction_month:
                why.append(f"month {month} is after the extraction date {m.extracted}")
            hours = _number(row[cols["hours"]])
            if hours is None or hours < 0:
                why.append(f"hours '{row[cols['hours']].strip()}' is not a number of hours")
            elif hours * HOURS_PER_WEEK > 80:
                why.append(f"{hours} hours in a month is more than 80 hours a week")
            earnings = _number(row[cols["earnings"]])
            if earnings is None or earnings < 0:
                why.append(f"earnings '{row[cols['earnings']].strip()}' is not an amount in kroner")
            employer = row[cols["employer"]].strip()
            if not employer:
                why.append("no employer id")
            if why:
                person.bad.append(RowProblem(*where, "; ".join(why)))
                continue
            person.months.setdefault(month, []).append((employer, hours, earnings, n))

    # --- (c) course attendance
    if m.attendance is not None:
        for where, n, row, cols, person in _person_rows(base / m.attendance.file, m.attendance, "attendance", people, first_row, problems, files):
            day = _date(row[cols["date"]])
            session = row[cols["session"]].strip()
            if day is None or not session:
                person.bad.append(RowProblem(*where, f"date '{row[cols['date']].strip()}' is not a date" if day is None else "no session"))
                continue
            if day > m.extracted or day < person.enrolment:
                person.bad.append(RowProblem(*where, f"attendance on {day} is {'after the extraction date' if day > m.extracted else 'before the enrolment'}"))
                continue
            sessions = person.sessions.setdefault(day, set())
            if session in sessions:
                notes.append(RowProblem(*where, f"the same session '{session}' on {day} again: counted once"))
            sessions.add(session)

    # --- (d) companies
    companies: dict[str, dict] = {}
    if m.companies is not None:
        companies = _read_companies(m, base, files, problems, notes)

    # --- the histories
    out: list[dict] = []
    written_participants = 0
    for digits, p in people.items():
        where = (files[0].file, p.row)
        if p.bad:
            problems.extend(p.bad)
            rows = ", ".join(f"{Path(b.file).name}:{b.row}" for b in p.bad)
            problems.append(RowProblem(*where, f"the participant is not imported, because of the problems in {rows}"))
            continue
        if p.register_row is None:
            notes.append(RowProblem(*where, "not in the benefit register extract: imported with no benefit weeks (self-supporting)"))
        history, hires = _participant_history(m, p, flexjob_codes, companies, key, notes)
        try:
            model = ParticipantHistory.model_validate(history)
        except ValueError as exc:  # pragma: no cover - the importer builds only valid shapes
            problems.append(RowProblem(*where, f"the history is not valid: {str(exc).splitlines()[0]}"))
            continue
        found = model.problems(Known(frozenset(vocabulary), groups))
        if found:
            problems.append(RowProblem(*where, "the participant is not imported: " + "; ".join(f"{'.'.join(map(str, path))}: {msg}" for path, msg in found)))
            continue
        out.append(history)
        written_participants += 1
        for cid, hire in hires:
            companies[cid]["history"]["hires"].append(hire)
    for cid, c in companies.items():
        if c.get("bad"):
            continue
        history = c["history"]
        model = CompanyHistory.model_validate(history)
        found = model.problems()
        if found:
            problems.append(RowProblem(c["file"], c["row"], "the company is not imported: " + "; ".join(f"{'.'.join(map(str, p))}: {msg}" for p, msg in found)))
            continue
        out.append(history)
    out.sort(key=lambda h: (h["kind"], h.get("participant") or h.get("company")))
    problems = sorted((_hide_cpr(p) for p in problems), key=lambda p: (p.file, p.row, p.message))
    notes = sorted((_hide_cpr(p) for p in notes), key=lambda p: (p.file, p.row, p.message))
    return ImportResult(
        histories=out, participants=written_participants, companies=len(out) - written_participants, cohort=cohort_size,
        files=files, problems=problems, notes=notes,
    )


def _runs(weeks: dict[int, str]) -> list[dict]:
    """``{week: code}`` as ranges of consecutive weeks with one code."""
    out, start, prev, code = [], None, None, None
    for w in sorted(weeks):
        c = weeks[w]
        if start is not None and w == prev + 1 and c == code:
            prev = w
            continue
        if start is not None:
            out.append(_range(start, prev, code))
        start = prev = w
        code = c
    if start is not None:
        out.append(_range(start, prev, code))
    return out


def _range(a: int, b: int, code: str) -> dict:
    weeks = format_iso_week(a) if a == b else f"{format_iso_week(a)}..{format_iso_week(b)}"
    return {"weeks": weeks, "code": code}


def _month_days(month: str) -> tuple[date, date]:
    y, mo = int(month[:4]), int(month[5:])
    first = date(y, mo, 1)
    nxt = date(y + (mo == 12), mo % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _employer_id(key: bytes, employer: str) -> str:
    """An employer id as written, unless it is shaped like a CPR number (a sole trader): then a pseudonym."""
    cpr = cpr_birth_date(employer)
    if cpr is not None:
        return pseudonym(key, cpr[0], prefix="e-")
    return employer


def _participant_history(m: ImportMapping, p: _Person, flexjob_codes: set[str], companies: dict, key: bytes, notes: list) -> dict:
    history: dict = {
        "kind": "participant",
        "participant": p.pid,
        "municipality": m.municipality,
        "birth_date": p.birth.isoformat(),
        "target_group": p.target_group,
        **({} if p.resident is None else {"resident": p.resident}),
        "enrolment": p.enrolment.isoformat(),
        "extracted": m.extracted.isoformat(),
    }
    before = week_index(p.enrolment) - 1
    if before in p.weeks:
        history["benefit_at_enrolment"] = p.weeks[before]
    if p.sessions:
        history["course"] = [{"date": d.isoformat(), "kind": "attendance", "sessions": len(s)} for d, s in sorted(p.sessions.items())]
    history["benefits"] = _runs(p.weeks)
    jobs = []
    for month in sorted(p.months):
        entries = p.months[month]
        hours = sum((e[1] for e in entries), Decimal(0))
        earnings = sum((e[2] for e in entries), Decimal(0))
        if hours == 0 and earnings == 0:
            continue
        employer = max(entries, key=lambda e: (e[1], e[0]))[0] if len(entries) > 1 else entries[0][0]
        if len({e[0] for e in entries}) > 1:
            notes.append(RowProblem(m.income.file, entries[0][3], f"{len(entries)} employers in {month}: imported as one job with the hours and earnings added up, employer the one with the most hours"))
        per_week = (hours * HOURS_PER_WEEK).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        first, last = _month_days(month)
        flex = any(p.weeks.get(w) in flexjob_codes for w in range(week_index(first), week_index(last) + 1))
        jobs.append([month, employer, per_week, earnings.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), flex])
    spells = []
    for month, employer, per_week, earnings, flex in jobs:
        first, last = _month_days(month)
        prev = spells[-1] if spells else None
        if prev and prev["_next"] == first and (prev["_employer"], prev["hours_per_week"], prev["monthly_earnings"], prev["kind"]) == (
            employer, _hours(per_week), str(earnings), "flexjob" if flex else "ordinary"
        ):
            prev["end"], prev["_next"] = last, last + timedelta(days=1)
            continue
        spells.append({
            "start": first, "end": last, "hours_per_week": _hours(per_week), "monthly_earnings": str(earnings),
            "employer": _employer_id(key, employer), "partner_company": bool(companies.get(employer, {}).get("partner")),
            "kind": "flexjob" if flex else "ordinary", "_employer": employer, "_next": last + timedelta(days=1),
        })
    # A hire: a job with a company of the companies file, in the month of its accelerator
    # start or later; consecutive spells with the same company (hours changed) are one hire.
    hires: list[tuple[str, dict]] = []
    open_hire: dict[str, dict] = {}
    for s in spells:
        employer = s.pop("_employer")
        s.pop("_next")
        company = companies.get(employer)
        end = None if s["end"] >= m.extracted else s["end"]
        if company is not None and not company.get("bad") and s["start"] >= company["start"].replace(day=1):
            previous = open_hire.get(employer)
            if previous is not None and previous["_end"] + timedelta(days=1) == s["start"]:
                previous["_end"], previous["end"] = s["end"], end.isoformat() if end else None
            else:
                hire = {"participant": p.pid, "date": max(s["start"], company["start"]).isoformat(),
                        "end": end.isoformat() if end else None, "_end": s["end"]}
                open_hire[employer] = hire
                hires.append((employer, hire))
        s["end"] = end
        s["start"] = s["start"].isoformat()
        s["end"] = s["end"].isoformat() if s["end"] else None
        if s["end"] is None:
            del s["end"]
    history["employment"] = spells
    for _company, hire in hires:
        hire.pop("_end")
        if hire["end"] is None:
            del hire["end"]
    return history, hires


def _size_band(employees: Decimal) -> str | None:
    if employees < 10:
        return "micro"
    if employees < 50:
        return "small"
    if employees < 250:
        return "medium"
    return None


def _read_companies(m: ImportMapping, base: Path, files: list, problems: list, notes: list) -> dict[str, dict]:
    spec = m.companies
    path = base / spec.file
    by_company: dict[str, list] = {}
    for where, n, row, cols, summary in _table_rows(path, spec, "companies", problems, files):
        cid = row[cols["company"]].strip()
        why = []
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}", cid) or cpr_birth_date(cid) is not None:
            why.append("the company column does not hold a company id (a CVR number)")
        year = row[cols["year"]].strip()
        if not re.fullmatch(r"\d{4}", year):
            why.append(f"year '{year}' is not a year")
        employees = _number(row[cols["employees"]])
        if employees is None or employees < 0:
            why.append(f"employees '{row[cols['employees']].strip()}' is not a number")
        start = _date(row[cols["start"]])
        if start is None:
            why.append(f"start '{row[cols['start']].strip()}' is not a date")
        partner = _yes_no(row[cols["partner"]])
        if partner is None:
            why.append(f"partner '{row[cols['partner']].strip()}' is not ja/nej, yes/no or 1/0")
        if why:
            problems.append(RowProblem(*where, "; ".join(why)))
            if cid in by_company or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}", cid):
                by_company.setdefault(cid, []).append(None)
            continue
        by_company.setdefault(cid, []).append((int(year), employees, start, partner, n))
    out: dict[str, dict] = {}
    for cid, rows_ in by_company.items():
        if any(r is None for r in rows_):
            out[cid] = {"bad": True}
            continue
        usable = [r for r in rows_ if r[0] <= m.extracted.year]
        latest = max(usable or rows_, key=lambda r: r[0])
        year, employees, start, partner, n = latest
        band = _size_band(employees)
        if band is None:
            problems.append(RowProblem(str(path), n, f"{employees} employees in {year}: not a small or medium company (under 250), so not imported"))
            out[cid] = {"bad": True}
            continue
        if len({(r[2], r[3]) for r in rows_}) > 1:
            notes.append(RowProblem(str(path), n, f"the start date or partner flag differs between years: those of {year} are used"))
        out[cid] = {
            "file": str(path), "row": n, "start": start, "partner": partner,
            "history": {
                "kind": "company", "company": cid, "municipality": m.municipality, "size_band": band, "partner": partner,
                "start": start.isoformat(), "extracted": m.extracted.isoformat(), "phases": [], "hires": [],
            },
        }
    return out




def _table_rows(path: Path, spec, what: str, problems: list, files: list):
    """The non-blank rows of a file with named columns: (where, row number, row, column index by
    name, the file's summary). A row with fewer cells than the header is a problem, not yielded."""
    header, rows = _open_rows(path, spec, what)
    cols = _columns(path, header, spec.columns.model_dump())
    summary = FileSummary(str(path))
    files.append(summary)
    for n, row in enumerate(rows, start=2):
        summary.rows += 1
        where = (str(path), n)
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            problems.append(RowProblem(*where, f"{len(row)} columns, the header has {len(header)}"))
            continue
        yield where, n, row, cols, summary


def _person_rows(path: Path, spec, what: str, people: dict, first_row: dict, problems: list, files: list):
    """The rows of a per-person file (income, attendance) that belong to a participant of the cohort.

    Yields (where, row number, row, column index by name, the person). Blank rows are skipped;
    a row with too few columns or no valid CPR number is a problem; a person outside the
    cohort is counted in the file's summary, not reported row by row."""
    for where, n, row, cols, summary in _table_rows(path, spec, what, problems, files):
        cpr = cpr_birth_date(row[cols["person"]])
        if cpr is None:
            problems.append(RowProblem(*where, "the person column does not hold a valid CPR number (DDMMYY-XXXX)"))
            continue
        person = people.get(cpr[0])
        if person is None:
            if cpr[0] not in first_row:
                summary.outside_cohort += 1
            continue
        yield where, n, row, cols, person

def _hours(per_week: Decimal) -> int | float:
    """Hours a week as the JSON number histories require (never a string): whole hours as an
    integer, else the two-decimal value (a float whose shortest repr is exactly those decimals)."""
    return int(per_week) if per_week == per_week.to_integral_value() else float(per_week)

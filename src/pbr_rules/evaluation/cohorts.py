"""Cohorts as streams: read, evaluate and hand on a cohort without holding it in memory.

Owns evaluating a cohort of any size in flat memory, in one process, in a pool of
processes or on a Dask cluster (any ``concurrent.futures.Executor``; see ``executors``).

How (docs/engine.md, "Scale"):

1. The cohort is read in *chunks* of a few hundred histories. A JSON Lines file is sent to
   the workers as its raw lines (with their line numbers), never as parsed histories: each
   worker parses, validates and evaluates its chunk itself, with the agreement loaded and
   compiled once per worker process. Other formats (CSV, YAML, folders of files) are read
   file by file in the main process.
2. What the caller keeps of each history is its *digest*: a small picklable value made in
   the worker from the history and its result (``digest(history, result)``), e.g. the
   summary's counts, the JSON text of the result, or the payments settlement needs.
3. A participant leaves behind a compact record on disk (a temporary SQLite file): its
   eligibility, enrolment and its employment spells (the history with benefits, course
   and events left out). That is all a company's hires are verified against
   (docs/semantics.md § 5, "Hires verified"), so companies are evaluated after every
   participant, against exactly what ``evaluate_cohort`` would have given them.
4. The digests are spooled to the same file, a chunk's together (one pickle, one row), and
   handed back in input order. Results are those of ``evaluate_cohort``: the same histories, the same as-of
   dates, the same participants behind each hire; the number of workers and the chunk
   size change nothing.

Every invalid history in the whole cohort is reported at once (``HistoryInvalid``), as
``load_cohorts`` does, and nothing is handed back then.
"""

from __future__ import annotations

import heapq
import json
import pickle
import sqlite3
import tempfile
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pbr_rules.collector import collector_paused
from pbr_rules.errors import Diagnostic, EvaluationRefused, HistoryInvalid, InputInvalid
from pbr_rules.evaluation.evaluator import evaluate, evaluate_batch
from pbr_rules.language import History, LoadedContract, Source, cohort_problems, history_from_data, load_cohort, load_contract
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.models.results import EvaluationResult

CHUNK_SIZE = 250  # histories per task: big enough to amortise the hand-over, small enough to stay flat
MIN_CHUNK = 25  # the smallest chunk of the cohort's tail (see ``_chunk_sizes``)
# A chunk is read and evaluated this many participants at a time: the histories just read are
# still in the processor's cache when they are evaluated (measured: a chunk of 250 read whole,
# then evaluated whole, took 8 % longer; a batch of 50 loses nothing to the engine's batching).
EVALUATE_BATCH = 50
_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".csv")

Digest = Callable[[History, EvaluationResult], Any]


def keep_result(history: History, result: EvaluationResult) -> EvaluationResult:
    """The digest that keeps the whole result (for small cohorts and tests)."""
    return result


def when(as_of: date | None, history: History) -> date | None:
    """The as-of date a cohort member is evaluated at: never after its own extraction."""
    return min(as_of, history.extracted) if as_of else None


def evaluate_chunk(loaded: LoadedContract, histories: list[ParticipantHistory], as_of: date | None) -> list[EvaluationResult]:
    """One chunk of participants, one result each, in order: decided many to an engine session
    (``evaluate_batch``: exactly the one-by-one results), each as of ``when(as_of, history)``."""
    return evaluate_batch(loaded, histories, as_of)


# --- the work a worker does -------------------------------------------------------------------


@dataclass(frozen=True)
class _ContractRef:
    """How a worker finds the agreement: its file (checked by content hash), or the loaded agreement itself."""

    path: str | None
    content_hash: str
    loaded: LoadedContract | None = None


_CONTRACTS: dict[str, LoadedContract] = {}


def _contract(ref: _ContractRef) -> LoadedContract:
    """The agreement, loaded (and compiled on first use) once per worker process."""
    loaded = _CONTRACTS.get(ref.content_hash)
    if loaded is None:
        if ref.loaded is not None:
            loaded = ref.loaded
        else:
            loaded = load_contract(ref.path)
            if loaded.content_hash != ref.content_hash:
                raise RuntimeError(
                    f"{ref.path} on this worker is not the agreement being evaluated (content {loaded.content_hash[:12]}, "
                    f"expected {ref.content_hash[:12]}): give every worker the same agreement files"
                )
        _CONTRACTS[ref.content_hash] = loaded
    return loaded


def _ref(loaded: LoadedContract) -> _ContractRef:
    if loaded.path and not loaded.path.startswith("<") and Path(loaded.path).is_file():
        _CONTRACTS.setdefault(loaded.content_hash, loaded)
        return _ContractRef(loaded.path, loaded.content_hash)
    return _ContractRef(None, loaded.content_hash, loaded)


@dataclass(frozen=True)
class _Task:
    contract: _ContractRef
    as_of: date | None
    digest: Digest
    known_codes: frozenset[str]
    file: str
    first: int  # input position of the first history in this chunk
    lines: tuple[tuple[int, str], ...] = ()  # JSON Lines: (line number, text)
    histories: tuple[History, ...] = ()  # already read (CSV, YAML)


@dataclass(frozen=True)
class _Done:
    problems: tuple[Diagnostic, ...]  # histories of the chunk that cannot be read
    # participants: (position, id, eligible, enrolment, compact history pickled); when the
    # evaluation refused one, every participant read, those not evaluated with no record
    # (the cohort is refused then, so only their ids count: a participant given twice)
    participants: tuple[tuple[int, str, bool, str, bytes | None], ...]
    digests: bytes  # the participants' [(position, digest), ...] pickled together (b"" when none)
    companies: tuple[tuple[int, int, str], ...]  # (position, line number, text) of JSON Lines companies
    count: int
    file: str
    # what the evaluation refused: a history it cannot take (a referral date missing: its
    # diagnostics) or cannot evaluate as asked (an EvaluationRefused, which pickles), the
    # chunk's first, and the input position its batch starts at; the cohort's earliest is reported
    refused: tuple[Diagnostic, ...] | EvaluationRefused = ()
    refused_at: int = -1


_COMPRESS_FROM = 2048  # bytes of pickle


def _pack(value, count: int = 1) -> bytes:
    """Pickled; lightly compressed when large, ``count`` values averaging 2 kB or more (a digest
    carrying a history's JSON text: about a fifth of the bytes on disk). Small pickles (table
    digests, a compact history: a few hundred bytes each) are kept as they are: compressing
    them saved a quarter of their bytes and cost three times the pickling, in the workers and
    again in the main process."""
    raw = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return b"z" + zlib.compress(raw, 1) if len(raw) >= _COMPRESS_FROM * count else b"p" + raw


def _unpack(blob: bytes):
    return pickle.loads(zlib.decompress(blob[1:]) if blob[:1] == b"z" else blob[1:])


def _compact(h: ParticipantHistory) -> ParticipantHistory:
    """What verifying a hire reads of a participant: enrolment, extraction and employment spells."""
    return h.model_copy(update={"benefits": [], "course": [], "events": []})


def run_task(task: _Task) -> _Done:
    """Parse, validate and evaluate one chunk (in a worker); JSON Lines companies are only handed back."""
    with collector_paused():
        return _run_task(task)


def _run_task(task: _Task) -> _Done:
    loaded = _contract(task.contract)
    problems: list[Diagnostic] = []  # the chunk's histories that cannot be read
    refused: tuple[Diagnostic, ...] | EvaluationRefused = ()  # what the evaluation refused
    refused_at = -1
    people: list[tuple[int, ParticipantHistory]] = []  # read, not yet evaluated
    unevaluated: list[tuple[int, str, bool, str, bytes | None]] = []
    companies: list[tuple[int, int, str]] = []
    out: list[tuple[int, str, bool, str, bytes | None]] = []
    digests: list[tuple[int, Any]] = []

    def evaluate_read() -> None:
        # Once the chunk has a problem nothing of it is handed back, so nothing more is
        # evaluated; the rest is still read, so that every history that cannot be read is
        # reported, and after a refusal every participant's id still goes back.
        nonlocal refused, refused_at
        if people and not problems and not refused:
            try:
                results = evaluate_chunk(loaded, [h for _, h in people], task.as_of)
            except InputInvalid as exc:  # its diagnostics travel back; the exception itself does not pickle
                refused, refused_at = exc.diagnostics, people[0][0]
            except EvaluationRefused as exc:  # without its traceback, which holds the whole chunk
                exc.__context__ = exc.__cause__ = None
                refused, refused_at = exc.with_traceback(None), people[0][0]
            else:
                for (pos, h), r in zip(people, results):
                    out.append((pos, h.participant, r.eligibility.eligible, h.enrolment.isoformat(), _pack(_compact(h))))
                    digests.append((pos, task.digest(h, r)))
                people.clear()
                return
        unevaluated.extend((pos, h.participant, False, h.enrolment.isoformat(), None) for pos, h in people)
        people.clear()

    def take(position: int, h: ParticipantHistory) -> None:
        people.append((position, h))
        if len(people) >= EVALUATE_BATCH:
            evaluate_read()

    for i, (n, text) in enumerate(task.lines):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic(file=task.file, line=n, col=exc.colno, message=f"not valid JSON: {exc.msg}"))
            continue
        source = Source(file=task.file, data=data, positions={(): (task.file, n, 1)})
        try:
            h = history_from_data(data, source, task.known_codes)
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
            continue
        if isinstance(h, CompanyHistory):
            companies.append((task.first + i, n, text))
        else:
            take(task.first + i, h)
    for i, h in enumerate(task.histories):
        if not isinstance(h, CompanyHistory):  # companies already read stay with the main process (_tasks)
            take(task.first + i, h)
    evaluate_read()
    count = len(task.lines) + len(task.histories)
    if problems:  # the cohort cannot be read: that alone is reported (stream_cohort)
        return _Done(tuple(problems), (), b"", tuple(companies), count, task.file)
    if refused:
        return _Done((), tuple(sorted(out + unevaluated)), b"", tuple(companies), count, task.file, refused, refused_at)
    return _Done((), tuple(out), _pack(digests, len(digests)) if digests else b"", tuple(companies), count, task.file)


# --- reading the cohort in chunks ---------------------------------------------------------------


def cohort_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files of a cohort, in the order ``load_cohorts`` reads them (folders searched recursively)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in _SUFFIXES)
            if not files:
                raise HistoryInvalid([Diagnostic(file=str(p), message="no .yaml, .json, .jsonl or .csv files in this folder")])
            out.extend(files)
        else:
            out.append(p)
    return out


def count_histories(paths: Iterable[str | Path]) -> int:
    """About how many histories a cohort holds (the lines of its JSON Lines files), for progress."""
    total = 0
    for f in cohort_files(paths):
        if f.suffix == ".jsonl" and f.is_file():
            with f.open("rb") as fh:
                total += sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
        else:
            total += 1
    return total


def _chunk_sizes(chunk_size: int, total: int, workers: int) -> Callable[[int], int]:
    """The size of the chunk starting at each input position: ``chunk_size``, and smaller towards
    the end of a cohort of ``total`` histories shared by ``workers``, so the workers finish
    together instead of one waiting for the other's last full chunk (about a tenth of a
    second of one core at 250 histories a chunk). Results do not depend on the sizes."""
    if workers <= 1 or total <= 0:
        return lambda position: chunk_size
    return lambda position: max(min(chunk_size, MIN_CHUNK), min(chunk_size, (total - position) // (2 * workers)))


def _tasks(
    files: list[Path], make: Callable[..., _Task], chunk_size: int | Callable[[int], int], problems: list[Diagnostic], codes,
    companies: list[tuple[int, CompanyHistory]],
) -> Iterator[_Task]:
    """The cohort's chunks. Companies of CSV and YAML files, read here, are also kept in
    ``companies`` by input position: these objects, not copies back from a worker, are what the
    hire checks use (a hire's file and line are found by the object that was read)."""
    size_at = chunk_size if callable(chunk_size) else (lambda position: chunk_size)
    position = 0
    for f in files:
        if f.suffix == ".jsonl":
            try:
                fh = f.open("rb")
            except OSError as exc:
                problems.append(Diagnostic(file=str(f), message=f"cannot read the file: {exc.strerror or exc}"))
                continue
            with fh:
                lines: list[tuple[int, str]] = []
                size = size_at(position)
                for n, raw in enumerate(fh, start=1):
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:  # as the loader says it, at the line and column
                        col = len(raw[: exc.start].decode("utf-8", "replace")) + 1
                        problems.append(
                            Diagnostic(
                                file=str(f), line=n, col=col, message=f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read)",
                                hint="save the file with the encoding UTF-8",
                            )
                        )
                        continue
                    if line.strip():
                        lines.append((n, line))
                    if len(lines) >= size:
                        yield make(file=str(f), first=position, lines=tuple(lines))
                        position += len(lines)
                        lines = []
                        size = size_at(position)
                if lines:
                    yield make(file=str(f), first=position, lines=tuple(lines))
                    position += len(lines)
            continue
        try:
            # read here with the agreement's words, as the whole cohort is; each subject once is
            # checked over the whole stream, as over a whole cohort in memory
            histories = load_cohort(f, codes, unique=False)
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
            continue
        i = 0
        while i < len(histories):
            chunk = tuple(histories[i : i + size_at(position)])
            companies.extend((position + j, h) for j, h in enumerate(chunk) if isinstance(h, CompanyHistory))
            yield make(file=str(f), first=position, histories=chunk)
            position += len(chunk)
            i += len(chunk)


# --- the stream -----------------------------------------------------------------------------------


def stream_cohort(
    loaded: LoadedContract,
    paths: Iterable[str | Path],
    as_of: date | None = None,
    *,
    digest: Digest = keep_result,
    executor=None,
    chunk_size: int = CHUNK_SIZE,
    in_flight: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[Any]:
    """The digest of each history of the cohort files, in input order (participants and companies).

    ``executor``: any ``concurrent.futures.Executor`` (a process pool, Dask's); ``None``
    evaluates in this process. At most ``in_flight`` chunks are out at once, so memory stays
    flat however large the cohort. Raises ``HistoryInvalid`` with every problem of the
    cohort before handing anything back.
    """
    files = cohort_files(paths)
    total = count_histories(files) if on_progress or executor is not None else 0
    problems: list[Diagnostic] = []  # histories that cannot be read
    duplicates: list[Diagnostic] = []  # subjects given twice, hires claimed twice
    refusals: list[tuple[int, tuple[Diagnostic, ...] | EvaluationRefused]] = []  # (position, what the evaluation refused) by chunk
    ref = _ref(loaded)
    codes = loaded.known

    def make(**kw) -> _Task:
        return _Task(contract=ref, as_of=as_of, digest=digest, known_codes=codes, **kw)

    with tempfile.TemporaryDirectory(prefix="pbr-cohort-") as tmp:
        db = _spool(Path(tmp) / "cohort.sqlite")
        try:
            companies: list[tuple[int, CompanyHistory]] = []
            company_lines: list[tuple[int, str, int, str]] = []
            done = shown = 0

            def absorb(d: _Done) -> None:
                nonlocal done, shown
                problems.extend(d.problems)
                if d.refused:
                    refusals.append((d.refused_at, d.refused))
                db.execute("BEGIN")
                for pid in _insert_people(db, [(pid, int(eligible), enrolment, record) for _, pid, eligible, enrolment, record in d.participants]):
                    duplicates.append(Diagnostic(message=f"participant '{pid}' appears twice in the cohort", hint="give each subject once"))
                if d.digests:  # positions are unique, so is a chunk's first
                    db.execute("INSERT INTO digests VALUES (?, ?)", (d.participants[0][0], d.digests))
                db.execute("COMMIT")
                company_lines.extend((pos, d.file, n, text) for pos, n, text in d.companies)
                done += d.count
                if on_progress and min(done, total) > shown:
                    shown = min(done, total)
                    on_progress(shown, total)

            sizes = _chunk_sizes(chunk_size, total, _workers_of(executor)) if executor is not None else chunk_size
            tasks = _tasks(files, make, sizes, problems, codes, companies)
            if executor is None:
                for t in tasks:
                    absorb(run_task(t))
            else:
                limit = in_flight or 2 * max(1, _workers_of(executor)) + 2
                pending: deque = deque()
                for t in tasks:
                    pending.append(executor.submit(run_task, t))
                    while len(pending) >= limit:
                        absorb(pending.popleft().result())
                while pending:
                    absorb(pending.popleft().result())

            for pos, file, n, text in company_lines:  # read again here, so their hires' lines are known for the checks
                data = json.loads(text)
                companies.append((pos, history_from_data(data, Source(file=file, data=data, positions={(): (file, n, 1)}), codes)))
            companies.sort(key=lambda t: t[0])
            # What the whole cohort in memory reports, whatever the chunks: histories that cannot
            # be read; else subjects given twice and hires claimed twice; else the first history
            # (in input order) the evaluation refused, where evaluating the whole cohort stops.
            if problems:
                raise HistoryInvalid(problems)
            duplicates.extend(cohort_problems([h for _, h in companies]))
            if duplicates:
                raise HistoryInvalid(duplicates)
            if refusals:
                first = min(refusals, key=lambda r: r[0])[1]
                if isinstance(first, EvaluationRefused):
                    raise first
                raise HistoryInvalid(list(first))

            _evaluate_companies(loaded, db, companies, as_of, digest)
            if on_progress and total and shown < total:  # the count was an estimate (CSV, YAML): close the bar
                on_progress(total, total)
            people_digests = (item for (blob,) in db.execute("SELECT digests FROM digests ORDER BY position") for item in _unpack(blob))
            company_digests = ((pos, _unpack(blob)) for pos, blob in db.execute("SELECT position, digest FROM company_digests ORDER BY position"))
            for _, value in heapq.merge(people_digests, company_digests, key=itemgetter(0)):
                yield value
        finally:
            db.close()


def _spool(path: Path) -> sqlite3.Connection:
    """The stream's scratch file: no journal, no syncing (it is deleted at the end either way)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-8000")  # at most about 8 MB of pages in memory
    db.execute("CREATE TABLE people (id TEXT PRIMARY KEY, eligible INTEGER, enrolment TEXT, record BLOB)")
    # a chunk's participants' digests in one row (by its first position); companies' one by one
    db.execute("CREATE TABLE digests (position INTEGER PRIMARY KEY, digests BLOB)")
    db.execute("CREATE TABLE company_digests (position INTEGER PRIMARY KEY, digest BLOB)")
    return db


def _insert_people(db: sqlite3.Connection, rows: list[tuple]) -> list[str]:
    """Insert the rows (id first) into ``people``, in the transaction open on ``db``; the ids
    that were there already (or earlier in ``rows``), in order, each time it happens.

    A participant seen before stops ``executemany`` at its row, with the rows before it in and
    nothing of that row written (the key is checked before anything is); it is named and the
    insert goes on after it. No ROLLBACK: with the journal off (``stream_cohort``'s file) SQLite
    leaves it undefined, and undoing a chunk bigger than the page cache corrupted the file."""
    named: list[str] = []
    first = 0
    while first < len(rows):
        before = db.total_changes
        try:
            db.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", rows[first:])
            break
        except sqlite3.IntegrityError:
            first += db.total_changes - before
            named.append(rows[first][0])
            first += 1
    return named


def _workers_of(executor) -> int:
    n = getattr(executor, "_max_workers", None)
    if n:
        return n
    workers = getattr(executor, "workers", None)
    return workers if isinstance(workers, int) else 2


def _evaluate_companies(loaded: LoadedContract, db: sqlite3.Connection, companies: list[tuple[int, CompanyHistory]], as_of, digest: Digest) -> None:
    """Companies after every participant: each hire checked against the hired person's compact record."""
    if not companies:
        return
    hired = sorted({hire.participant for _, h in companies for hire in h.hires})
    eligible: dict[str, date] = {}
    people: dict[str, ParticipantHistory] = {}
    for i in range(0, len(hired), 500):
        ids = hired[i : i + 500]
        marks = ",".join("?" * len(ids))
        for pid, is_eligible, enrolment, record in db.execute(f"SELECT id, eligible, enrolment, record FROM people WHERE id IN ({marks})", ids):
            people[pid] = _unpack(record)
            if is_eligible:
                eligible[pid] = date.fromisoformat(enrolment)
    db.execute("BEGIN")
    for pos, h in companies:
        r = evaluate(loaded, h, when(as_of, h), eligible, people, judge_participants=False)  # eligible: each participant's own evaluation, kept beside its compact record
        db.execute("INSERT INTO company_digests VALUES (?, ?)", (pos, _pack(digest(h, r))))
    db.execute("COMMIT")


def evaluate_stream(
    loaded: LoadedContract,
    paths: Iterable[str | Path],
    as_of: date | None = None,
    *,
    executor=None,
    chunk_size: int = CHUNK_SIZE,
) -> list[EvaluationResult]:
    """Every result of the cohort files, in input order: what ``evaluate_cohort(load_cohorts(paths))`` gives."""
    return list(stream_cohort(loaded, paths, as_of, executor=executor, chunk_size=chunk_size))

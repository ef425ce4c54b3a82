"""Request bodies: bytes to parsed data with positions, envelopes validated, limits enforced.

Bodies are read here rather than by FastAPI so that JSON and YAML share one path, every
error carries the dotted path of the field at fault (and, for YAML, its line), and the
size limit (``middleware``) applies while the bytes stream in. Nothing here evaluates.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator, Field

from pbr_rules.api.deps import SettingsDep
from pbr_rules.api.errors import ApiError
from pbr_rules.api.settings import Settings
from pbr_rules.errors import Diagnostic, HistoryInvalid, InputInvalid
from pbr_rules.language import MAX_INT_CHARS, History, Source, cohort_problems, format_path, history_from_data, parse_yaml, validate_model
from pbr_rules.models.common import ISODate, Strict
from pbr_rules.models.history import SUBJECT_ID_PATTERN, ParticipantHistory
from pbr_rules.models.vocabulary import Known
from pbr_rules.personal_data import CPR_MESSAGE, contains_cpr, refuse_cpr

REQUEST_FILE = "<request>"
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
TEXT_TYPES = ("text/plain",)

ParticipantId = Annotated[str, BeforeValidator(refuse_cpr), Field(pattern=SUBJECT_ID_PATTERN)]


class EvaluateEnvelope(Strict):
    history: dict[str, Any]
    as_of: ISODate | None = None
    eligible_participants: list[ParticipantId] = Field(default_factory=list)
    participants: list[Any] = Field(default_factory=list)


class CohortEnvelope(Strict):
    kind: Literal["cohort"] | None = None
    histories: list[Any]
    as_of: ISODate | None = None


class ValidateEnvelope(Strict):
    yaml: str


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request) -> bytes:
    return await request.body()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "the body is not UTF-8 text", [{"path": "", "message": f"byte {exc.start} cannot be read as UTF-8", "hint": "send UTF-8"}]) from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


class _DuplicateKeys(dict):
    """A JSON object that gave a key more than once (refused by ``check_values``, as YAML refuses it)."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    duplicates = []
    for key, value in pairs:
        if key in out and key not in duplicates:
            duplicates.append(key)
        out[key] = value
    if duplicates:
        out = _DuplicateKeys(out)
        out.duplicates = duplicates
    return out


def _int(text: str) -> int:
    if len(text) > MAX_INT_CHARS:  # Python's own refusal (4,300 digits) named sys.set_int_max_str_digits()
        raise ValueError(f"a number of {len(text):,} characters; no figure here has more than {MAX_INT_CHARS}")
    return int(text)


def parse_json(raw: bytes) -> Source:
    """The JSON body; a key given twice in one object, NaN and Infinity are refused (see ``check_values``)."""
    text = _decode(raw)
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_object, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise ApiError(
            422,
            "the body is not valid JSON",
            [{"path": "", "line": exc.lineno, "col": exc.colno, "message": f"not valid JSON: {exc.msg}", "hint": ""}],
        ) from None
    except (ValueError, RecursionError) as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ApiError(422, "the body is not valid JSON", [{"path": "", "message": message, "hint": ""}]) from None
    return Source(file=REQUEST_FILE, data=data)


def parse_yaml_body(raw: bytes, settings: Settings, error: type[InputInvalid] = InputInvalid) -> Source:
    return parse_yaml(_decode(raw), file=REQUEST_FILE, max_bytes=settings.max_body_bytes, error=error)


def parse_document(raw: bytes, kind: str, settings: Settings, *, allowed: tuple[str, ...] = JSON_TYPES + YAML_TYPES) -> Source:
    """The body as data with positions, by its content type (JSON, or YAML)."""
    if kind not in allowed:
        shown = kind or "none"
        raise ApiError(415, f"content type {shown} is not accepted here; send one of: {', '.join(allowed)}")
    if not raw:
        raise ApiError(422, "the request body is empty", [{"path": "", "message": "a body is required", "hint": ""}])
    source = parse_json(raw) if kind in JSON_TYPES else parse_yaml_body(raw, settings)
    check_values(source)
    return source


def _check_events(data: Any, where: tuple, settings: Settings) -> None:
    """At most ``max_events_per_history`` records (list items) in one history, before it is validated."""
    if not isinstance(data, dict):
        return
    lists = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    total = sum(lists.values())
    if total > settings.max_events_per_history:
        longest = max(lists, key=lambda k: lists[k])
        counts = ", ".join(f"{k} {n}" for k, n in sorted(lists.items()) if n)
        raise InputInvalid(
            [
                Diagnostic(
                    file=REQUEST_FILE,
                    path=format_path(where + (longest,)),
                    message=f"the history has {total:,} records; the limit is {settings.max_events_per_history:,} per history",
                    hint=f"records by list: {counts}; send fewer, or ask for PBR_MAX_EVENTS_PER_HISTORY to be raised",
                )
            ]
        )


_HEX_DIGEST = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a content hash, not a number: its digit runs are chance
MAX_DIGITS = 15  # as for amounts written as text (money.py); larger whole numbers overflow the money context


def check_values(source: Source, error: type[InputInvalid] = InputInvalid) -> None:
    """Refuse, at their paths, what no body may hold, every problem at once:

    - a CPR number in any string or key (pbr_rules.personal_data), or a whole number that
      reads as one; the value is never echoed;
    - a key given twice in one JSON object (YAML refuses it when parsing);
    - whole numbers of more than 15 digits (a huge integer amount raised
      decimal.InvalidOperation, a 500, before this check).
    """
    problems: list[Diagnostic] = []

    def add(path: tuple, message: str, hint: str = "") -> None:
        file, line, col = source.where(path)
        problems.append(Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint))

    stack: list[tuple[tuple, Any]] = [((), source.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                add(path + (key,), f"the key '{key}' is given more than once in this object", "give each key once (YAML refuses duplicate keys too)")
            for k, v in value.items():
                if isinstance(k, str) and contains_cpr(k):
                    add(path + ("[key]",), CPR_MESSAGE)
                    continue
                stack.append((path + (k,), v))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in enumerate(value))
        elif isinstance(value, str):
            if contains_cpr(value) and not _HEX_DIGEST.fullmatch(value):
                add(path, CPR_MESSAGE)
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 10**MAX_DIGITS:
                add(path, f"a number of more than {MAX_DIGITS} digits is not accepted")
            elif contains_cpr(str(value)):
                add(path, CPR_MESSAGE)
    if problems:
        raise error(problems)


check_numbers = check_values  # the old name


def _is_bare_history(data: Any) -> bool:
    return isinstance(data, dict) and "history" not in data and ("participant" in data or "company" in data)


def parse_evaluate(
    source: Source, settings: Settings, known_codes: Known | frozenset[str]
) -> tuple[History, date | None, list[str], dict[str, ParticipantHistory]]:
    """``{history, as_of?, eligible_participants?, participants?}``, or a bare history document: validated, limits enforced.

    ``participants``: the hired participants' histories, which verify a company's hires
    (docs/semantics.md § 5, "Hires verified"); at most ``max_participants`` of them.
    ``source`` comes from ``parse_document``, which has refused what no body may hold.
    """
    data = source.data  # already checked by parse_document (check_values): not walked again
    if _is_bare_history(data):
        _check_events(data, (), settings)
        return history_from_data(data, source, known_codes), None, [], {}
    envelope: EvaluateEnvelope = validate_model(EvaluateEnvelope, source, InputInvalid)
    if len(envelope.participants) > settings.max_participants:
        n = len(envelope.participants)
        raise InputInvalid(
            [Diagnostic(file=REQUEST_FILE, path="participants", message=f"{n:,} participant histories in one request; the limit is {settings.max_participants:,}")]
        )
    _check_events(data["history"], ("history",), settings)
    history = history_from_data(data["history"], source, known_codes, ("history",))
    people: dict[str, ParticipantHistory] = {}
    problems: list[Diagnostic] = []
    for i, item in enumerate(data.get("participants") or []):
        try:
            _check_events(item, ("participants", i), settings)
            person = history_from_data(item, source, known_codes, ("participants", i))
        except InputInvalid as exc:
            problems.extend(exc.diagnostics)
            continue
        if not isinstance(person, ParticipantHistory):
            problems.append(Diagnostic(file=REQUEST_FILE, path=f"participants[{i}]", message="participants holds participant histories only"))
        elif person.participant in people:
            problems.append(Diagnostic(file=REQUEST_FILE, path=f"participants[{i}]", message=f"participant '{person.participant}' appears twice"))
        else:
            people[person.participant] = person
    if problems:
        raise HistoryInvalid(problems)
    return history, envelope.as_of, list(envelope.eligible_participants), people


def parse_cohort(source: Source, settings: Settings, known_codes: Known | frozenset[str]) -> tuple[list[History], date | None]:
    """``{histories: [...], as_of?}``: at most ``max_participants`` histories, every problem reported at once."""
    data = source.data
    if isinstance(data, dict) and isinstance(data.get("histories"), list) and len(data["histories"]) > settings.max_participants:
        n = len(data["histories"])
        raise InputInvalid(
            [
                Diagnostic(
                    file=REQUEST_FILE,
                    path="histories",
                    message=f"{n:,} histories in one request; the limit is {settings.max_participants:,}",
                    hint="split the cohort over several requests, or ask for PBR_MAX_PARTICIPANTS to be raised",
                )
            ]
        )
    envelope: CohortEnvelope = validate_model(CohortEnvelope, source, InputInvalid)  # source checked by parse_document
    histories: list[History] = []
    problems: list[Diagnostic] = []
    for i, item in enumerate(data["histories"]):
        try:
            _check_events(item, ("histories", i), settings)
            histories.append(history_from_data(item, source, known_codes, ("histories", i)))
        except InputInvalid as exc:
            problems.extend(exc.diagnostics)
    problems.extend(cohort_problems(histories))  # each subject once; a hire belongs to one company
    if problems:
        raise HistoryInvalid(problems)
    return histories, envelope.as_of


INLINE_JSON_BYTES = 64_000  # a JSON body this small parses and is checked in well under a millisecond


async def evaluate_source(request: Request, settings: SettingsDep) -> Source:
    """The evaluate body (JSON or YAML), parsed and checked once (``parse_document``).

    A small JSON body (a history or two) is parsed on the event loop: the thread hop would
    cost more than the parse. A YAML body, or a larger one, is parsed off the event loop."""
    raw, kind = await read_body(request), media_type(request)
    if kind in JSON_TYPES and len(raw) <= INLINE_JSON_BYTES:
        return parse_document(raw, kind, settings)
    return await run_in_threadpool(parse_document, raw, kind, settings)


EvaluateSource = Annotated[Source, Depends(evaluate_source)]


async def raw_body(request: Request) -> tuple[bytes, str]:
    """The body's bytes and media type, for routes that parse it themselves."""
    return await read_body(request), media_type(request)


RawBody = Annotated[tuple[bytes, str], Depends(raw_body)]


def contract_text(raw: bytes, kind: str) -> str:
    """The contract to validate: the raw YAML (text/plain, application/yaml) or JSON {"yaml": "..."}."""
    allowed = TEXT_TYPES + YAML_TYPES + JSON_TYPES
    if kind not in allowed:
        raise ApiError(415, f"content type {kind or 'none'} is not accepted here; send one of: {', '.join(allowed)}")
    if kind in JSON_TYPES:
        source = parse_json(raw)
        check_values(source)
        return validate_model(ValidateEnvelope, source, InputInvalid).yaml
    return _decode(raw)

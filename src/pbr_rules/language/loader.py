"""Files to models: contracts (with their template merged in), vocabularies and histories.

Owns reading every input file and reporting *every* problem in it at once, each at its
``file:line:col``. Never evaluates anything.

Template merge rules (an agreement that says ``extends: ../templates/x.yaml``):
1. mappings merge key by key, recursively: the agreement only writes what differs;
2. any other value (text, number, list, or null) in the agreement replaces the
   template's value whole (a list is never merged item by item);
3. a template is never an agreement: it says ``kind: template`` and cannot itself extend;
4. the merged document is validated as one agreement, and each error points at the file
   and line the offending value came from.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from pbr_rules.errors import ContractInvalid, Diagnostic, HistoryInvalid, InputInvalid
from pbr_rules.language.checks import check_contract, check_words
from pbr_rules.language.drafting import currency_problems, identity_problems, misnamed_milestones, stale_template_text
from pbr_rules.language.validation import locate_errors, validate_model
from pbr_rules.language.yaml_source import Source, format_path, load_yaml_file, parse_yaml, read_text
from pbr_rules.models.contract import Contract
from pbr_rules.models.history import CompanyHistory, ParticipantHistory, describe_hire, hires_overlap
from pbr_rules.models.vocabulary import BenefitCodes, Known, Vocabulary
from pbr_rules.periods import UnknownCalendar, check_calendar

FILE_KINDS = ("agreement", "template", "benefit_codes", "vocabulary", "scenarios", "benefit_rates", "changelog", "simulation")

# The jurisdiction's target groups and areas live in this file, beside its benefit-code file.
VOCABULARY_FILE = "vocabulary.yaml"


@dataclass(frozen=True)
class LoadedContract:
    """A validated agreement with its vocabulary, where it came from and its content hash.

    The content hash covers the merged agreement and its benefit codes (which decide what is
    paid); the target groups and areas of ``vocabulary`` only decide which words are known.
    """

    contract: Contract
    codes: BenefitCodes
    path: str
    content_hash: str
    template: str | None = None
    source: Source | None = field(default=None, compare=False, repr=False)
    vocabulary: Vocabulary | None = field(default=None, compare=False, repr=False)

    @property
    def ruleset_name(self) -> str:
        return f"{self.contract.id}@{self.content_hash[:16]}"

    @cached_property
    def known(self) -> Known:
        """The words a history evaluated under this agreement may use."""
        v = self.vocabulary
        return Known(
            benefit_codes=frozenset(self.codes.codes),
            target_groups=frozenset(v.target_groups) if v is not None else None,
            areas=frozenset(v.areas.codes) if v is not None else None,
        )


def canonical_json(data: Any) -> str:
    """The canonical text used for hashing and deterministic output: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_kind(source: Source) -> str | None:
    data = source.data
    return data.get("kind") if isinstance(data, dict) else None


def require_kind(source: Source, expected: tuple[str, ...], error: type[InputInvalid] = ContractInvalid) -> str:
    kind = file_kind(source)
    if not isinstance(source.data, dict):
        raise error([Diagnostic(file=source.file, line=1, col=1, message="expected a mapping of keys at the top of the file")])
    if kind not in expected:
        file, line, col = source.where(("kind",))
        shown = f"'{kind}'" if kind is not None else "missing"
        raise error(
            [
                Diagnostic(
                    file=file,
                    line=line or 1,
                    col=col or 1,
                    path="kind",
                    message=f"kind is {shown}; this file must be one of: {', '.join(expected)}",
                    hint="the first key of every file says what it is, e.g. 'kind: agreement'",
                )
            ]
        )
    return kind


# --- contracts --------------------------------------------------------------------------


def load_contract(path: str | Path) -> LoadedContract:
    """Load an agreement file (merging its template), validate and cross-check it."""
    path = Path(path)
    source = load_yaml_file(path)
    return contract_from_source(source, base_dir=path.parent)


def contract_from_source(source: Source, *, base_dir: Path | None) -> LoadedContract:
    """Validate an agreement (merged with its template) and cross-check it; every problem at once.

    Problems are found in two rounds. The first reads the merged YAML: every value checked on
    its own by the models, and the raw checks of :mod:`pbr_rules.language.drafting` (currency,
    file name and id, misspelt milestone ids). The second, the cross-checks
    (:mod:`pbr_rules.language.checks`), needs a valid agreement: it runs when the first round
    found nothing, and also when everything it found is a misspelt name (an unknown key, a
    tariff or cap for an unknown milestone, a misspelt new milestone), which is then left out.
    """
    require_kind(source, ("agreement",))
    template, template_path = _template_of(source, base_dir)
    agreement = source
    if template is not None:
        source = merge_sources(template, source)
    problems = identity_problems(source) + (currency_problems(template, agreement) if template is not None else [])

    contract, found = _validate_contract(source, template)
    problems += found
    if contract is None:
        # Every problem at once: the words the vocabulary does not know (formerly enums, found
        # with the other values' mistakes) are reported beside them.
        raise ContractInvalid(problems + _unknown_words_in(source, problems))

    # The vocabulary path is relative to the file that named it (often the template).
    vfile, _, _ = source.where(("benefit_codes",))
    vpath = (Path(vfile).parent / contract.benefit_codes) if vfile and not vfile.startswith("<") else None
    if vpath is None or not vpath.exists():
        file, line, col = source.where(("benefit_codes",))
        problems.append(
            Diagnostic(file=file, line=line, col=col, path="benefit_codes", message=f"benefit-code file not found: {contract.benefit_codes}")
        )
        raise ContractInvalid(problems)
    codes = load_benefit_codes(vpath)
    vocabulary, found = _vocabulary_for(contract, vpath)
    if vocabulary is not None:
        found += check_contract(contract, frozenset(codes.codes), vocabulary)
    problems += [_at(source, p, m, h) for p, m, h in found]
    if problems:
        raise ContractInvalid(problems)

    digest = hashlib.sha256(
        canonical_json({"contract": contract.model_dump(mode="json"), "benefit_codes": codes.model_dump(mode="json")}).encode()
    ).hexdigest()
    return LoadedContract(
        contract=contract, codes=codes, path=source.file, content_hash=digest, template=template_path, source=source, vocabulary=vocabulary
    )


def _unknown_words_in(source: Source, found: list[Diagnostic]) -> list[Diagnostic]:
    """The target groups and area code of an agreement that failed validation, checked against
    its vocabulary when that can be found from the raw file (else nothing: the next round will)."""
    data = source.data
    codes_at, _, _ = source.where(("benefit_codes",))
    named = data.get("benefit_codes")
    if not isinstance(named, str) or not codes_at or codes_at.startswith("<"):
        return []
    words = (Path(codes_at).parent / named).parent / VOCABULARY_FILE
    raw_j = data.get("jurisdiction")
    if not words.exists() or not (raw_j is None or isinstance(raw_j, dict)):
        return []
    try:
        vocabulary = load_vocabulary(words)
    except ContractInvalid:
        return []
    if (raw_j or {"country": "DK"}) != vocabulary.jurisdiction.model_dump():
        return []

    def strings(value) -> list:
        return value if isinstance(value, list) else []

    municipality = (data.get("municipality") or {}).get("code") if isinstance(data.get("municipality"), dict) else None
    citizens = ((data.get("eligibility") or {}).get("citizens") or {}) if isinstance(data.get("eligibility"), dict) else {}
    groups = [(i, g) for i, g in enumerate(strings(citizens.get("target_groups") if isinstance(citizens, dict) else None)) if isinstance(g, str)]
    tariffs = data.get("tariffs") if isinstance(data.get("tariffs"), dict) else {}
    lines = [(mid, g) for mid, t in tariffs.items() if isinstance(t, dict) and isinstance(t.get("amounts"), dict) for g in t["amounts"] if isinstance(g, str)]
    problems = check_words(municipality if isinstance(municipality, str) else None, groups, lines, vocabulary)
    already = {d.path for d in found}
    return [d for d in (_at(source, p, m, h) for p, m, h in problems) if d.path not in already]


def _vocabulary_for(contract: Contract, codes_path: Path) -> tuple[Vocabulary | None, list]:
    """The jurisdiction's vocabulary (``vocabulary.yaml`` beside the benefit codes), and what
    does not fit: an unknown calendar, a missing vocabulary, a vocabulary of another jurisdiction."""
    problems: list = []
    j = contract.jurisdiction
    if j is not None:
        try:
            check_calendar(j.country, j.subdivision)
        except UnknownCalendar as exc:
            return None, [(("jurisdiction", exc.part), str(exc), exc.hint)]
    vfile = codes_path.parent / VOCABULARY_FILE
    if not vfile.exists():
        problems.append(
            (
                ("benefit_codes",),
                f"no {VOCABULARY_FILE} beside the benefit-code file {contract.benefit_codes}",
                f"the target groups and areas of the jurisdiction live in {VOCABULARY_FILE} in the same folder as its benefit codes",
            )
        )
        return None, problems
    vocabulary = load_vocabulary(vfile)
    want = contract.effective_jurisdiction
    if vocabulary.jurisdiction != want:
        here = ("jurisdiction",) if j is not None else ("benefit_codes",)
        said = "" if j is not None else " (an agreement that names no jurisdiction is Danish)"
        problems.append(
            (
                here,
                f"the agreement's jurisdiction is {want.code}{said}, but its benefit codes {contract.benefit_codes} "
                f"and the {VOCABULARY_FILE} beside them are for {vocabulary.jurisdiction.code}",
                f"name the benefit-code file of {want.code} in benefit_codes, or write jurisdiction: {vocabulary.jurisdiction.as_yaml}",
            )
        )
        return None, problems
    return vocabulary, problems


def read_agreement(source: Source, *, base_dir: Path | None) -> tuple[Source, Source | None]:
    """The agreement laid over its template, not validated, and the template; the agreement
    alone (and None) when it extends nothing or its template cannot be read. Never raises."""
    try:
        template, _path = _template_of(source, base_dir) if isinstance(source.data, dict) else (None, None)
    except InputInvalid:
        return source, None
    if template is None or not isinstance(template.data, dict):
        return source, None
    return merge_sources(template, source), template


def agreement_warnings(agreement: Source, merged: Source, template: Source | None) -> list[Diagnostic]:
    """What is probably a mistake in an agreement though it can be paid (see :mod:`pbr_rules.language.drafting`):
    figures it changes while the text describing them is the template's. ``merged`` and
    ``template`` as :func:`read_agreement` gives them."""
    return stale_template_text(template, agreement, merged) if template is not None else []


# Every key of a contract that names a file (resolved from the contract's folder).
FILE_KEYS = (("extends",), ("benefit_codes",), ("business_case", "benefit_rates"), ("business_case", "counterfactual", "cohort"))


def files_inside(source: Source, base: Path, root: Path, *others: Path) -> None:
    """For a contract posted to the service (the API, the web workspace): every file it names
    (``FILE_KEYS``), resolved from ``base``, must be inside ``root`` (the service's contracts
    folder) or one of ``others`` (its cohorts folder, where a comparison group may live), so
    a posted text cannot make the service read any other file. Raises ContractInvalid naming
    each key that points outside."""
    data = source.data
    if not isinstance(data, dict):
        return
    roots = [r.resolve() for r in (root, *others)]
    problems = []
    for path in FILE_KEYS:
        value: Any = data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            target = (base / value).resolve()
            if not any(target.is_relative_to(r) for r in roots):
                file, line, col = source.where(path)
                key = ".".join(path)
                problems.append(
                    Diagnostic(
                        file=file, line=line, col=col, path=key,
                        message=f"{key} must name a file inside the service's contracts folder" + (" or its cohorts folder" if others else ""),
                        hint="paths resolve from the agreements folder, e.g. '../templates/vaekstpartnerskaber.yaml'",
                    )
                )
    if problems:
        raise ContractInvalid(problems)


def relative_diagnostic(d: Diagnostic, roots: Sequence[tuple[Path, str]]) -> Diagnostic:
    """``d`` as a service shows it: its file relative to the first of ``roots`` (resolved folder,
    label) holding it, as ``label/relative`` (just ``relative`` for an empty label), or its name
    alone elsewhere; those folders' paths in its words replaced the same way (an empty label's
    folder itself by '.'). Never the server's own paths."""

    def words(text: str) -> str:
        for root, label in roots:
            text = text.replace(str(root) + "/", f"{label}/" if label else "").replace(str(root), label or ".")
        return text

    file = d.file
    if file and not file.startswith("<"):
        p = Path(file)
        held = [(root, label) for root, label in roots if p.is_absolute() and p.resolve().is_relative_to(root)]
        if held:
            root, label = held[0]
            rel = p.resolve().relative_to(root).as_posix()
            file = f"{label}/{rel}" if label else rel
        else:
            file = p.name
    return Diagnostic(file=file, line=d.line, col=d.col, path=d.path, message=words(d.message), hint=words(d.hint), severity=d.severity)


def _template_of(source: Source, base_dir: Path | None) -> tuple[Source | None, str | None]:
    """The template an agreement ``extends`` (with its resolved path), or (None, None) when it extends none."""
    data = source.data
    if "extends" not in data:
        return None, None
    ext = data["extends"]
    if not isinstance(ext, str) or not ext.strip():
        file, line, col = source.where(("extends",))
        raise ContractInvalid(
            [
                Diagnostic(
                    file=file, line=line, col=col, path="extends", message="extends must be a path to a template",
                    hint="relative to the agreement's folder, e.g. '../templates/vaekstpartnerskaber.yaml'",
                )
            ]
        )
    if base_dir is None:
        file, line, col = source.where(("extends",))
        raise ContractInvalid(
            [
                Diagnostic(
                    file=file, line=line, col=col, path="extends",
                    message="a contract sent on its own cannot extend a template",
                    hint="send the merged agreement, or validate the file in the contracts folder",
                )
            ]
        )
    tpath = (base_dir / ext).resolve()
    try:
        template = load_yaml_file(tpath)
    except ContractInvalid as exc:
        if not tpath.exists():
            file, line, col = source.where(("extends",))
            raise ContractInvalid(
                [Diagnostic(file=file, line=line, col=col, path="extends", message=f"template not found: {ext}", hint=f"looked for {tpath}")]
            ) from None
        raise exc
    require_kind(template, ("template",))
    if "extends" in template.data:
        file, line, col = template.where(("extends",))
        raise ContractInvalid(
            [
                Diagnostic(
                    file=file, line=line, col=col, path="extends", message="a template cannot extend another template",
                    hint="an agreement extends one template: write the local values in the agreement itself",
                )
            ]
        )
    return template, str(tpath)


def _validate_contract(merged: Source, template: Source | None) -> tuple[Contract | None, list[Diagnostic]]:
    """Round one: the models on the merged data. Returns the contract to cross-check (None when
    the problems leave nothing to cross-check) and the problems found."""
    ctx: dict = {}
    try:
        return Contract.model_validate(merged.data, context=ctx), []
    except ValidationError as exc:
        found = locate_errors(exc, merged, ctx)
    named, set_aside = misnamed_milestones(merged, template, found)

    def explained(f) -> bool:
        return f.kind == "missing" and any(f.path[: len(p)] == p for p in set_aside)

    problems = [f.diagnostic for f in found if not explained(f)] + named
    # Leave the misspelt names out and check the rest, so that one typo does not hide the
    # cross-checks of everything else.
    set_aside += [f.path for f in found if f.kind == "extra_forbidden"]
    try:
        return Contract.model_validate(_without(merged.data, set_aside), context={}), problems
    except ValidationError:
        return None, problems


def _without(data: Any, paths: list[tuple]) -> Any:
    """A copy of ``data`` without the mapping keys at ``paths`` (steps may go through list items)."""
    if not paths:
        return data
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return data
    kept = [(k, _without(v, [p[1:] for p in paths if len(p) > 1 and p[0] == k])) for k, v in items if (k,) not in paths]
    return dict(kept) if isinstance(data, dict) else [v for _, v in kept]


def _at(source: Source, path: tuple, message: str, hint: str) -> Diagnostic:
    file, line, col = source.where(path)
    return Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint)


def merge_sources(template: Source, agreement: Source) -> Source:
    """The agreement laid over its template by the merge rules in this module's docstring."""
    positions = dict(template.positions)
    key_positions = dict(template.key_positions)

    def drop_under(prefix: tuple):
        for table in (positions, key_positions):
            for p in [p for p in table if p[: len(prefix)] == prefix and len(p) > len(prefix)]:
                del table[p]

    def merge(base: Any, over: Any, path: tuple) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            out = dict(base)
            for k, v in over.items():
                if path == () and k == "extends":
                    continue
                sub = path + (k,)
                out[k] = merge(base[k], v, sub) if k in base else v
                if k not in base or not (isinstance(base[k], dict) and isinstance(v, dict)):
                    drop_under(sub)
                    _copy_positions(agreement, sub, positions, key_positions)
                else:
                    key_positions[sub] = agreement.key_positions.get(sub, key_positions.get(sub))
                    positions[sub] = agreement.positions.get(sub, positions.get(sub))
            return out
        return over

    data = merge(template.data, agreement.data, ())
    data["kind"] = "agreement"
    positions[("kind",)] = agreement.positions.get(("kind",), positions.get(("kind",)))
    # The document itself is the agreement's: a key missing from both (an agreement without its
    # 'id') is placed in the agreement, where it belongs, not at the top of the template.
    for table, own in ((positions, agreement.positions), (key_positions, agreement.key_positions)):
        table[()] = own.get((), (agreement.file, 1, 1))
    # Only consulted for a float at that very path, so a template's text under a subtree the
    # agreement replaced can never be shown for the agreement's value.
    float_texts = {**template.float_texts, **agreement.float_texts}
    return Source(file=agreement.file, data=data, positions=positions, key_positions=key_positions, float_texts=float_texts)


def _copy_positions(src: Source, prefix: tuple, positions: dict, key_positions: dict) -> None:
    n = len(prefix)
    for p, pos in src.positions.items():
        if p[:n] == prefix:
            positions[p] = pos
    for p, pos in src.key_positions.items():
        if p[:n] == prefix:
            key_positions[p] = pos


def load_template(path: str | Path) -> Source:
    """A template on its own: well-formed YAML of the right kind (it is checked fully when merged)."""
    source = load_yaml_file(Path(path))
    require_kind(source, ("template",))
    return source


# --- vocabularies -----------------------------------------------------------------------

_CODES_CACHE: dict[tuple[str, float], BenefitCodes] = {}


def load_benefit_codes(path: str | Path) -> BenefitCodes:
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime)
    if key not in _CODES_CACHE:
        source = load_yaml_file(path)
        require_kind(source, ("benefit_codes",))
        _CODES_CACHE[key] = validate_model(BenefitCodes, source, ContractInvalid)
    return _CODES_CACHE[key]


_VOCABULARY_CACHE: dict[tuple[str, float], Vocabulary] = {}


def load_vocabulary(path: str | Path) -> Vocabulary:
    """A jurisdiction's target groups and areas (``kind: vocabulary``), its calendar checked."""
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime)
    if key not in _VOCABULARY_CACHE:
        source = load_yaml_file(path)
        require_kind(source, ("vocabulary",))
        vocabulary: Vocabulary = validate_model(Vocabulary, source, ContractInvalid)
        j = vocabulary.jurisdiction
        try:
            check_calendar(j.country, j.subdivision)
        except UnknownCalendar as exc:
            raise ContractInvalid([_at(source, ("jurisdiction",), str(exc), exc.hint)]) from None
        _VOCABULARY_CACHE[key] = vocabulary
    return _VOCABULARY_CACHE[key]


# --- histories --------------------------------------------------------------------------

History = ParticipantHistory | CompanyHistory


def history_from_data(data: Any, source: Source, known_codes: Known | frozenset[str] | None, prefix: tuple = ()) -> History:
    """Validate one history (participant or company) from parsed data; every problem at once."""
    if not isinstance(data, dict):
        file, line, col = source.where(prefix)
        raise HistoryInvalid([Diagnostic(file=file, line=line, col=col, path=format_path(prefix), message="a history must be a mapping")])
    kind = data.get("kind", "participant")
    cls = CompanyHistory if kind == "company" else ParticipantHistory
    if kind not in ("participant", "company"):
        file, line, col = source.where(prefix + ("kind",))
        raise HistoryInvalid(
            [Diagnostic(file=file, line=line, col=col, path=format_path(prefix + ("kind",)), message=f"kind '{kind}' is not a history", hint="allowed: participant, company")]
        )
    history = validate_model(cls, source, HistoryInvalid, prefix=prefix)
    problems = history.problems(known_codes)
    if problems:
        raise HistoryInvalid([_at(source, prefix + p, m, "") for p, m in problems])
    if cls is CompanyHistory and history.hires:
        _remember_hire_lines(history, [source.where(prefix + ("hires", i)) for i in range(len(history.hires))])
    return history


# Where each company history's hires were read (file, line, col), so that a problem found
# across a cohort (overlapping hires of one person) can point at the lines. Histories are
# frozen models: the positions are kept beside them, keyed by identity, while they live.
_HIRE_LINES: dict[int, tuple[weakref.ref, list[tuple[str, int, int]]]] = {}


def _remember_hire_lines(h: CompanyHistory, where: list[tuple[str, int, int]]) -> None:
    key = id(h)
    _HIRE_LINES[key] = (weakref.ref(h, lambda _r, key=key: _HIRE_LINES.pop(key, None)), where)


def _hire_at(h: CompanyHistory, i: int) -> tuple[str, int, int]:
    entry = _HIRE_LINES.get(id(h))
    if entry is None or entry[0]() is not h or i >= len(entry[1]):
        return "", 0, 0
    return entry[1][i]


def load_history(path: str | Path, known_codes: Known | frozenset[str] | None = None) -> History:
    """One history from a YAML or JSON file."""
    path = Path(path)
    source = parse_yaml(read_text(path, error=HistoryInvalid), file=str(path), error=HistoryInvalid)
    return history_from_data(source.data, source, known_codes)


def load_cohorts(paths: list[str | Path], known_codes: Known | frozenset[str] | None = None) -> list[History]:
    """Histories from several files or folders (e.g. participants and companies), each subject once.

    Every history that cannot be read, in every file, is reported at once; only when all can be
    read are subjects given twice (and hires claimed twice) looked for, over the whole cohort."""
    out: list[History] = []
    problems: list[Diagnostic] = []
    for p in paths:
        try:
            out.extend(load_cohort(p, known_codes, unique=False))
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise HistoryInvalid(problems)
    return _unique(out)


def load_cohort(path: str | Path, known_codes: Known | frozenset[str] | None = None, *, unique: bool = True) -> list[History]:
    """Histories from a JSON Lines file, a CSV file (long format, docs/histories.md), a YAML list or a folder (searched recursively).

    ``unique=False`` leaves out the check that each subject is given once (for a caller that
    checks a whole cohort of several files, once every file could be read)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json", ".jsonl", ".csv"))
        if not files:
            raise HistoryInvalid([Diagnostic(file=str(path), message="no .yaml, .json, .jsonl or .csv files in this folder")])
        out: list[History] = []
        problems: list[Diagnostic] = []
        for f in files:
            try:
                out.extend(load_cohort(f, known_codes, unique=False) if f.suffix in (".jsonl", ".csv") else _histories_in_file(f, known_codes))
            except HistoryInvalid as exc:
                problems.extend(exc.diagnostics)
        if problems:
            raise HistoryInvalid(problems)
    elif path.suffix == ".jsonl":
        out = _load_jsonl(path, known_codes)
    elif path.suffix == ".csv":
        out = _load_csv(path, known_codes)
    else:
        out = _histories_in_file(path, known_codes)
    return _unique(out) if unique else out


def _histories_in_file(path: Path, known_codes) -> list[History]:
    source = parse_yaml(read_text(path, max_bytes=200_000_000, error=HistoryInvalid), file=str(path), error=HistoryInvalid, max_bytes=200_000_000, max_nodes=50_000_000)
    data = source.data
    if isinstance(data, dict) and data.get("kind") == "cohort":
        items = data.get("histories")
        if not isinstance(items, list):
            raise HistoryInvalid([Diagnostic(file=str(path), path="histories", message="a cohort file needs a list 'histories'")])
        return _collect([(lambda i=i: history_from_data(items[i], source, known_codes, ("histories", i))) for i in range(len(items))])
    if isinstance(data, list):
        return _collect([(lambda i=i: history_from_data(data[i], source, known_codes, (i,))) for i in range(len(data))])
    return [history_from_data(data, source, known_codes)]


def _collect(thunks) -> list[History]:
    out, problems = [], []
    for t in thunks:
        try:
            out.append(t())
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise HistoryInvalid(problems)
    return out


def _load_jsonl(path: Path, known_codes) -> list[History]:
    text = read_text(path, max_bytes=2_000_000_000, error=HistoryInvalid)
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic(file=str(path), line=n, col=exc.colno, message=f"not valid JSON: {exc.msg}"))
            continue
        source = Source(file=str(path), data=data, positions={(): (str(path), n, 1)})
        try:
            out.append(history_from_data(data, source, known_codes))
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise HistoryInvalid(problems)
    return out


# CSV long format: one row per record; see docs/histories.md.
_CSV_LIST_RECORDS = {"benefit": "benefits", "employment": "employment", "course": "course", "event": "events", "exit": "exits", "phase": "phases", "hire": "hires"}
_CSV_FIELDS = {
    "benefit": ("weeks", "code"),
    "employment": ("start", "end", "hours_per_week", "monthly_earnings", "employer", "partner_company", "kind"),
    "course": ("date", "kind", "sessions"),
    "event": ("date", "kind", "name", "evidence"),
    "exit": ("date", "reason"),
    "phase": ("phase", "completed"),
    "hire": ("participant", "date", "end"),
    "participant": ("municipality", "birth_date", "age_at_enrolment", "target_group", "benefit_at_enrolment", "resident", "referred", "enrolment", "extracted"),
    "company": ("municipality", "size_band", "partner", "start", "extracted"),
}
_CSV_INTS = {"age_at_enrolment", "sessions"}
_CSV_BOOLS = {"partner_company", "resident", "partner"}
_CSV_NUMBERS = {"hours_per_week"}  # CSV cells are text; a number column is read as a number here


def _load_csv(path: Path, known_codes) -> list[History]:
    text = read_text(path, max_bytes=2_000_000_000, error=HistoryInvalid)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames or "record" not in reader.fieldnames:
        raise HistoryInvalid([Diagnostic(file=str(path), line=1, col=1, message="a cohort CSV needs the columns 'id' and 'record'", hint="see docs/histories.md")])
    subjects: dict[str, dict] = {}
    rows_of: dict[str, dict[tuple, int]] = {}
    problems: list[Diagnostic] = []
    for n, row in enumerate(reader, start=2):
        rec, sid = (row.get("record") or "").strip(), (row.get("id") or "").strip()
        if rec not in _CSV_FIELDS:
            problems.append(Diagnostic(file=str(path), line=n, col=1, path="record", message=f"unknown record '{rec}'", hint=f"allowed: {', '.join(_CSV_FIELDS)}"))
            continue
        values = {}
        for f in _CSV_FIELDS[rec]:
            v = (row.get(f) or "").strip()
            if v == "":
                continue
            if f in _CSV_INTS and re.fullmatch(r"[0-9]+", v):
                v = int(v)
            elif f in _CSV_NUMBERS and re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?", v):
                v = Decimal(v)
            elif f in _CSV_BOOLS and v.lower() in ("true", "false", "1", "0", "yes", "no"):
                v = v.lower() in ("true", "1", "yes")
            values[f] = v
        subj = subjects.setdefault(sid, {})
        rows = rows_of.setdefault(sid, {})
        if rec in ("participant", "company"):
            if "kind" in subj:
                problems.append(Diagnostic(file=str(path), line=n, col=1, message=f"'{sid}' has two {rec} rows"))
                continue
            subj.update({"kind": rec, ("participant" if rec == "participant" else "company"): sid, **values})
            rows[()] = n
        else:
            lst = subj.setdefault(_CSV_LIST_RECORDS[rec], [])
            rows[(_CSV_LIST_RECORDS[rec], len(lst))] = n
            lst.append(values)
    out = []
    for sid, data in subjects.items():
        if "kind" not in data:
            problems.append(Diagnostic(file=str(path), message=f"'{sid}' has records but no participant or company row"))
            continue
        positions = {p: (str(path), line, 1) for p, line in rows_of[sid].items()}
        source = Source(file=str(path), data=data, positions=positions)
        try:
            out.append(history_from_data(data, source, known_codes))
        except HistoryInvalid as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise HistoryInvalid(problems)
    return out


def subject_id(h: History) -> str:
    return h.participant if isinstance(h, ParticipantHistory) else h.company


def cohort_problems(histories: list[History]) -> list[Diagnostic]:
    """What is impossible across a cohort: a subject given twice, one hire claimed by two companies."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    hired: dict[tuple[str, object], str] = {}
    held: dict[str, list[tuple[CompanyHistory, int, object]]] = {}  # participant -> (company, index, hire)
    for h in histories:
        key = (h.kind, subject_id(h))
        if key in seen:
            out.append(Diagnostic(message=f"{h.kind} '{subject_id(h)}' appears twice in the cohort", hint="give each subject once"))
        seen.add(key)
        if isinstance(h, CompanyHistory):
            for i, hire in enumerate(h.hires):
                other = hired.setdefault((hire.participant, hire.date), h.company)
                if other != h.company:
                    out.append(
                        Diagnostic(
                            path=f"hires[{i}]",
                            message=f"participant '{hire.participant}' is hired on {hire.date} by both '{other}' and '{h.company}'",
                            hint="a hire belongs to one company; correct the company histories",
                        )
                    )
                    continue
                for company, j, earlier in held.get(hire.participant, ()):
                    if company.company != h.company and hires_overlap(earlier, hire):
                        file, line, col = _hire_at(h, i)
                        other_file, other_line, _ = _hire_at(company, j)
                        there = f" at {other_file}:{other_line}" if other_file else ""
                        out.append(
                            Diagnostic(
                                file=file,
                                line=line,
                                col=col,
                                path=f"hires[{i}]",
                                message=f"{describe_hire(hire)} by '{h.company}' overlaps {describe_hire(earlier)} by '{company.company}' (hires[{j}]{there})",
                                hint="a person holds one hire at a time; end the first hire before the next starts",
                            )
                        )
                        break
                held.setdefault(hire.participant, []).append((h, i, hire))
    return out


def _unique(histories: list[History]) -> list[History]:
    problems = cohort_problems(histories)
    if problems:
        raise HistoryInvalid(problems)
    return histories

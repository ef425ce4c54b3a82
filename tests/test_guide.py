"""The contract-language guide (docs/contract-language.md) stays true and complete.

1. Every ```yaml example in the guide is checked:
   - a complete file (its first key is ``kind:``) is written where it would live in the
     contracts folder (agreements/607-fredericia.yaml, data/...) of a temporary copy of
     the real templates and benefit codes, and loaded with the real loader;
     when its first line starts with ``# invalid`` it is an agreement that must be
     refused (it may even be broken YAML), and if the next fenced block is ```text, that
     must be exactly the error the loader prints;
   - a fragment starts with ``# fragment: ModelName`` (or ``# fragment: ModelName
     (invalid)``) and is validated with ``ModelName.model_validate``.
2. Every key of every model reachable from Contract, BenefitCodes and Vocabulary is documented in the
   model's own section of the guide (the section whose heading says ``(model: Name)``):
   in a table row (first cell `` `key` ``) and as a key in a ```yaml example there.
   Every allowed value of a key with a fixed list of values appears there too.
"""

from __future__ import annotations

import re
import shutil
import types
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from pbr_rules.errors import InputInvalid
from pbr_rules.evaluation.savings import load_benefit_rates
from pbr_rules.language.loader import load_benefit_codes, load_contract, load_template, load_vocabulary
from pbr_rules.models import contract as contract_models
from pbr_rules.models import rates as rates_models
from pbr_rules.models import vocabulary as vocabulary_models
from pbr_rules.models.contract import Contract
from pbr_rules.models.vocabulary import BenefitCodes, Vocabulary

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "contract-language.md"
CONTRACTS = ROOT / "contracts"

FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)
MODEL_MARK = re.compile(r"\(model:\s*([A-Za-z_][A-Za-z0-9_]*)\)")
FRAGMENT = re.compile(r"^#\s*fragment:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\(invalid\))?\s*$")

# The file an agreement example is written to, relative to the temporary working folder.
EXAMPLE_AGREEMENT = "contracts/agreements/607-fredericia.yaml"


# --- reading the guide ------------------------------------------------------------------


@dataclass
class Block:
    lang: str
    text: str
    line: int  # line of the opening fence in the guide
    start: int  # character offset of the opening fence

    def where(self) -> str:
        return f"docs/contract-language.md:{self.line}"


def guide_text() -> str:
    assert GUIDE.exists(), "docs/contract-language.md is missing"
    return GUIDE.read_text(encoding="utf-8")


def blocks(text: str) -> list[Block]:
    return [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1, m.start()) for m in FENCE.finditer(text)
    ]


def yaml_blocks(text: str) -> list[Block]:
    return [b for b in blocks(text) if b.lang == "yaml"]


def strip_fences(text: str) -> str:
    """The guide with code blocks blanked out (so headings inside examples are not headings)."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)  # same length: offsets still match


@dataclass
class Section:
    model: str
    heading: str
    start: int
    end: int


def model_sections(text: str) -> dict[str, Section]:
    """Each model's own section: from its '(model: Name)' heading to the next heading of the
    same or a higher level, or the next heading that names another model."""
    plain = strip_fences(text)
    heads = [(len(m.group(1)), m.group(2), m.start()) for m in HEADING.finditer(plain)]
    out: dict[str, Section] = {}
    for i, (level, title, start) in enumerate(heads):
        mark = MODEL_MARK.search(title)
        if not mark:
            continue
        end = len(text)
        for level2, title2, start2 in heads[i + 1 :]:
            if level2 <= level or MODEL_MARK.search(title2):
                end = start2
                break
        name = mark.group(1)
        assert name not in out, f"two headings say '(model: {name})': keep one section per model"
        out[name] = Section(name, title, start, end)
    return out


def yaml_keys(data) -> set[str]:
    """Every mapping key anywhere in parsed YAML data."""
    keys: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            keys.add(str(k))
            keys |= yaml_keys(v)
    elif isinstance(data, list):
        for v in data:
            keys |= yaml_keys(v)
    return keys


def table_first_cells(text: str) -> list[str]:
    cells = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.match(r"^\|[\s:|-]+\|?$", line):
            cells.append(line.strip("|").split("|")[0])
    return cells


# --- walking the models -----------------------------------------------------------------


def model_name(cls: type[BaseModel]) -> str:
    origin = getattr(cls, "__pydantic_generic_metadata__", {}).get("origin")
    return (origin or cls).__name__


def walk_models(roots) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    """(model name -> its keys, (model, key) -> allowed values when fixed), from the roots down."""
    fields: dict[str, list[str]] = {}
    values: dict[tuple[str, str], list[str]] = {}
    seen: set[type] = set()

    def visit_type(tp, owner: str, key: str):
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            visit_type(typing.get_args(tp)[0], owner, key)
        elif origin is typing.Literal:
            for v in typing.get_args(tp):
                if v not in values.setdefault((owner, key), []):
                    values[(owner, key)].append(v)
        elif origin in (typing.Union, types.UnionType, list, dict, tuple, set, frozenset):
            for arg in typing.get_args(tp):
                if arg is not Ellipsis and arg is not type(None):
                    visit_type(arg, owner, key)
        elif isinstance(tp, type) and issubclass(tp, Enum):
            for member in tp:
                if member.value not in values.setdefault((owner, key), []):
                    values[(owner, key)].append(member.value)
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            visit_model(tp)

    def visit_model(cls: type[BaseModel]):
        if cls in seen:
            return
        seen.add(cls)
        name = model_name(cls)
        keys = fields.setdefault(name, [])
        for key, info in cls.model_fields.items():
            if key not in keys:
                keys.append(key)
            visit_type(info.annotation, name, key)

    for root in roots:
        visit_model(root)
    return fields, values


MODELS, ALLOWED_VALUES = walk_models([Contract, BenefitCodes, Vocabulary])


def test_the_walk_reaches_every_model():
    expected = {
        "Contract", "Municipality", "Party", "Term", "Eligibility", "CitizenEligibility", "AgeRange",
        "BaselineRequirement", "DateRange", "CompanyEligibility", "Milestone", "Window", "Repeat",
        "MilestoneDefinition", "DatedEntry", "Tariff", "VolumeTier", "PayerShare", "PaymentTerms",
        "ClaimLag", "Caps", "BenefitCodes", "BenefitCode", "Jurisdiction", "Vocabulary", "TargetGroupEntry", "Areas",
        "Enrolment", "OutcomeEvent", "EmploymentWeeks", "SelfSupportingWeeks", "CumulativeEarnings",
        "CourseAttendance", "CourseCompletion", "FlexjobHoursIncrease", "AcceleratorPhase",
        "CompanyHire", "HireRetained",
    }  # fmt: skip
    missing = expected - set(MODELS)
    assert not missing, f"the model walk in this test did not reach {sorted(missing)}"
    assert set(MODELS["DatedEntry"]) >= {"value", "reference", "documentation"}


# --- 1. every example is checked ------------------------------------------------------


def _resolve_model(name: str) -> type[BaseModel]:
    for module in (contract_models, vocabulary_models, rates_models):
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            return cls
    raise AssertionError(
        f"'# fragment: {name}' names no model; use a class of pbr_rules.models.contract or "
        "pbr_rules.models.vocabulary, e.g. '# fragment: Tariff'"
    )


def _next_block(all_blocks: list[Block], block: Block) -> Block | None:
    later = [b for b in all_blocks if b.start > block.start]
    return later[0] if later else None


@pytest.fixture
def contracts_copy(tmp_path, monkeypatch):
    """A working folder with contracts/{templates,data,agreements} copied from the real folder."""
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS / "templates", root / "templates")
    shutil.copytree(CONTRACTS / "data", root / "data")
    (root / "agreements").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _load_complete(block: Block, data: dict, folder: Path):
    kind = data.get("kind")
    if kind == "agreement":
        target = folder / EXAMPLE_AGREEMENT
        target.write_text(block.text, encoding="utf-8")
        return load_contract(EXAMPLE_AGREEMENT)
    if kind == "benefit_codes":
        rel = "contracts/data/example-benefit-codes.yaml"
        (folder / rel).write_text(block.text, encoding="utf-8")
        return load_benefit_codes(rel)
    if kind == "vocabulary":
        rel = "contracts/data/example/vocabulary.yaml"
        (folder / rel).parent.mkdir(exist_ok=True)
        (folder / rel).write_text(block.text, encoding="utf-8")
        return load_vocabulary(rel)
    if kind == "benefit_rates":
        rel = "contracts/data/example-benefit-rates.yaml"
        (folder / rel).write_text(block.text, encoding="utf-8")
        return load_benefit_rates(rel)
    if kind == "template":
        rel = "contracts/templates/example-template.yaml"
        (folder / rel).write_text(block.text, encoding="utf-8")
        return load_template(rel)
    raise AssertionError(
        f"{block.where()}: an example with 'kind: {kind}' cannot be checked; "
        "use an agreement, template or benefit_codes file, or a '# fragment: ModelName' example"
    )


def test_guide_has_examples():
    assert len(yaml_blocks(guide_text())) >= 20


def test_every_example_is_valid(contracts_copy):
    text = guide_text()
    all_blocks = blocks(text)
    failures: list[str] = []
    for block in yaml_blocks(text):
        first = block.text.splitlines()[0].strip() if block.text.strip() else ""
        try:
            data = yaml.safe_load(block.text)
        except yaml.YAMLError as exc:
            if not first.startswith("# invalid"):  # a broken example may break the YAML itself
                failures.append(f"{block.where()}: the example is not valid YAML: {exc}")
                continue
            data = {"kind": "agreement"}
        frag = FRAGMENT.match(first)
        if first.startswith("# fragment"):
            if not frag:
                failures.append(f"{block.where()}: write the first line as '# fragment: ModelName' or '# fragment: ModelName (invalid)'")
                continue
            cls = _resolve_model(frag.group(1))
            if getattr(cls, "__pydantic_generic_metadata__", {}).get("parameters"):
                failures.append(
                    f"{block.where()}: '{frag.group(1)}' cannot be checked on its own (its value can be anything); "
                    "show it inside the part that holds it, e.g. '# fragment: Tariff'"
                )
                continue
            expect_invalid = bool(frag.group(2))
            try:
                cls.model_validate(data)
            except ValidationError as exc:
                if not expect_invalid:
                    failures.append(f"{block.where()}: '{frag.group(1)}' example does not validate:\n{exc}")
            else:
                if expect_invalid:
                    failures.append(f"{block.where()}: '{frag.group(1)}' example is marked (invalid) but validates")
            continue
        if not isinstance(data, dict) or next(iter(data), None) != "kind":
            failures.append(
                f"{block.where()}: an example must be a complete file whose first key is 'kind:', "
                "or start with the line '# fragment: ModelName'"
            )
            continue
        expect_invalid = first.startswith("# invalid")
        try:
            _load_complete(block, data, contracts_copy)
        except InputInvalid as exc:
            if not expect_invalid:
                failures.append(f"{block.where()}: the example is refused by the loader:\n{exc}")
                continue
            shown = _next_block(all_blocks, block)
            if shown is not None and shown.lang == "text":
                if shown.text.strip() != str(exc).strip():
                    failures.append(
                        f"{block.where()}: the error shown after this example (line {shown.line}) is not what "
                        f"the loader prints; replace it with:\n{exc}"
                    )
        else:
            if expect_invalid:
                failures.append(f"{block.where()}: the example starts with '# invalid' but loads without error")
    assert not failures, "\n\n".join(failures)


# --- 2. every key is documented ---------------------------------------------------------


def test_every_model_key_is_documented():
    text = guide_text()
    sections = model_sections(text)
    ybs = yaml_blocks(text)
    problems: list[str] = []
    for model, keys in MODELS.items():
        sec = sections.get(model)
        if sec is None:
            problems.append(
                f"{model}: no section. Add a heading ending in '(model: {model})' to docs/contract-language.md "
                f"with a table of its keys ({', '.join(keys)}) and a ```yaml example using them"
            )
            continue
        body = text[sec.start : sec.end]
        cells = table_first_cells(body)
        example_keys: set[str] = set()
        for b in ybs:
            if sec.start <= b.start < sec.end:
                try:
                    example_keys |= yaml_keys(yaml.safe_load(b.text))
                except yaml.YAMLError:
                    pass
        for key in keys:
            missing = []
            if not any(f"`{key}`" in c for c in cells):
                missing.append(f"a table row starting '| `{key}` | meaning | required? | allowed values |'")
            if key not in example_keys:
                missing.append(f"'{key}:' in a ```yaml example")
            if missing:
                problems.append(
                    f"{model}.{key} is not documented: under the heading '{sec.heading}' add " + " and ".join(missing)
                )
        for key in keys:
            for value in ALLOWED_VALUES.get((model, key), []):
                if f"`{value}`" not in body:
                    problems.append(
                        f"{model}.{key}: the allowed value '{value}' is not listed: under the heading "
                        f"'{sec.heading}' name it as `{value}` and say what it means"
                    )
    assert not problems, "The guide does not cover every key:\n" + "\n".join(problems)


def test_every_target_group_has_its_danish_name():
    rows = [line for line in guide_text().splitlines() if line.lstrip().startswith("|")]
    problems = []
    for group, entry in load_vocabulary(CONTRACTS / "data" / "vocabulary.yaml").target_groups.items():
        if not any(f"`{group}`" in r and entry.name in r for r in rows):
            problems.append(f"| `{group}` | {entry.name} | ... |")
    assert not problems, "Add these rows to the target-group table of the guide:\n" + "\n".join(problems)


def test_every_cross_check_is_listed():
    """The cross-checks named in checks.py's docstring appear in the guide's list."""
    text = guide_text()
    for phrase in (
        "prerequisite",
        "cycle",
        "wrong side",
        "term start",
        "does not admit",
        "sum to 1",
        "unknown part",
        "below",
        "unknown benefit code",
        "unknown target group",
        "unknown area code",
        "out_of",
    ):
        assert phrase in text, f"the list of cross-checks in the guide should mention '{phrase}'"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group(0) == "_" else "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_links_inside_the_guide_and_to_semantics_resolve():
    text = guide_text()
    own = {_slug(m.group(2)) for m in HEADING.finditer(strip_fences(text))}
    semantics_text = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
    semantics = {_slug(m.group(2)) for m in HEADING.finditer(strip_fences(semantics_text))}
    broken = []
    for target in re.findall(r"\]\(([^)\s]*)\)", strip_fences(text)):
        page, _, anchor = target.partition("#")
        if page in ("", "semantics.md"):
            if anchor and anchor not in (own if page == "" else semantics):
                broken.append(target)
        elif not (GUIDE.parent / page).exists():
            broken.append(target)
    assert not broken, f"links in the guide that lead nowhere: {broken}"


def test_merge_rules_are_the_loaders():
    """The four template merge rules are copied word for word from loader.py's docstring."""
    import pbr_rules.language.loader as loader

    doc = loader.__doc__ or ""
    rules = re.findall(r"^(\d\. .*?)(?=^\d\. |\Z)", doc[doc.index("1. ") :], re.S | re.M)
    assert len(rules) >= 4, "loader.py's docstring no longer lists the merge rules"

    def norm(t: str) -> str:
        return " ".join(t.replace("``", "`").split())

    guide = norm(guide_text())
    for rule in rules:
        assert norm(rule) in guide, f"copy this merge rule from loader.py into section 2 of the guide:\n{rule.strip()}"


# --- 3. every check of section 8 shows a message the project really prints -------------------

VALIDATION = "## 8. Validation: every check, with an example message"
_PLACE = re.compile(r"^(?:.+?\.ya?ml|<[^>]+>)(?::\d+:\d+)?: (warning: )?(.*)$", re.S)


def _test_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"guide_{name}", ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _printed(lines) -> dict[str, str]:
    """'path: message (hint)' -> 'error' or 'warning', from whole printed lines."""
    out = {}
    for line in lines:
        m = _PLACE.match(line)
        if m:
            out[m.group(2)] = "warning" if m.group(1) else "error"
    return out


def _produced_here(tmp_path: Path) -> list[str]:
    """Messages no broken file in the repository shows (files built here), printed as the loader prints them."""
    from pbr_rules.evaluation.registry import load_checked_contract
    from pbr_rules.language.yaml_source import MAX_BYTES, parse_yaml

    out = []

    def refused(call):
        try:
            call()
        except InputInvalid as exc:
            out.extend(str(d) for d in exc.diagnostics)

    refused(lambda: parse_yaml("", file="empty.yaml"))
    refused(lambda: parse_yaml("a: &a [*a]\n", file="r.yaml"))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("kind: agreement\nid: latin1\ntitle: København\n".encode("latin-1"))
    refused(lambda: load_contract(latin1))
    big = tmp_path / "big.yaml"
    head = b"kind: agreement\nid: too-big\n"
    big.write_bytes(head + b"#" * (MAX_BYTES - len(head)) + b"\n")
    refused(lambda: load_contract(big))
    # One milestone definition beyond the engine's limit (200): the template's 17 and 184 more.
    doc = {
        "kind": "agreement", "extends": str(CONTRACTS / "templates" / "vaekstpartnerskaber.yaml"), "id": "dk-163-many",
        "version": "1.0", "municipality": {"name": "Herlev", "code": "163"},
        "milestones": {
            f"extra_{i:03d}": {"side": "citizen", "description": f"Extra {i}", "reference": f"§ 9.{i}", "measure": {"kind": "outcome_event", "event": f"e{i}"}}
            for i in range(184)
        },
    }
    many = tmp_path / "163-many.yaml"
    many.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    refused(lambda: load_checked_contract(many))
    return out


def _guide_examples_shown(text: str) -> list[str]:
    """The messages the guide shows after its '# invalid' examples (test_every_example_is_valid checks them)."""
    all_blocks = blocks(text)
    out = []
    for b in yaml_blocks(text):
        shown = _next_block(all_blocks, b)
        if b.text.startswith("# invalid") and shown is not None and shown.lang == "text":
            out.extend(shown.text.strip().splitlines())
    return out


def test_every_check_in_section_8_shows_a_real_message(tmp_path):
    text = guide_text()
    section = text[text.index(VALIDATION) : text.index("## 9. ")]
    loader_errors, catalogue = _test_module("test_loader_errors"), _test_module("test_catalogue")
    printed = _printed(
        [line for lines in loader_errors.EXPECTED.values() for line in lines]
        + catalogue.BROKEN_FOLDER
        + [line for lines in catalogue.WARNED.values() for line in lines]
        + [f"x.yaml:1:1: {catalogue.SCENARIO_MESSAGE}"]
        + _guide_examples_shown(text)
        + _produced_here(tmp_path)
    )
    rows = re.findall(r"^\| (.+?) \| (error|warning|kind) \| (.+?) \|$", section, re.M)
    assert len(rows) > 60, "section 8 lists every check in tables: | check | kind | example message |"
    problems = []
    for check, kind, example in rows:
        if kind == "kind":
            continue  # a table's header
        shown = example.strip().strip("`")
        wanted = re.compile(".*".join(map(re.escape, shown.split("…"))) + r"\Z", re.S)
        found = [k for message, k in printed.items() if wanted.match(message)]
        if not found:
            problems.append(f"{check}: no test prints `{shown}`; copy the message from a test's expectation")
        elif kind not in found:
            problems.append(f"{check}: the message is printed as {found[0]}, not {kind}")
    assert not problems, "\n".join(problems)

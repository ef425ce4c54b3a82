"""How an agreement is written on top of its template: the mistakes of copying and overriding.

Owns the checks that read an agreement's raw YAML (before the models), so they run even
when other values of the file are wrong, each reported at the agreement's own line:

- errors: a currency other than the template's (the amounts kept from the template are in
  the template's currency); a file name or an id that names another municipality than
  ``municipality.code``; a tariff or cap under an id that is not a milestone, and a new
  milestone whose id is a near miss of a template milestone (these replace the "missing
  required key" messages such a misspelt id would otherwise give);
- warnings: a figure the agreement changes while the text that describes it still comes
  from the template: a ``description`` or ``documentation`` that mentions the template's
  figure (the rendered agreement would say "15 hours" under a 10-hour rule), or the
  ``reference`` written right beside the figure (the clause cited sets the template's figure).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_rules.money import currency_problem
from pbr_rules.errors import Diagnostic
from pbr_rules.language.checks import MILESTONE_KEYED, suggest, unknown_milestone
from pbr_rules.language.validation import Located
from pbr_rules.language.yaml_source import Source, format_path
from pbr_rules.models.contract import Contract

DEFAULT_CURRENCY: str = Contract.model_fields["currency"].default
TEXT_KEYS = ("description", "documentation")
_MISSING = object()


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return _MISSING
    return data


def _at(source: Source, path: tuple, message: str, hint: str = "", *, severity: str = "error") -> Diagnostic:
    file, line, col = source.where(path)
    return Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint, severity=severity)


def _and(names) -> str:
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _line_of(source: Source, path: tuple, shown_as: str) -> str:
    """'file:line' of a value, the file named as the agreement names it (its ``extends``)."""
    _file, line, _col = source.where(path)
    return f"{shown_as}:{line}" if line else shown_as


# --- errors ---------------------------------------------------------------------------------


def currency_problems(template: Source, agreement: Source) -> list[Diagnostic]:
    """An agreement may not change its template's currency: the amounts it keeps are the template's."""
    mine = agreement.data.get("currency")
    theirs = template.data.get("currency", DEFAULT_CURRENCY)
    if not isinstance(mine, str) or not isinstance(theirs, str) or mine.strip().upper() == theirs.strip().upper():
        return []
    if not re.fullmatch(r"[A-Z]{3}", mine) or currency_problem(mine) is not None:
        return []  # not a currency an agreement can have: the currency check says so, once
    shown = _line_of(template, ("currency",), str(agreement.data.get("extends", template.file)))
    return [
        _at(
            agreement,
            ("currency",),
            f"currency {mine} differs from the template's currency {theirs} ({shown})",
            f"the tariffs, caps and costs this agreement keeps from its template are amounts in {theirs}; "
            f"leave 'currency' out, or extend a template in {mine}",
        )
    ]


_ID_CODE = re.compile(r"^dk-(\d{3})-")
_NAME_CODE = re.compile(r"^(\d{3})-(.*)$")


def identity_problems(merged: Source) -> list[Diagnostic]:
    """The file name (``<code>-<name>.yaml``) and the id (``dk-<code>-<name>``) must name the municipality of ``municipality.code``."""
    data = merged.data
    municipality = data.get("municipality")
    code = municipality.get("code") if isinstance(municipality, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"\d{3}", code):
        return []  # a missing or malformed code is reported by the model
    out = []
    name = Path(merged.file).name
    named = _NAME_CODE.match(name)
    if named and named.group(1) != code:
        out.append(
            _at(
                merged,
                ("municipality", "code"),
                f"the file name {name} starts with the municipality code {named.group(1)}, but municipality.code is '{code}'",
                f"agreements are named <municipality code>-<name>.yaml: rename the file to {code}-{named.group(2)}, or correct the code",
            )
        )
    cid = data.get("id")
    by_id = _ID_CODE.match(cid) if isinstance(cid, str) else None
    if by_id and by_id.group(1) != code:
        out.append(
            _at(
                merged,
                ("id",),
                f"id '{cid}' names the municipality code {by_id.group(1)}, but municipality.code is '{code}'",
                f"payments are named after the id: make the id dk-{code}-<name>, or correct the code",
            )
        )
    return out


def misnamed_milestones(merged: Source, template: Source | None, found: list[Located]) -> tuple[list[Diagnostic], list[tuple]]:
    """Milestone ids that are probably misspelt, found from the raw data when the models refuse it.

    A tariff or cap under an id that is not a milestone gets "unknown milestone (did you
    mean ...?)"; a new milestone whose id is a near miss of a template milestone, and which
    misses the keys the template would have given, side among them (an override never
    writes the side; a new milestone must), gets "not in the template (did you mean ...?)".
    Returns those diagnostics and the paths they set aside: the "missing required key"
    errors under those paths are explained by the misspelt id and dropped by the caller,
    and the paths are left out when the rest of the agreement is cross-checked.
    """
    data = merged.data
    milestones = data.get("milestones")
    ids = set(milestones) if isinstance(milestones, dict) else set()
    diags: list[Diagnostic] = []
    set_aside: list[tuple] = []
    for where in MILESTONE_KEYED:
        keyed = _get(data, where)
        if not isinstance(keyed, dict):
            continue
        for mid in keyed:
            if mid not in ids:
                path, message, hint = unknown_milestone(where, str(mid), ids)
                diags.append(_at(merged, (*where, mid), message, hint))
                set_aside.append((*where, mid))
    template_ids = template.data.get("milestones") if template is not None and isinstance(template.data, dict) else None
    if isinstance(template_ids, dict):
        for mid in sorted(ids - set(template_ids), key=str):
            path = ("milestones", mid)
            missing = [f.path[-1] for f in found if f.kind == "missing" and f.path[:-1] == path]
            meant = suggest(str(mid), sorted(map(str, template_ids)))
            # An override of a template milestone never writes its side; a new milestone must.
            if "side" in missing and meant:
                diags.append(
                    _at(
                        merged,
                        path,
                        f"milestone '{mid}' is not in the template, so it is a new milestone, and it misses {_and(missing)}",
                        f"{meant} To change a template milestone, write its id exactly",
                    )
                )
                set_aside.append(path)
    return diags, set_aside


# --- warnings -------------------------------------------------------------------------------

# Values that look like numbers but are names, not figures.
_NOT_FIGURES = frozenset({"version", "code", "id", "kind"})
_NUMBER_TEXT = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER_IN_TEXT = re.compile(r"\d+(?:[.,]\d+)*")


def _figure(value: Any) -> Decimal | None:
    """A number or an amount written in quotes; anything else (text, dates, lists, true/false) is no figure."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def _readings(token: str) -> set[Decimal]:
    """What a number in prose can mean: '60,000' and '60.000' are sixty thousand (or 60.0), '4,5' is 4.5."""
    out = set()
    parts = re.split(r"[.,]", token)
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and 1 <= len(parts[0]) <= 3:
        out.add(Decimal("".join(parts)))
    if len(parts) == 2:
        out.add(Decimal(f"{parts[0]}.{parts[1]}"))
    if len(parts) == 1:
        out.add(Decimal(token))
    return out


def _mention(text: str, figure: Decimal) -> str | None:
    """The words around the first place ``text`` writes ``figure``, or None."""
    flat = " ".join(text.split())
    for m in _NUMBER_IN_TEXT.finditer(flat):
        if figure in _readings(m.group(0)):
            # About 40 characters either side, cut at spaces.
            start = flat.rfind(" ", 0, max(0, m.start() - 40)) + 1
            end = flat.find(" ", m.end() + 40)
            end = len(flat) if end < 0 else end
            return ("..." if start else "") + flat[start:end] + ("..." if end < len(flat) else "")
    return None


def _leaves(data: Any, path: tuple = ()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    else:
        yield path, data


def stale_template_text(template: Source, agreement: Source, merged: Source) -> list[Diagnostic]:
    """Warnings: figures the agreement changes while the text describing them comes from the template."""
    out: list[Diagnostic] = []
    shown_as = str(agreement.data.get("extends", template.file))

    def from_template(path: tuple) -> bool:
        return merged.where(path)[0] == template.file and merged.where(path)[1] > 0

    for path, value in _leaves(agreement.data):
        if not path or path[-1] in _NOT_FIGURES or path[-1] in ("reference", *TEXT_KEYS):
            continue
        new = _figure(value)
        old_value = _get(template.data, path)
        old = _figure(old_value)
        if new is None or old is None or new == old:
            continue
        written, was = str(value), str(old_value)
        # The clause right beside the figure: it sets the template's figure, not this one.
        parent = path[:-1]
        beside = _get(merged.data, parent)
        if isinstance(beside, dict) and isinstance(beside.get("reference"), str) and from_template((*parent, "reference")):
            out.append(
                _at(
                    agreement,
                    path,
                    f"{written} here, but the reference beside it, '{beside['reference']}', is kept from the template,"
                    f" where that clause sets {was} ({_line_of(merged, (*parent, 'reference'), shown_as)})",
                    f"write beside it the reference of the clause that sets {written}",
                    severity="warning",
                )
            )
        # Prose around the figure that still states the template's figure.
        for depth in range(len(path) - 1, -1, -1):
            item = path[:depth]
            node = _get(merged.data, item)
            if not isinstance(node, dict):
                continue
            for key in TEXT_KEYS:
                text = node.get(key)
                if not isinstance(text, str) or not from_template((*item, key)):
                    continue
                words = _mention(text, old)
                if words is None:
                    continue
                what = f"the template's {key} of {format_path(item)}" if item else f"the template's {key}"
                out.append(
                    _at(
                        agreement,
                        path,
                        f"{written} here, but {what}, which this agreement keeps, still says {was}:"
                        f' "{words}" ({_line_of(merged, (*item, key), shown_as)})',
                        f"write {format_path((*item, key))} in this agreement too, so that the rendered agreement says {written}",
                        severity="warning",
                    )
                )
    return out

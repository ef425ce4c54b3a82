"""Turning pydantic validation errors into diagnostics that point at a file, line and column.

Owns the mapping from a pydantic ``loc`` to the YAML path and position, and the wording
of every model-level message (unknown keys with the nearest valid key, enum choices,
missing clause references). Used by every loader and by the API.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.language.yaml_source import Source, format_path
from pbr_rules.models.common import ALLOWED_KEYS_CONTEXT
from pbr_rules.money import separator_advice

MONEY_KEYS = {"reference"}


def validate_model(cls: type[BaseModel], source: Source, error: type[InputInvalid], *, prefix: tuple = ()) -> Any:
    """Validate ``source.data`` (or the part at ``prefix``) as ``cls``; raise ``error`` with every problem."""
    data = source.data
    for part in prefix:
        data = data[part]
    ctx: dict = {}
    try:
        return cls.model_validate(data, context=ctx)
    except ValidationError as exc:
        raise error(diagnostics_from(exc, source, ctx, prefix=prefix)) from None


def diagnostics_from(exc: ValidationError, source: Source, ctx: dict, *, prefix: tuple = ()) -> list[Diagnostic]:
    allowed: dict[int, tuple[str, ...]] = ctx.get(ALLOWED_KEYS_CONTEXT, {})
    root = source.data
    for part in prefix:
        root = root[part]
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        typ = err["type"]
        path, parent, on_key = _data_path(root, err["loc"], typ)
        message, hint = _wording(err, path, parent, allowed, source.float_texts.get(tuple(prefix) + path))
        if typ == "union_tag_invalid":
            # Point at the offending value ('kind: employment_week'), not at the whole item.
            disc = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
            item = _at_path(root, path)
            if isinstance(item, dict) and disc in item:
                path = path + (disc,)
        full = tuple(prefix) + path
        if typ == "missing":
            file, line, col = source.where(full[:-1])
        else:
            file, line, col = source.where(full, key=on_key or typ == "extra_forbidden")
        message, hint = _hide_cpr(message), _hide_cpr(hint)
        out.append(Diagnostic(file=file, line=line, col=col, path=_hide_cpr(format_path(full)), message=message, hint=hint))
    return _drop_missing_explained_by_typo(out)


# Ten digits shaped like a CPR number (DDMMYY-XXXX), anywhere in a value we would echo.
_CPR_ANYWHERE = re.compile(r"(?<!\d)\d{6}[-\s]?\d{4}(?!\d)")


def _hide_cpr(text: str) -> str:
    """Diagnostics end up in logs and CI output: never echo anything shaped like a CPR number."""
    return _CPR_ANYWHERE.sub("[number hidden: looks like a CPR number]", text)


# Plain-language descriptions of the patterns the models use, for people who do not read regexes.
_PATTERN_WORDS = {
    r"^\d{3}$": "three digits, e.g. '101'",
    r"^[A-Z]{3}$": "three capital letters, e.g. 'DKK'",
    r"^[a-z0-9][a-z0-9_\-]{0,63}$": "lower-case letters, digits, '_' and '-' only (no spaces, at most 64), e.g. 'job_13_weeks'",
    r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$": "letters, digits, '_', '.', ':' and '-' only (no spaces, at most 64), e.g. 'P-0001'",
}


def _drop_missing_explained_by_typo(diags: list[Diagnostic]) -> list[Diagnostic]:
    """'refrence' written for 'reference' is one mistake: keep "unknown key 'refrence' (did you
    mean 'reference'?)" and drop the "missing required key 'reference'" it explains."""
    typos = set()
    for d in diags:
        if d.message.startswith("unknown key '") and d.hint.startswith("did you mean '"):
            parent = d.path.rpartition(".")[0] if "." in d.path else ""
            meant = d.hint[len("did you mean '"):].split("'", 1)[0]
            typos.add(f"{parent}.{meant}" if parent else meant)
    return [d for d in diags if not (d.message.startswith("missing required key '") and d.path in typos)]


def _data_path(data: Any, loc: tuple, typ: str) -> tuple[tuple, Any, bool]:
    """Follow pydantic's ``loc`` through the raw data, skipping union tags and validator names."""
    cur, parent, path, on_key = data, None, [], False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            on_key = True
            continue
        if isinstance(cur, dict) and part in cur:
            parent, cur = cur, cur[part]
            path.append(part)
        elif isinstance(cur, dict) and isinstance(part, str) and _str_key_match(cur, part):
            key = _str_key_match(cur, part)
            parent, cur = cur, cur[key]
            path.append(key)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            parent, cur = cur, cur[part]
            path.append(part)
        elif last and typ in ("missing", "extra_forbidden") and isinstance(cur, dict):
            parent = cur
            path.append(part)
        # else: a union member tag or validator name: not a step in the data
    return tuple(path), parent, on_key


def _at_path(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _str_key_match(d: dict, part: str):
    for k in d:
        if str(k) == part:
            return k
    return None


def _wording(
    err: dict, path: tuple, parent: Any, allowed: dict[int, tuple[str, ...]], float_text: str | None = None
) -> tuple[str, str]:
    typ = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    key = path[-1] if path else ""
    if typ == "missing":
        hint = ""
        if key == "reference":
            hint = "every item that moves money must cite the clause of the signed agreement"
        return f"missing required key '{key}'", hint
    if typ == "extra_forbidden":
        keys = allowed.get(id(parent), ())
        near = get_close_matches(str(key), keys, n=1, cutoff=0.6)
        hint = (f"did you mean '{near[0]}'? " if near else "") + (f"allowed: {', '.join(keys)}" if keys else "")
        return f"unknown key '{key}'", hint.strip()
    if typ in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        choices = [c.strip() for c in expected.replace(" or ", ", ").split(",") if c.strip()]
        near = get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = (f"did you mean '{near[0]}'? " if near else "") + f"allowed: {', '.join(choices)}"
        return f"{value!r} is not allowed here", hint
    if typ == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        choices = [c.strip() for c in expected.split(",") if c.strip()]
        near = get_close_matches(str(ctx.get("tag")), choices, n=1, cutoff=0.6)
        hint = (f"did you mean '{near[0]}'? " if near else "") + f"allowed: {', '.join(choices)}"
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} '{ctx.get('tag')}'", hint
    if typ == "union_tag_not_found":
        return f"missing required key {ctx.get('discriminator', 'kind')}", "it says which kind of item this is"
    if typ == "too_short":
        n = ctx.get("min_length", 1)
        return (f"needs at least {n} item{'s' if n != 1 else ''}, but the list is empty" if not value else f"needs at least {n} items"), "add an item, or leave the key out if it is optional"
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = ctx.get("ge", ctx.get("le", ctx.get("gt", ctx.get("lt"))))
        word = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "more than", "less_than": "less than"}[typ]
        hint = "for a once-only milestone, leave 'repeat' out" if key == "max_times" else ""
        return f"{_show(value)} is too {'small' if 'greater' in typ else 'large'}: it must be {word} {bound}", hint
    if typ in ("value_error", "assertion_error"):
        msg = str(err["msg"])
        for lead in ("Value error, ", "Assertion failed, "):
            if msg.startswith(lead):
                msg = msg[len(lead):]
        if isinstance(value, float) and msg.startswith("amount "):
            # 38.000 reads as 38.0: suggesting "38.00" would quietly mean 38 kroner.
            advice = separator_advice(float_text) if float_text else None
            if advice:
                return advice, ""
            return (
                f"amount {value!r} must be written in quotes, e.g. \"{value:.2f}\"",
                "a number with decimals is only exact in quotes; whole kroner may be written without",
            )
        return msg, ""
    if typ == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return f"{_show(value)} does not have the required form", _PATTERN_WORDS.get(pattern, f"pattern {pattern}")
    if typ in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {_kind(value)}", ""
    if typ == "string_type":
        hint = "put it in quotes" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        return f"expected text, got {_kind(value)}", hint
    if typ == "list_type":
        return f"expected a list, got {_kind(value)}", "write each item on its own line starting with '- '"
    msg = str(err["msg"])
    return f"{msg[0].lower() + msg[1:] if msg else typ} (got {_show(value)})", ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), type(value).__name__
    )

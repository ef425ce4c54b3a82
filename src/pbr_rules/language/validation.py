"""Turning pydantic validation errors into diagnostics that point at a file, line and column.

Owns the mapping from a pydantic ``loc`` to the YAML path and position, and the wording
of every model-level message (unknown keys with the nearest valid key, enum choices,
missing clause references). Used by every loader and by the API.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.language.yaml_source import Source, format_path
from pbr_rules.models.common import ALLOWED_KEYS_CONTEXT
from pbr_rules.personal_data import mask_cpr
from pbr_rules.i18n import N_, _
from pbr_rules.money import separator_fix

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


@dataclass(frozen=True)
class Located:
    """One model-level problem with the path into the data it is about and pydantic's error type."""

    path: tuple
    kind: str  # pydantic's error type, e.g. 'extra_forbidden' (an unknown key), 'missing'
    diagnostic: Diagnostic
    meant: str = ""  # for an unknown key: the allowed key it is nearest to, if any


def diagnostics_from(exc: ValidationError, source: Source, ctx: dict, *, prefix: tuple = ()) -> list[Diagnostic]:
    return [found.diagnostic for found in locate_errors(exc, source, ctx, prefix=prefix)]


def locate_errors(exc: ValidationError, source: Source, ctx: dict, *, prefix: tuple = ()) -> list[Located]:
    """Every error of ``exc`` as a diagnostic at its file, line and column, with its data path."""
    allowed: dict[int, tuple[str, ...]] = ctx.get(ALLOWED_KEYS_CONTEXT, {})
    root = source.data
    for part in prefix:
        root = root[part]
    out: list[Located] = []
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
        diagnostic = Diagnostic(file=file, line=line, col=col, path=_hide_cpr(format_path(full)), message=message, hint=hint)
        meant = _nearest(path[-1], allowed.get(id(parent), ())) if typ == "extra_forbidden" and path else ""
        out.append(Located(full, typ, diagnostic, meant))
    return _drop_missing_explained_by_typo(out)


def _hide_cpr(text: str) -> str:
    """Diagnostics end up in logs and CI output: never echo a CPR number (pbr_rules.personal_data)."""
    return mask_cpr(text)


# Plain-language descriptions of the patterns the models use, for people who do not read regexes.
_PATTERN_WORDS = {
    r"^\d{3}$": N_("three digits, e.g. '101'"),
    r"^[A-Z]{3}$": N_("three capital letters, e.g. 'DKK'"),
    r"^[A-Za-z0-9]{1,16}$": N_("letters and digits only (at most 16), e.g. '101' or 'E08000003'"),
    r"^[A-Z]{2}$": N_("two capital letters (an ISO 3166-1 country code), e.g. 'DK' or 'GB'"),
    r"^[A-Z0-9]{1,3}$": N_("one to three capital letters or digits (an ISO 3166-2 subdivision code), e.g. 'ENG'"),
    r"^[a-z0-9][a-z0-9_\-]{0,63}$": N_("lower-case letters, digits, '_' and '-' only (no spaces, at most 64), e.g. 'job_13_weeks'"),
    r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$": N_("letters, digits, '_', '.', ':' and '-' only (no spaces, at most 64), e.g. 'P-0001'"),
}
_SEPARATOR_WORDS = {
    "danish_thousands": N_("'.' as a thousands separator (Danish style)"),
    "danish": N_("Danish separators ('.' between thousands, ',' before the øre)"),
    "english_thousands": N_("',' as a thousands separator"),
    "spaces": N_("spaces between the thousands"),
    "decimal_comma": N_("',' as the decimal point (Danish style)"),
}


def _separator_wording(text: str) -> tuple[str, str] | None:
    """An amount written with thousands separators or a decimal comma: what was seen and the exact value to write."""
    fix = separator_fix(text)
    if fix is None:
        return None
    kind, exact = fix
    message = _('amount {text} uses {separators}; write "{exact}"').format(text=text.strip(), separators=_(_SEPARATOR_WORDS[kind]), exact=exact)
    hint = _("amounts are written without thousands separators and with '.' before the øre, in quotes: 30.000,50 kr. is \"30000.50\"")
    return message, hint


def _drop_missing_explained_by_typo(found: list[Located]) -> list[Located]:
    """'refrence' written for 'reference' is one mistake: keep "unknown key 'refrence' (did you
    mean 'reference'?)" and drop the "missing required key 'reference'" it explains."""
    typos = {f.path[:-1] + (f.meant,) for f in found if f.meant}
    return [f for f in found if not (f.kind == "missing" and f.path in typos)]


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
            hint = _("every item that moves money must cite the clause of the signed agreement")
        return _("missing required key '{key}'").format(key=key), hint
    if typ == "extra_forbidden":
        keys = allowed.get(id(parent), ())
        near = _nearest(key, keys)
        hint = (_("did you mean '{name}'? ").format(name=near) if near else "") + (_("allowed: {names}").format(names=", ".join(keys)) if keys else "")
        return _("unknown key '{key}'").format(key=_clip(str(key))), hint.strip()
    if typ in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        choices = [c.strip() for c in expected.replace(" or ", ", ").split(",") if c.strip()]
        near = get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = (_("did you mean '{name}'? ").format(name=near[0]) if near else "") + _("allowed: {names}").format(names=", ".join(choices))
        return _("{value} is not allowed here").format(value=_show(value)), hint
    if typ == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        choices = [c.strip() for c in expected.split(",") if c.strip()]
        near = get_close_matches(str(ctx.get("tag")), choices, n=1, cutoff=0.6)
        hint = (_("did you mean '{name}'? ").format(name=near[0]) if near else "") + _("allowed: {names}").format(names=", ".join(choices))
        return _("unknown {key} '{value}'").format(key=ctx.get("discriminator", "kind").strip(chr(39)), value=_clip(str(ctx.get("tag")))), hint
    if typ == "union_tag_not_found":
        return _("missing required key {key}").format(key=ctx.get("discriminator", "kind")), _("it says which kind of item this is")
    if typ == "too_short":
        n = ctx.get("min_length", 1)
        if not value:
            message = _("needs at least 1 item, but the list is empty") if n == 1 else _("needs at least {n} items, but the list is empty").format(n=n)
        else:
            message = _("needs at least {n} items").format(n=n)
        return message, _("add an item, or leave the key out if it is optional")
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = ctx.get("ge", ctx.get("le", ctx.get("gt", ctx.get("lt"))))
        hint = _("for a once-only milestone, leave 'repeat' out") if key == "max_times" else ""
        message = {
            "greater_than_equal": _("{value} is too small: it must be at least {bound}"),
            "greater_than": _("{value} is too small: it must be more than {bound}"),
            "less_than_equal": _("{value} is too large: it must be at most {bound}"),
            "less_than": _("{value} is too large: it must be less than {bound}"),
        }[typ]
        return message.format(value=_show(value), bound=bound), hint
    if typ in ("value_error", "assertion_error"):
        msg = str(err["msg"])
        for lead in ("Value error, ", "Assertion failed, "):
            if msg.startswith(lead):
                msg = msg[len(lead):]
        if isinstance(value, float) and msg.startswith("amount ") and not math.isfinite(value):
            return (
                _("amount {value} is not a number").format(value=float_text or repr(value)),
                _("write the amount in kroner, e.g. \"1250.50\""),
            )
        if isinstance(value, float) and msg.startswith("amount "):
            # 38.000 reads as 38.0: suggesting "38.00" would quietly mean 38 kroner.
            wording = _separator_wording(float_text) if float_text else None
            if wording:
                return wording
            return (
                _('amount {value} must be written in quotes, e.g. "{example}"').format(value=repr(value), example=f"{value:.2f}"),
                _("a number with decimals is only exact in quotes; whole kroner may be written without"),
            )
        if isinstance(value, str) and msg.startswith("amount "):
            wording = _separator_wording(value)
            if wording:
                return wording
        return msg, ""
    if typ == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        words = _(_PATTERN_WORDS[pattern]) if pattern in _PATTERN_WORDS else _("pattern {pattern}").format(pattern=pattern)
        return _("{value} does not have the required form").format(value=_show(value)), words
    if typ in ("dict_type", "model_type", "model_attributes_type"):
        return _("expected a mapping of keys to values, got {kind}").format(kind=_kind(value)), ""
    if typ == "string_type":
        hint = _("put it in quotes") if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        return _("expected text, got {kind}").format(kind=_kind(value)), hint
    if typ == "list_type":
        return _("expected a list, got {kind}").format(kind=_kind(value)), _("write each item on its own line starting with '- '")
    msg = str(err["msg"])
    return f"{msg[0].lower() + msg[1:] if msg else typ} (got {_show(value)})", ""


def _nearest(name: Any, choices) -> str:
    """The choice a misspelt name most likely meant (difflib), or ''."""
    near = get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return near[0] if near else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clip(text: str) -> str:
    """A name from the input, shortened: no message quotes more than 60 characters of it."""
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return _("nothing (null)")
    kinds = {dict: N_("a mapping"), list: N_("a list"), str: N_("text"), int: N_("a number"), float: N_("a number"), bool: N_("true/false")}
    return _(kinds[type(value)]) if type(value) in kinds else type(value).__name__

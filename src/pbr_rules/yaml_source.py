"""Safe YAML with positions: plain data only, every node's line and column remembered.

Owns reading YAML text. Refuses, each with a diagnostic that says where and what to do:
files over the size limit, non-UTF-8 text, any tag beyond plain YAML data (``!!python/...``
and friends), duplicate keys, merge keys, nesting too deep, and alias expansion beyond
a node budget (a "billion laughs" file is refused in milliseconds: aliases are counted
as they are expanded, before any memory is spent on them). Dates stay ISO strings; the
models parse them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ContractInvalid, Diagnostic, InputInvalid

MAX_BYTES = 2_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_SCALARS = yaml.constructor.SafeConstructor()

Path_ = tuple  # a path into the data: keys and list indexes


@dataclass
class Source:
    """Parsed YAML data and where each piece of it stands in which file."""

    file: str
    data: Any
    positions: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> tuple[str, int, int]:
        """The best known position for ``path``: the path itself, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if key and p in self.positions:
                return self.positions[p]
            if not p:
                return (self.file, 0, 0)
            p = p[:-1]


def read_text(path: Path, *, max_bytes: int = MAX_BYTES, error: type[InputInvalid] = ContractInvalid) -> str:
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error([Diagnostic(file=file, message=f"cannot read the file: {exc.strerror or exc}")]) from None
    if size > max_bytes:
        raise error(
            [Diagnostic(file=file, message=f"file is {size:,} bytes; the limit is {max_bytes:,}", hint="split it up")]
        )
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error([Diagnostic(file=file, message=f"not UTF-8 text (byte {exc.start})", hint="save it as UTF-8")]) from None
    except OSError as exc:
        raise error([Diagnostic(file=file, message=f"cannot read the file: {exc.strerror or exc}")]) from None


def load_yaml_file(path: Path | str, *, error: type[InputInvalid] = ContractInvalid) -> Source:
    path = Path(path)
    return parse_yaml(read_text(path, error=error), file=str(path), error=error)


def parse_yaml(
    text: str,
    *,
    file: str = "<input>",
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    error: type[InputInvalid] = ContractInvalid,
) -> Source:
    """Parse one YAML document into plain data with positions, or raise ``error`` with diagnostics."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise error([Diagnostic(file=file, message=f"document is larger than {max_bytes:,} bytes")])
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"YAML syntax: {exc.problem or exc.context}"
        raise error([Diagnostic(file=file, line=line, col=col, message=message, hint=_syntax_hint(exc))]) from None
    except yaml.YAMLError as exc:
        raise error([Diagnostic(file=file, message=f"YAML syntax: {exc}")]) from None
    except RecursionError:
        raise error([Diagnostic(file=file, message=f"nesting deeper than {MAX_DEPTH} levels")]) from None
    source = Source(file=file, data=None)
    if node is None:
        raise error([Diagnostic(file=file, line=1, col=1, message="the file is empty")])
    builder = _Builder(source, max_nodes, error)
    source.data = builder.build(node, ())
    if builder.problems:
        raise error(builder.problems)
    return source


def _syntax_hint(exc: yaml.MarkedYAMLError) -> str:
    problem = str(exc.problem or "")
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted"
    if "could not find expected ':'" in problem:
        return "check the indentation and that every key ends with ':'"
    return ""


class _Builder:
    def __init__(self, source: Source, max_nodes: int, error: type[InputInvalid]):
        self.source = source
        self.budget = max_nodes
        self.error = error
        self.problems: list[Diagnostic] = []

    def _pos(self, node) -> tuple[str, int, int]:
        m = node.start_mark
        return (self.source.file, m.line + 1, m.column + 1)

    def _fail(self, node, message: str, hint: str = "", path: Path_ = ()) -> None:
        file, line, col = self._pos(node)
        self.problems.append(
            Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint)
        )

    def build(self, node, path: Path_, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            file, line, col = self._pos(node)
            raise self.error(
                [
                    Diagnostic(
                        file=file,
                        line=line,
                        col=col,
                        message=f"the document expands to more than {MAX_NODES:,} values (aliases expanding?)",
                        hint="contracts are small; remove the anchors/aliases that multiply",
                    )
                ]
            )
        if depth > MAX_DEPTH:
            file, line, col = self._pos(node)
            raise self.error([Diagnostic(file=file, line=line, col=col, message=f"nesting deeper than {MAX_DEPTH} levels")])
        self.source.positions.setdefault(path, self._pos(node))
        if node.tag not in _PLAIN_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._fail(node, f"tag '{shown}' is not allowed", "safe YAML only: plain maps, lists, text, numbers, dates", path)
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._fail(key_node, "merge keys ('<<') are not supported", "write the keys out, or use 'extends'", path)
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self._fail(key_node, "a key must be plain text", "", path)
                    continue
                key = key_node.value if key_node.tag != "tag:yaml.org,2002:int" else int(key_node.value)
                if key_node.tag == "tag:yaml.org,2002:null":
                    key = None
                if key in out:
                    first = self.source.key_positions.get(path + (key,), ("", 0, 0))
                    self._fail(
                        key_node,
                        f"duplicate key '{key}' (first at line {first[1]})",
                        "each key may appear once; merge the two entries",
                        path + (key,),
                    )
                    continue
                self.source.key_positions[path + (key,)] = self._pos(key_node)
                out[key] = self.build(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay ISO text; the models parse them strictly
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            return _SCALARS.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self._fail(node, f"not a valid value: {exc}", "", path)
            return None


def format_path(path: Path_) -> str:
    """``('milestones', 'job', 'measure', 'weeks')`` -> ``milestones.job.measure.weeks``; indexes as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out

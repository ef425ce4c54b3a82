"""Safe YAML with positions: plain data only, every node's line and column remembered.

Owns reading YAML text. Refuses, each with a diagnostic that says where and what to do:
files over the size limit, non-UTF-8 text, any tag beyond plain YAML data (``!!python/...``
and friends), duplicate keys, merge keys, nesting too deep, and alias expansion beyond
a node budget (a "billion laughs" file is refused in milliseconds: aliases are counted
as they are expanded, before any memory is spent on them). Dates stay ISO strings; the
models parse them.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid

MAX_BYTES = 2_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 100_000  # values produced by expanding aliases, in any file

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
    # The text of every number YAML read as a float: 38.000 is read as 38.0, and only the
    # text tells that the writer meant thirty-eight thousand (a Danish thousands separator).
    float_texts: dict[Path_, str] = field(default_factory=dict)

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


MAX_INT_CHARS = 100  # the longest whole number read at all (far more than any figure: a longer one is refused before parsing; the fields say their own limits)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES, error: type[InputInvalid] = ContractInvalid) -> str:
    file = str(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise error([Diagnostic(file=file, message=f"cannot read the file: {exc.strerror or exc}")]) from None
    if not stat.S_ISREG(st.st_mode):
        # a device (/dev/zero never ends), a named pipe (waits for ever) or a folder: never read
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, a pipe or a socket)"
        raise error([Diagnostic(file=file, message=f"cannot read the file: it is {what}", hint="name a regular file")])
    if st.st_size > max_bytes:
        raise error(
            [Diagnostic(file=file, message=f"file is {st.st_size:,} bytes; the limit is {max_bytes:,}", hint="split it up")]
        )
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)  # at most the limit, even if the file grew since
    except OSError as exc:
        raise error([Diagnostic(file=file, message=f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(raw) > max_bytes:
        raise error([Diagnostic(file=file, message=f"file is over {max_bytes:,} bytes, the limit", hint="split it up")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Point at the first byte that is not UTF-8 (typically an æ, ø or å saved as Latin-1).
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise error(
            [
                Diagnostic(
                    file=file,
                    line=line,
                    col=col,
                    message=f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read)",
                    hint="save the file with the encoding UTF-8",
                )
            ]
        ) from None


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
        hint = _syntax_hint(exc)
        if mark and _char_at(text, mark.line, mark.column) == "\t":
            message, hint = "YAML syntax: a tab character where only spaces may be", "indent with spaces, not tabs"
        raise error([Diagnostic(file=file, line=line, col=col, message=message, hint=hint)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, a control character): its line and column
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise error(
            [Diagnostic(file=file, line=line, col=col, message=f"a control character ({what}) that YAML does not allow", hint="delete it: it is not visible in most editors")]
        ) from None
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


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


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
        self.max_nodes = max_nodes
        self.alias_budget = min(max_nodes, MAX_ALIAS_VALUES)
        self.seen: set[int] = set()
        self.in_alias = 0
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

    def _too_big(self, node, path: Path_, message: str) -> InputInvalid:
        # Aliases share nodes, so the node at hand sits where its anchor was defined, not
        # where it is expanded: point at the top-level key whose value expands too far.
        top = path[:1]
        file, line, col = self.source.key_positions.get(top) or self._pos(node)
        return self.error(
            [
                Diagnostic(
                    file=file,
                    line=line,
                    col=col,
                    path=format_path(top),
                    message=message,
                    hint="remove the anchors ('&name') and aliases ('*name') that multiply",
                )
            ]
        )

    def build(self, node, path: Path_, depth: int = 0, key_pos: tuple[str, int, int] | None = None) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._too_big(node, path, f"the document expands to more than {self.max_nodes:,} values")
        # A node met a second time is an alias being expanded: everything built under it
        # counts against a fixed alias budget, whatever the file's own size limit.
        aliased = id(node) in self.seen
        self.seen.add(id(node))
        if aliased or self.in_alias:
            self.alias_budget -= 1
            if self.alias_budget < 0:
                raise self._too_big(node, path, f"aliases expand to more than {MAX_ALIAS_VALUES:,} values")
        if aliased:
            self.in_alias += 1
            try:
                return self._build(node, path, depth, key_pos)
            finally:
                self.in_alias -= 1
        return self._build(node, path, depth, key_pos)

    def _build(self, node, path: Path_, depth: int, key_pos: tuple[str, int, int] | None) -> Any:
        if depth > MAX_DEPTH:
            file, line, col = self._pos(node)
            raise self.error([Diagnostic(file=file, line=line, col=col, message=f"nesting deeper than {MAX_DEPTH} levels")])
        # A block mapping or list is best pointed at by the key that holds it (its own
        # position is that of its first entry, one line further down).
        container = isinstance(node, (yaml.MappingNode, yaml.SequenceNode))
        self.source.positions.setdefault(path, key_pos if (container and key_pos) else self._pos(node))
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
                key = key_node.value
                if key_node.tag == "tag:yaml.org,2002:int":
                    try:
                        key = _SCALARS.construct_yaml_int(key_node)  # 0x1F, 1_000, 017...
                    except (yaml.YAMLError, ValueError):
                        key = key_node.value
                elif key_node.tag == "tag:yaml.org,2002:null":
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
                out[key] = self.build(value_node, path + (key,), depth + 1, self._pos(key_node))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay ISO text; the models parse them strictly
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        if not isinstance(node, yaml.ScalarNode) or node.tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            self._fail(node, f"a {node.tag.replace('tag:yaml.org,2002:', '!!')} tag on the wrong kind of value", "", path)
            return None
        if node.tag == "tag:yaml.org,2002:float":
            self.source.float_texts[path] = node.value
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_CHARS:
            # no figure in an agreement or a history has more digits (Python itself refuses 4,300)
            self._fail(node, f"a number of {len(node.value):,} characters; no figure here has more than {MAX_INT_CHARS}", "", path)
            return None
        try:
            # The tag's own constructor, not construct_object: that one caches every node it
            # sees in the shared constructor, so a long-running service would keep them all.
            return _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
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


YAML_SUFFIXES = (".yaml", ".yml")


def find_yaml(paths: list[str | Path]) -> list[Path]:
    """The YAML files of the given files and folders (folders walked recursively, in sorted order)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.suffix in YAML_SUFFIXES and x.is_file()))
        else:
            out.append(p)
    return out

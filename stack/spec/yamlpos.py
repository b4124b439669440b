"""Read one YAML stack file into plain Python data, remembering where every key was.

libyaml (CParser) composes the node graph, which carries line/column marks for free; we
then walk the nodes once, turning them into dict/list/str/int/float/bool/None and
recording each mapping key's and sequence item's position in a SourceMap.

Scalars are resolved as Compose's YAML library (go-yaml v3, YAML 1.2 core schema) does,
not as PyYAML's YAML 1.1 resolver would: `yes`/`on` stay strings, `80:80` is a string
(not the sexagesimal 4880), `0777` is octal 511, timestamps stay strings.

Also handled here: anchors/aliases, merge keys (`<<: *x`, `<<: [*a, *b]`), duplicate keys
(an error, as in Compose), the `!reset` / `!override` tags (stripped from the data and
recorded by key path in `Document.tags` for the merge step), and the bounds of `limits` on
nesting and alias expansion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stack.errors import Location, StackFileError
from stack.spec import limits
from stack.spec.sourcemap import KeyPath, SourceMap, display_path

__all__ = ["Document", "Tag", "load_yaml", "load_yaml_stream"]

Tag = Literal["reset", "override"]

_Y = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _Y + "str", _Y + "int", _Y + "float", _Y + "bool", _Y + "null"
_MAP, _SEQ, _MERGE, _TIMESTAMP = _Y + "map", _Y + "seq", _Y + "merge", _Y + "timestamp"

# go-yaml v3's table of plain scalars with a fixed meaning.
_PLAIN_CONSTANTS: dict[str, Any] = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
}
_INT_RE = re.compile(r"[-+]?(?:0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_PLAIN = "!stack-plain"
_TOO_DEEP = f"the document is nested more than {limits.MAX_DEPTH} levels deep"
_TOO_DEEP_HINT = "flatten it: no stack file needs that many levels of lists and mappings"
_NUMBER_START = frozenset("0123456789+-.")
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1
# No uint64 needs more characters (`-0b` and 64 binary digits); Python refuses to convert
# decimal strings over 4300 digits, so longer ones never reach int().
_MAX_INT_LITERAL = 67
# Excerpts show this much of a line around the caret (a minified file is one huge line).
_EXCERPT_WIDTH = 100


@dataclass
class Document:
    """One parsed stack file: plain data plus the tags that steer merging."""

    file: str
    data: Any
    text: str
    tags: dict[KeyPath, Tag] = field(default_factory=dict)
    start: Location | None = None  # where the top-level node begins


class _Composer(CParser, yaml.resolver.BaseResolver):
    """libyaml's composer with no implicit resolvers: we resolve plain scalars ourselves."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        yaml.resolver.BaseResolver.__init__(self)

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Mark untagged plain scalars so that `5` and `!!str 5` stay distinguishable.
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


def _excerpt(text: str, line: int, column: int) -> str:
    """The 1-based `line` of `text` with a caret under `column` (1-based)."""
    lines = text.splitlines()
    if not lines or line < 1:
        return ""
    if line > len(lines):  # the problem is at the end of the file: show its last line
        line, column = len(lines), len(lines[-1]) + 1
    src = lines[line - 1].replace("\t", " ")
    start = max(0, column - 1 - _EXCERPT_WIDTH // 2)
    if start or len(src) > start + _EXCERPT_WIDTH:
        src = src[start : start + _EXCERPT_WIDTH]
        column -= start
    return f"  {line:>4} | {src}\n       | {' ' * max(column - 1, 0)}^"


def resolve_plain(value: str) -> Any:
    """A plain (unquoted) scalar's value under go-yaml v3's rules.

    An integer is an int64 or a uint64, else a float; a number out of float64's range
    (`1e400`, a thousand digits) stays a string, as go-yaml leaves it.
    """
    if value in _PLAIN_CONSTANTS:
        return _PLAIN_CONSTANTS[value]
    if value[0] not in _NUMBER_START:
        return value
    plain = value.replace("_", "")
    if len(plain) <= _MAX_INT_LITERAL and _INT_RE.fullmatch(plain):
        sign = -1 if plain[0] == "-" else 1
        digits = plain.lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and digits[1] not in "bBoOxX":
            number = int(digits, 8)
        else:
            number = int(digits, 0)
        number *= sign
        if _INT64_MIN <= number <= _UINT64_MAX:
            return number
    if _FLOAT_RE.fullmatch(plain):
        number_f = float(plain)
        if math.isfinite(number_f):
            return number_f
    return value


class _Builder:
    """One walk over a composed node graph."""

    def __init__(self, file: str, text: str, smap: SourceMap) -> None:
        self.file = file
        self.text = text
        self.smap = smap
        self.tags: dict[KeyPath, Tag] = {}
        self.built: set[int] = set()  # nodes built once: building one again is an alias copy
        self.copies = 0
        # Collection nodes being built: an alias cycle check, and the nesting depth (which
        # merge keys deepen too, without lengthening the key path).
        self.active: set[int] = set()

    def fail(self, node: Node, path: KeyPath, message: str, hint: str | None = None) -> StackFileError:
        mark = node.start_mark
        return StackFileError(
            message,
            location=Location(self.file, mark.line + 1, mark.column + 1),
            path=display_path(path) or None,
            hint=hint,
            excerpt=_excerpt(self.text, mark.line + 1, mark.column + 1) or None,
        )

    def loc(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def build(self, node: Node, path: KeyPath) -> Any:
        key = id(node)
        if key in self.built:
            self.copies += 1
            if self.copies > limits.MAX_ALIASED_NODES:
                raise self.fail(
                    node,
                    path,
                    f"aliases expand the document by more than {limits.MAX_ALIASED_NODES} nodes",
                    "check anchors and aliases",
                )
        else:
            self.built.add(key)
        tag = node.tag
        if tag == _PLAIN:
            return resolve_plain(node.value)
        if tag[0] == "!":
            if tag in ("!reset", "!override"):
                self.tags[path] = "reset" if tag == "!reset" else "override"
            elif tag != "!":
                raise self.fail(node, path, f"unknown YAML tag {limits.clip(tag)}", "accepted tags: !reset, !override")
            if isinstance(node, ScalarNode):
                return resolve_plain(node.value) if not node.style else node.value
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            self.enter(node, path)
            items = []
            add, file = self.smap.add_position, self.file
            for i, item in enumerate(node.value):
                item_path = (*path, i)
                mark = item.start_mark
                add(item_path, file, mark.line + 1, mark.column + 1)
                items.append(self.build(item, item_path))
            self.active.discard(id(node))
            return items
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover - yaml has 3 kinds

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        tag = node.tag
        value: str = node.value
        if tag == _PLAIN:
            return resolve_plain(value)
        if tag == _STR:
            return value
        try:
            if tag == _INT:
                resolved = resolve_plain(value)
                if isinstance(resolved, int) and not isinstance(resolved, bool):
                    return resolved
            elif tag == _FLOAT:
                resolved = resolve_plain(value)
                if isinstance(resolved, int | float) and not isinstance(resolved, bool):
                    return float(resolved)
            elif tag == _BOOL:
                resolved = resolve_plain(value)
                if isinstance(resolved, bool):
                    return resolved
            elif tag == _NULL:
                if value in ("", "~", "null", "Null", "NULL"):
                    return None
            elif tag == _TIMESTAMP:
                return value
            else:
                raise self.fail(node, path, f"unsupported YAML tag {limits.clip(tag)}")
        except ValueError:
            pass
        raise self.fail(node, path, f"{limits.clip(value)} is not a valid {tag.rsplit(':', 1)[-1]}")

    def enter(self, node: Node, path: KeyPath) -> None:
        """Refuse aliases that contain themselves and absurd nesting (both would recurse forever)."""
        if id(node) in self.active:
            raise self.fail(node, path, "an alias refers to a node that contains it (a recursive structure)")
        if len(self.active) >= limits.MAX_DEPTH:
            raise self.fail(node, path, _TOO_DEEP, _TOO_DEEP_HINT)
        self.active.add(id(node))

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        self.enter(node, path)
        try:
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        add, file = self.smap.add_position, self.file
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, path, "a mapping key must be a plain string, not a list or mapping")
            key = key_node.value
            if (key == "<<" and key_node.tag == _PLAIN) or key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if key in result:
                first = self.smap.locate((*path, key))
                where = f" (first defined at line {first.line})" if first and first.line else ""
                raise self.fail(key_node, (*path, key), f"duplicate key {limits.clip(key)}{where}")
            key_path = (*path, key)
            mark = key_node.start_mark
            add(key_path, file, mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, key_path)
        if merges:
            self.apply_merges(result, merges, path)
        return result

    def apply_merges(self, result: dict[str, Any], merges: list[Node], path: KeyPath) -> None:
        # Keys written in the mapping win over merged ones; among merged sources, earlier wins.
        sources: list[Node] = []
        for value_node in merges:
            if isinstance(value_node, SequenceNode):
                sources.extend(value_node.value)
            else:
                sources.append(value_node)
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.fail(
                    source, path, "a merge key (<<) takes a mapping or a list of mappings", "use <<: *anchor"
                )
            # Build the merged mapping against a scratch map so that its positions never
            # overwrite those of keys written here.
            outer, self.smap = self.smap, SourceMap()
            try:
                merged = self.mapping(source, path)
                scratch = self.smap
            finally:
                self.smap = outer
            depth = len(path)
            for key_path, loc in scratch.items():
                if len(key_path) > depth and key_path[depth] not in result:
                    outer.add(key_path, loc)
            for key, value in merged.items():
                if key not in result:
                    result[key] = value


def load_yaml(text: str, file: str, smap: SourceMap) -> Document:
    """Parse one stack file; positions go into `smap`, tags into `Document.tags`."""
    return _load(text, file, lambda: smap, single=True)[0]


def load_yaml_stream(text: str, file: str) -> list[tuple[Document, SourceMap]]:
    """Parse a file that may hold several documents (`---` between them), each with its own
    source map; Compose merges them in order, as if they were files.  A file without any
    document gives one empty Document (`data` None, `start` None)."""
    maps: list[SourceMap] = []

    def new_map() -> SourceMap:
        maps.append(SourceMap())
        return maps[-1]

    docs = _load(text, file, new_map, single=False)
    return list(zip(docs, maps, strict=True))


def _load(text: str, file: str, new_map: Callable[[], SourceMap], *, single: bool) -> list[Document]:
    composer = _Composer(text)
    roots: list[Node | None] = []
    try:
        if single:
            roots.append(composer.get_single_node())
        else:
            while composer.check_node():
                roots.append(composer.get_node())
            roots = roots or [None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = f"invalid YAML: {e.problem or e.context or 'syntax error'}"
        if mark is None:
            raise StackFileError(what, location=Location(file)) from None
        line, column = mark.line + 1, mark.column + 1
        hint = None
        if e.context and e.context_mark is not None and e.context_mark is not mark:
            hint = f"{e.context} at line {e.context_mark.line + 1}, column {e.context_mark.column + 1}"
        if e.problem == "exceeded maximum nesting depth":  # libyaml stops at 1000 levels
            what, hint = _TOO_DEEP, _TOO_DEEP_HINT
        raise StackFileError(
            what,
            location=Location(file, line, column),
            excerpt=_excerpt(text, line, column) or None,
            hint=hint,
        ) from None
    except yaml.YAMLError as e:
        raise StackFileError(f"invalid YAML: {e}", location=Location(file)) from None
    finally:
        composer.dispose()
    docs: list[Document] = []
    for root in roots:
        smap = new_map()
        if smap.default_file is None:
            smap.default_file = file
        if root is None:
            docs.append(Document(file=file, data=None, text=text))
            continue
        builder = _Builder(file, text, smap)
        data = builder.build(root, ())
        docs.append(Document(file=file, data=data, text=text, tags=builder.tags, start=builder.loc(root)))
    return docs

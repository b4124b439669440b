"""What `stack watch` does with a batch of changed files: pure, paths in, decisions out.

* Which rule a changed host path matches (`CompiledRule.matches`): under the rule's `path`,
  matched by `include` when it has one, and not ignored, as in Compose, by
  - the rule's `ignore` patterns (relative to the rule's path),
  - the service's build context `.dockerignore` (`<Dockerfile>.dockerignore` first), which only
    ever matches paths inside that context,
  - editors' temporary files (Vim, Emacs, JetBrains; Compose's list) and `.git` directories.
  Patterns follow Docker's `.dockerignore` rules (moby/patternmatcher): anchored at their root,
  `*` and `?` stay within one path segment, `**` crosses segments, `!` re-includes, the last
  matching pattern wins, and a path is matched when it or one of its parent directories is.
* Where it goes in the container (`container_path`): the rule's `target` joined with the path
  relative to the rule's `path`.
* What a batch asks of each service (`plan_batch`): rebuild, files to sync, restart, exec
  hooks (each once per batch, in rule order), and whether a stack or env file changed (reload).
* Which directories to watch (`watch_roots`).

The caller reads the files (`.dockerignore`, the file system) and passes what it read in, so
everything here runs without I/O in unit tests.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from stack.spec.models import Project, WatchExec, WatchRule

# Editors' temporary and backup files (Compose's list, from Tilt): never worth a sync.
EPHEMERAL_PATTERNS = (
    "**/*___jb_old___",
    "**/*___jb_tmp___",
    "**/.idea/**",
    "**/.#*",
    "**/4913",
    "**/*~",
    "**/.*.swp",
    "**/.*.swx",
    "**/.*.swo",
    "**/.*.swn",
)
# Version-control metadata: a `git commit` would otherwise sync (or rebuild) the world.
IGNORED_DIRECTORIES = frozenset({".git"})

ReadText = Callable[[str], str | None]  # a file's text, None when it does not exist


# ---------------------------------------------------------------------------------------------
# Docker's pattern matching


def parse_ignore_file(text: str) -> list[str]:
    """The patterns of a `.dockerignore` text, as Docker reads them (moby ignorefile.ReadAll):
    `#` lines are comments, blank lines skipped, each pattern cleaned and made relative."""
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = posixpath.normpath(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append(("!" if invert else "") + pattern)
    return patterns


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    """One cleaned pattern -> a regular expression over a relative path (moby's translation)."""
    out = "^"
    i = 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if in_class and ch != "\\":
            out += ch  # inside [...] as written: ranges, negation
            in_class = ch != "]"
        elif ch == "*":
            if i < len(pattern) and pattern[i] == "*":
                i += 1
                if i < len(pattern) and pattern[i] == "/":
                    i += 1  # `**/` is `**`
                out += ".*" if i >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\":
            if i < len(pattern):
                out += re.escape(pattern[i])
                i += 1
            else:
                out += re.escape("\\")
        elif ch == "[":
            out += ch  # a character class, as Docker passes it through
            in_class = True
        else:
            out += re.escape(ch)
    try:
        return re.compile(out + "$")
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class PatternMatcher:
    """Docker's `.dockerignore` matching of absolute host paths, relative to `root`.

    Raises ValueError (naming the pattern) when a pattern is malformed.
    """

    root: str
    patterns: tuple[str, ...]

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            _compile(self._cleaned(pattern)[0])

    @staticmethod
    def _cleaned(pattern: str) -> tuple[str, bool]:
        exclusion = pattern.startswith("!")
        body = posixpath.normpath(pattern[1:] if exclusion else pattern).lstrip("/")
        return body, exclusion

    def matches(self, path: str) -> bool:
        rel = posixpath.relpath(path, self.root)
        if rel == "." or rel == ".." or rel.startswith("../"):
            return False  # the root itself, or outside it: no pattern of this root applies
        parents = rel.split("/")[:-1]
        matched = False
        for pattern in self.patterns:
            body, exclusion = self._cleaned(pattern)
            if exclusion != matched:
                continue  # an inclusion cannot add to a match, an exclusion cannot remove a non-match
            regex = _compile(body)
            hit = regex.match(rel) is not None
            if not hit:
                hit = any(regex.match("/".join(parents[: n + 1])) for n in range(len(parents)))
            if hit:
                matched = not exclusion
        return matched


_EPHEMERAL = PatternMatcher("/", EPHEMERAL_PATTERNS)


def ephemeral(path: str) -> bool:
    """An editor's temporary file, or anything inside a `.git` directory."""
    parts = path.split("/")
    return _EPHEMERAL.matches(path) or any(part in IGNORED_DIRECTORIES for part in parts)


# ---------------------------------------------------------------------------------------------
# rules


def is_within(root: str, path: str) -> bool:
    """`path` is `root` or lies under it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class CompiledRule:
    """One `develop.watch` rule of one service, with its matchers."""

    service: str
    index: int  # position in the service's `develop.watch`
    rule: WatchRule
    include: PatternMatcher | None = None
    ignores: tuple[PatternMatcher, ...] = ()

    @property
    def action(self) -> str:
        return self.rule.action

    def matches(self, path: str) -> bool:
        """A change at host `path` concerns this rule."""
        if not is_within(self.rule.path, path):
            return False
        if self.include is not None and path != self.rule.path and not self.include.matches(path):
            return False
        return not self.ignored(path)

    def ignored(self, path: str) -> bool:
        return ephemeral(path) or any(m.matches(path) for m in self.ignores)

    def container_path(self, path: str) -> str | None:
        """Where host `path` goes in the container (None: the rule has no target)."""
        if not self.rule.target:
            return None
        rel = posixpath.relpath(path, self.rule.path)
        return self.rule.target if rel == "." else posixpath.join(self.rule.target, rel)


def dockerignore_path_candidates(context: str, dockerfile: str | None) -> list[str]:
    """Where the build's ignore file may be, in Docker's order of preference."""
    name = dockerfile or "Dockerfile"
    specific = (name if posixpath.isabs(name) else posixpath.join(context, name)) + ".dockerignore"
    return [specific, posixpath.join(context, ".dockerignore")]


def compile_rules(project: Project, services: Iterable[str], read_text: ReadText) -> list[CompiledRule]:
    """The watch rules of `services` (those without `develop.watch` have none), in service then
    rule order.  `read_text` reads a build context's ignore file.  A malformed pattern raises
    ValueError naming the service and the pattern."""
    compiled: list[CompiledRule] = []
    for name in services:
        service = project.services[name]
        rules = (service.develop.watch if service.develop else None) or []
        if not rules:
            continue
        context_ignore: PatternMatcher | None = None
        if service.build is not None:
            context = service.build.context
            if not posixpath.isabs(context):
                context = posixpath.normpath(posixpath.join(project.working_dir, context))
            for candidate in dockerignore_path_candidates(context, service.build.dockerfile):
                text = read_text(candidate)
                if text is not None:
                    context_ignore = _matcher(name, context, parse_ignore_file(text), candidate)
                    break
        for index, rule in enumerate(rules):
            ignores = [_matcher(name, rule.path, rule.ignore, "ignore")] if rule.ignore else []
            if context_ignore is not None:
                ignores.append(context_ignore)
            include = _matcher(name, rule.path, rule.include, "include") if rule.include else None
            compiled.append(CompiledRule(name, index, rule, include, tuple(ignores)))
    return compiled


def _matcher(service: str, root: str, patterns: Sequence[str], where: str) -> PatternMatcher:
    try:
        return PatternMatcher(root, tuple(patterns))
    except ValueError as exc:
        raise ValueError(f"service {service}: {where}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# batches


@dataclass(frozen=True)
class PathMapping:
    """A changed host path and where it goes in the service's containers, by `rule`."""

    host: str
    container: str
    rule: CompiledRule


@dataclass
class ServiceActions:
    """What one batch asks of one service, done in this order: rebuild, sync, restart, exec."""

    service: str
    rebuild: bool = False
    restart: bool = False
    sync: list[PathMapping] = field(default_factory=list)
    execs: list[WatchExec] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.rebuild or self.restart or self.sync or self.execs)


@dataclass
class BatchPlan:
    reload: bool = False  # a stack file or env file changed: load and converge first
    services: dict[str, ServiceActions] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.reload and not self.services


def plan_batch(changed: Iterable[str], rules: Sequence[CompiledRule], config_files: Collection[str]) -> BatchPlan:
    """Group one batch of changed host paths into actions per service (Compose's grouping:
    every rule a path matches applies; a service's restart and each exec hook happen once)."""
    plan = BatchPlan()
    paths = sorted(set(changed))
    plan.reload = any(p in config_files for p in paths)
    synced: dict[tuple[str, str], PathMapping] = {}
    hooked: set[tuple[str, int]] = set()  # (service, rule index) whose exec hook is planned
    for rule in rules:  # rule order first: the exec hooks run in the order they are written
        for path in paths:
            if not rule.matches(path):
                continue
            actions = plan.services.setdefault(rule.service, ServiceActions(rule.service))
            action = rule.action
            if action == "rebuild":
                actions.rebuild = True
            if action in ("restart", "sync+restart"):
                actions.restart = True
            if action in ("sync", "sync+restart", "sync+exec"):
                target = rule.container_path(path)
                if target is not None:
                    synced[rule.service, target] = PathMapping(path, target, rule)  # the last rule wins
            if action == "sync+exec" and rule.rule.exec is not None and (rule.service, rule.index) not in hooked:
                hooked.add((rule.service, rule.index))
                actions.execs.append(rule.rule.exec)
    for (service, _), mapping in sorted(synced.items()):
        plan.services[service].sync.append(mapping)
    plan.services = dict(sorted(plan.services.items()))
    return plan


def split_sync(mappings: Iterable[PathMapping], exists: Callable[[str], bool]) -> tuple[list[PathMapping], list[str]]:
    """(what to copy, container paths to delete): a host path gone by now is deleted, as Compose
    decides, by what is on disk when the batch is handled, not by the event's kind."""
    copies: list[PathMapping] = []
    deletes: list[str] = []
    for mapping in mappings:
        if exists(mapping.host):
            copies.append(mapping)
        else:
            deletes.append(mapping.container)
    return copies, deletes


# ---------------------------------------------------------------------------------------------
# what to watch


@dataclass(frozen=True)
class WatchRoots:
    """Directories watched with their whole tree, and directories watched for their direct
    entries only (where single files live: an editor replacing a file by a rename is seen)."""

    recursive: tuple[str, ...]
    flat: tuple[str, ...]


def watch_roots(
    rules: Sequence[CompiledRule],
    config_files: Iterable[str],
    is_dir: Callable[[str], bool],
    exists: Callable[[str], bool],
) -> WatchRoots:
    """A rule's directory is watched as a tree; a file (a rule's, a stack file, an env file) by
    its directory; a path that does not exist yet by its nearest existing ancestor."""
    trees: set[str] = set()
    flat: set[str] = set()
    for path in {r.rule.path for r in rules}:
        if is_dir(path):
            trees.add(path)
        else:
            flat.add(_existing_parent(path, exists))
    for path in config_files:
        flat.add(_existing_parent(path, exists))
    tree_list = sorted(t for t in trees if not any(o != t and is_within(o, t) for o in trees))
    flat_list = sorted(d for d in flat if not any(is_within(t, d) for t in tree_list))
    return WatchRoots(tuple(tree_list), tuple(flat_list))


def _existing_parent(path: str, exists: Callable[[str], bool]) -> str:
    parent = posixpath.dirname(path) or "/"
    while parent != "/" and not exists(parent):
        parent = posixpath.dirname(parent)
    return parent

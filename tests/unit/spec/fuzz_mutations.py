"""A seeded mutation fuzzer for the loader, over the awesome-compose corpus.

Each case takes one corpus stack file and applies one to three adversarial mutations (huge
integers, 1e400, deep nesting, million-character strings, port ranges, duplicated keys,
aliases, type swaps, deletions, random and invalid bytes, tabs, a BOM...). The loader then
runs in-process on the result, as `stack config` would (load, render YAML and JSON) and as
`up` would (the typed Project). It must succeed or raise a StackError, and within 10 s.

Case `i` of seed `s` depends on nothing else (its own `random.Random`), so a failure is
reproduced alone: `python -m tests.unit.spec.fuzz_mutations --seed s --only i --show`.
The suite runs a fixed seed (test_loader_fuzz.py); run more from the checkout with
`python -m tests.unit.spec.fuzz_mutations --cases 20000 --seed 1 --seed 2`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stack.errors import StackError
from stack.spec.loader import LoadOptions, load_project, load_raw
from stack.spec.serialize import dump_json, dump_yaml, ordered

STACK_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
FUZZ_FILE = "fuzz.yaml"
ENVIRON = {"HOME": "/home/fuzz", "A": "1", "EMPTY": ""}
CASE_LIMIT_S = 10.0

# ---------------------------------------------------------------------------------------------
# payloads: YAML text for a value position


def _size(rnd: random.Random) -> int:
    # Mostly small, sometimes a megabyte: every size is covered without making each case slow.
    return rnd.choices([1_000, 10_000, 100_000, 1_000_000], weights=[5, 3, 2, 1])[0]


def big_integer(rnd: random.Random) -> str:
    digits = rnd.choice([19, 20, 21, 40, 400, 4_300, 4_301, 5_000, 20_000, 50_000])
    form = rnd.randrange(6)
    if form == 0:
        return "0x" + "F" * max(digits // 2, 17)
    if form == 1:
        return "0o" + "7" * digits
    if form == 2:
        return "0b" + "1" * max(digits, 65)
    if form == 3:
        return "1_" * (digits // 2) + "1"
    return rnd.choice(["", "-", "+"]) + "9" * digits


def special_number(rnd: random.Random) -> str:
    return rnd.choice(
        [
            "1e400",
            "-1e400",
            "1e-400",
            "nan",
            ".nan",
            "NaN",
            ".inf",
            "-.inf",
            "+.inf",
            "inf",
            "1e308",
            "1.7976931348623157e309",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "-0",
            "0.0000001",
            "!!float 1e400",
            "!!int 1e3",
            "'1e400'",
            '"nan"',
            "9" * 400 + ".5",
        ]
    )


def deep_flow(rnd: random.Random) -> str:
    depth = rnd.choice([50, 99, 100, 101, 150, 999, 1_000, 1_001, 5_000, 20_000])
    shape = rnd.randrange(5)
    if shape == 0:
        return "[" * depth + "]" * depth
    if shape == 1:
        return "{a: " * depth + "1" + "}" * depth
    if shape == 2:
        return "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2)
    if shape == 3:
        return "[" * depth  # never closed
    return "{a: [" * (depth // 2) + "x" + "]}" * (depth // 2 - 1)  # one short


def long_string(rnd: random.Random) -> str:
    unit = rnd.choice(
        ["a", "a ", " ", "$", "$$", "${", "${A:-", "}", "{", "'", '"', "\\", ":", "- ", "#", "é", "\t", "\u2028"]
    )
    text = unit * max(_size(rnd) // len(unit), 1)
    style = rnd.randrange(3)
    if style == 0:
        return json.dumps(text)  # a double-quoted scalar: any content is valid YAML
    if style == 1:
        return "'" + text.replace("'", "''") + "'"
    return text  # plain: often invalid YAML, which must be reported as such


def port_spec(rnd: random.Random) -> str:
    return rnd.choice(
        [
            '"1-65535:1-65535"',
            '"0-65535"',
            '"1-65535/udp"',
            '"127.0.0.1:1-65535:1-65535"',
            '"[::1]:1-65535:1-65535/tcp"',
            '"65536"',
            '"65535-1"',
            '"1-1000:2000-3000"',
            '"8000-9000:80"',
            "[1-65535, 1-65535, 80, 80, 80]",
            '["1-65535:1-65535", "1-65535:1-65535"]',
            "{target: 99999999999999999999, published: 1-65535}",
            "{target: 65536}",
            '{target: "80", published: "99999"}',
            "99999",
            "-1",
            "[" + ", ".join(f'"{p}:{p}"' for p in range(1, 3_000)) + "]",
        ]
    )


def interpolation(rnd: random.Random) -> str:
    depth = rnd.choice([5, 99, 100, 101, 1_000, 50_000])
    return json.dumps(
        rnd.choice(
            [
                "${A:-" * depth + "x" + "}" * depth,
                "${EMPTY:-" * depth + "x" + "}" * depth,
                "${A:+" * depth + "x" + "}" * depth,
                "${" * depth,
                "$" * depth,
                "${A:?" + "x" * _size(rnd) + "}",
                "${UNSET:?" + "y" * depth + "}",
                "${" + "A" * _size(rnd) + "}",
                "$" + "B" * _size(rnd),
                "${A:-" + "{" * depth + "}",
            ]
        )
    )


def tagged(rnd: random.Random) -> str:
    return rnd.choice(
        [
            "!reset",
            "!reset null",
            "!override [a]",
            "!!int 5",
            "!!int " + "9" * 5_000,
            "!!float 1e400",
            "!!float nan",
            "!!bool yes",
            "!!null x",
            "!!binary aGVsbG8=",
            "!!str",
            "!!map {}",
            "!!seq []",
            "!!set {a}",
            "!!omap [a: 1]",
            "!!timestamp 2001-12-14",
            "!custom x",
            "!<tag:yaml.org,2002:int> 1",
            "!! x",
            "!",
        ]
    )


def alias(rnd: random.Random) -> str:
    return rnd.choice(["*a", "*undefined", "&a x", "&a [*a]", "&b {c: 1}", "*b", "&a", "*"])


def scalar(rnd: random.Random) -> str:
    return rnd.choice(
        ["", "~", "null", "true", "yes", "0", "-1", "80", "80:80", "1m30s", "512m", "x", "[]", "{}", "- a", ": a"]
    )


PAYLOADS: list[Callable[[random.Random], str]] = [
    big_integer,
    special_number,
    deep_flow,
    long_string,
    port_spec,
    interpolation,
    tagged,
    alias,
    scalar,
]

# Keys worth aiming payloads at (as well as random existing values).
KEYS = [
    "ports",
    "expose",
    "scale",
    "cpus",
    "mem_limit",
    "shm_size",
    "stop_grace_period",
    "command",
    "entrypoint",
    "environment",
    "labels",
    "image",
    "volumes",
    "depends_on",
    "healthcheck",
    "deploy",
    "ulimits",
    "pids_limit",
    "restart",
    "extends",
    "include",
    "version",
    "name",
    "x-fuzz",
    "networks",
    "secrets",
    "env_file",
    "profiles",
    "<<",
]
NESTED_KEYS = {
    "deploy": ["replicas", "resources", "restart_policy", "update_config"],
    "healthcheck": ["interval", "timeout", "retries", "start_period", "test"],
    "resources": ["limits", "reservations"],
    "limits": ["cpus", "memory", "pids"],
}

# ---------------------------------------------------------------------------------------------
# mutations: text -> text


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" "))]


def replace_value(rnd: random.Random, text: str) -> str:
    """A random `key: value` or `- item` value becomes a payload."""
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if ": " in line or line.lstrip().startswith("- ")]
    if not spots:
        return text
    i = rnd.choice(spots)
    line = lines[i]
    head = line[: line.index(": ") + 2] if ": " in line else line[: line.index("- ") + 2]
    lines[i] = head + rnd.choice(PAYLOADS)(rnd)
    return "\n".join(lines)


def insert_key(rnd: random.Random, text: str) -> str:
    """A new `key: payload` line next to a random line, at its indentation (or one deeper)."""
    lines = _lines(text)
    i = rnd.randrange(len(lines))
    indent = _indent(lines[i]) + rnd.choice(["", "  "])
    key = rnd.choice(KEYS)
    value = rnd.choice(PAYLOADS)(rnd)
    if key in NESTED_KEYS and rnd.random() < 0.5:
        sub = rnd.choice(NESTED_KEYS[key])
        lines.insert(i + 1, f"{indent}{key}:\n{indent}  {sub}: {value}")
    else:
        lines.insert(i + 1, f"{indent}{key}: {value}")
    return "\n".join(lines)


def deep_block(rnd: random.Random, text: str) -> str:
    """Nesting by indentation (block style) or by `- - - x`, under a service."""
    depth = rnd.choice([50, 99, 100, 101, 300, 1_000, 3_000])
    if rnd.random() < 0.5:
        nested = "\n".join("  " * (k + 3) + "a:" for k in range(min(depth, 600))) + " 1"
        block = "    x-deep:\n" + nested
    else:
        block = "    x-deep: " + "- " * depth + "x"
    return text.replace("services:\n", "services:\n  deep:\n    image: x\n" + block + "\n", 1)


def duplicate_lines(rnd: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rnd.randrange(len(lines))
    n = rnd.choice([1, 1, 2, 5])
    lines[i:i] = lines[i : i + n]
    return "\n".join(lines)


def delete_lines(rnd: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rnd.randrange(len(lines))
    del lines[i : i + rnd.choice([1, 1, 3, 10])]
    return "\n".join(lines)


def delete_span(rnd: random.Random, text: str) -> str:
    i = rnd.randrange(max(len(text), 1))
    return text[:i] + text[i + rnd.choice([1, 2, 8, 40]) :]


def insert_chars(rnd: random.Random, text: str) -> str:
    i = rnd.randrange(len(text) + 1)
    chars = rnd.choice(
        [
            "{",
            "[",
            "]",
            "}",
            ":",
            "- ",
            "\t",
            "$",
            "${",
            "&a ",
            "*a",
            "'",
            '"',
            "!reset ",
            "\x00",
            "\x1b",
            "\ufeff",
            "\u2028",
            "\r",
            "?",
            "%",
            "@",
            "`",
            "|",
            ">",
            "#",
            "---\n",
            "...\n",
            "\n",
        ]
    )
    return text[:i] + chars * rnd.choice([1, 1, 3, 100]) + text[i:]


def tabs(rnd: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rnd.randrange(len(lines))
    lines[i] = lines[i].replace("  ", "\t")
    return "\n".join(lines)


def crlf(rnd: random.Random, text: str) -> str:
    return text.replace("\n", rnd.choice(["\r\n", "\r"]))


def bom(rnd: random.Random, text: str) -> str:
    i = 0 if rnd.random() < 0.5 else rnd.randrange(len(text) + 1)
    return text[:i] + "\ufeff" + text[i:]


def documents(rnd: random.Random, text: str) -> str:
    return rnd.choice(["---\n" + text, text + "\n---\n" + text, text + "\n...\n", "%YAML 1.1\n---\n" + text])


def anchors(rnd: random.Random, text: str) -> str:
    """An anchored mapping merged into a service, an alias bomb, or an alias cycle."""
    kind = rnd.randrange(4)
    if kind == 0:
        head = "x-base: &base\n  restart: always\n  cpus: 1e400\n"
        return head + text.replace("    image:", "    <<: *base\n    image:", 1)
    if kind == 1:
        # 1e4, 1e5, 65536, 1e6 and 1e7 nodes (the last two: over the loader's budget of copies).
        shapes = [(10, 4), (10, 5), (2, 16), (10, 6), (10, 7)]
        width, levels = rnd.choices(shapes, weights=[8, 4, 2, 1, 1])[0]
        bomb = [f"x-b0: &b0 [{', '.join(['x'] * width)}]"]
        bomb += [f"x-b{k}: &b{k} [{', '.join([f'*b{k - 1}'] * width)}]" for k in range(1, levels)]
        return "\n".join(bomb) + "\n" + text
    if kind == 2:
        chain = ["x-m0: &m0 {k0: 1}"] + [f"x-m{k}: &m{k} {{<<: *m{k - 1}, k{k}: 1}}" for k in range(1, 200)]
        return "\n".join(chain) + "\n" + text
    return "x-r: &r [*r]\n" + text


def references(rnd: random.Random, text: str) -> str:
    """extends/include pointing at this very file, or at nothing."""
    line = rnd.choice(
        [
            f"include: [{FUZZ_FILE}]",
            f"include: [{{path: [{FUZZ_FILE}, {FUZZ_FILE}]}}]",
            "include: [missing.yaml]",
            "include: [/]",
        ]
    )
    if rnd.random() < 0.5:
        return line + "\n" + text
    ext = rnd.choice([f"{{file: {FUZZ_FILE}, service: deep}}", "{service: nope}", "{file: /, service: x}"])
    return text.replace("services:\n", f"services:\n  deep:\n    image: x\n    extends: {ext}\n", 1)


def chains(rnd: random.Random, text: str) -> str:
    """Services that extend or depend on one another in a long chain (or a cycle)."""
    n = rnd.choice([10, 99, 101, 1_000, 3_000])
    if rnd.random() < 0.5:
        links = "".join(f"  c{k}:\n    extends: c{k + 1}\n" for k in range(n)) + f"  c{n}:\n    image: x\n"
    else:
        cycle = rnd.random() < 0.5  # the last depends on the first
        links = "".join(f"  c{k}:\n    image: x\n    depends_on: [c{k + 1}]\n" for k in range(n))
        links += f"  c{n}:\n    image: x\n" + ("    depends_on: [c0]\n" if cycle else "")
    return text.replace("services:\n", "services:\n" + links, 1)


def many_entries(rnd: random.Random, text: str) -> str:
    """A service with a long list (ports, volumes, environment) or many services."""
    n = rnd.choices([1_000, 5_000, 20_000, 50_000], weights=[8, 4, 2, 1])[0]
    kind = rnd.randrange(4)
    if kind == 0:
        body = "    ports:\n" + "".join(f'      - "{k % 60_000 + 1}:{k % 60_000 + 1}"\n' for k in range(n))
    elif kind == 1:
        body = "    volumes:\n" + "".join(f"      - ./v{k}:/v{k}\n" for k in range(n))
    elif kind == 2:
        body = "    environment:\n" + "".join(f"      - K{k}=${{A}}\n" for k in range(n))
    else:
        return text + "\n" + "".join(f"  s{k}:\n    image: x\n" for k in range(n // 10))
    return text.replace("services:\n", "services:\n  many:\n    image: x\n" + body, 1)


def swap_type(rnd: random.Random, text: str) -> str:
    """Structural: a random node of the parsed file becomes another type (or goes away)."""
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except Exception:  # an earlier mutation broke it (PyYAML then raises all sorts): leave it
        return text
    slots = _slots(data)
    if not slots:
        return text
    parent, key = rnd.choice(slots)
    replacement = rnd.choice(
        [
            "text",
            ["a", "b"],
            {"a": "b"},
            7,
            -1,
            2**64,
            1.5,
            None,
            True,
            [],
            {},
            [[["x"]]],
            {"x-": {"y": [1, {"z": None}]}},
            "delete",
        ]
    )
    if replacement == "delete":
        del parent[key]
    else:
        parent[key] = replacement
    try:
        return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False)
    except Exception:  # too deep for PyYAML's representer, an int too long for str()...
        return text


def _slots(data: Any, limit: int = 10_000) -> list[tuple[Any, Any]]:
    """(container, key or index) of the nodes of `data`, breadth first, at most `limit`
    (aliases share nodes: an alias bomb has more slots than memory)."""
    slots: list[tuple[Any, Any]] = []
    pending = deque([data])
    while pending and len(slots) < limit:
        node = pending.popleft()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            slots.append((node, key))
            pending.append(value)
    return slots[:limit]


TEXT_MUTATIONS: list[Callable[[random.Random, str], str]] = [
    replace_value,
    replace_value,
    replace_value,
    insert_key,
    insert_key,
    insert_key,
    deep_block,
    duplicate_lines,
    delete_lines,
    delete_span,
    insert_chars,
    insert_chars,
    tabs,
    crlf,
    bom,
    documents,
    anchors,
    references,
    chains,
    many_entries,
    swap_type,
    swap_type,
]


def raw_bytes(rnd: random.Random, data: bytes) -> bytes:
    """Bytes that are not (all) UTF-8 text: random bytes, invalid sequences, a UTF-16 BOM."""
    i = rnd.randrange(len(data) + 1)
    junk = rnd.choice(
        [
            bytes(rnd.randrange(256) for _ in range(rnd.choice([1, 8, 64]))),
            b"\xff\xfe",
            b"\xc3\x28",
            b"\xed\xa0\x80",  # an encoded surrogate
            b"\xf4\x90\x80\x80",  # beyond U+10FFFF
            b"\xc0\xaf",  # overlong
            b"\x80",
        ]
    )
    return data[:i] + junk + data[i:]


def mutate(rnd: random.Random, original: str) -> bytes:
    text = original
    for _ in range(rnd.choice([1, 1, 2, 3])):
        text = rnd.choice(TEXT_MUTATIONS)(rnd, text)
    data = text.encode("utf-8", "surrogatepass")
    if rnd.random() < 0.05:
        data = raw_bytes(rnd, data)
    return data


# ---------------------------------------------------------------------------------------------
# running cases


def corpus_files(corpus: Path) -> list[Path]:
    """The stack file of every sample directory of the corpus."""
    files = []
    for sample in sorted(p for p in corpus.iterdir() if p.is_dir()):
        found = [sample / name for name in STACK_FILE_NAMES if (sample / name).is_file()]
        files.extend(found[:1])
    return files


@dataclass
class Outcome:
    cases: int = 0
    loaded: int = 0  # cases that loaded without error
    failures: list[str] = field(default_factory=list)  # anything but a StackError, or too slow
    slowest: tuple[float, str] = (0.0, "")


def run_case(options: LoadOptions) -> bool:
    """What `stack config` and `up` do with a stack file. True when it loads."""
    try:
        raw = load_raw(options)
        dump_yaml(ordered(raw, for_json=False))
        dump_json(ordered(raw, for_json=True))
        load_project(options)
    except StackError as e:
        e.render()  # the CLI prints it: it must render too
        return False
    return True


def _workdirs(files: list[Path], root: Path) -> list[Path]:
    """One writable directory per sample, with links to the sample's files (the corpus may be
    read-only): the mutated file goes next to what it refers to."""
    dirs = []
    for file in files:
        work = root / file.parent.name
        work.mkdir()
        for child in file.parent.iterdir():
            (work / child.name).symlink_to(child)
        dirs.append(work)
    return dirs


def case_id(seed: int, index: int) -> str:
    return f"seed {seed} case {index}"


def fuzz(corpus: Path, seed: int, cases: int, only: int | None = None, show: bool = False) -> Outcome:
    files = corpus_files(corpus)
    texts = [f.read_text(encoding="utf-8") for f in files]
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="stack-fuzz-") as tmp:
        workdirs = _workdirs(files, Path(tmp))
        for index in range(cases) if only is None else [only]:
            rnd = random.Random(f"{seed}:{index}")
            pick = rnd.randrange(len(files))
            data = mutate(rnd, texts[pick])
            target = workdirs[pick] / FUZZ_FILE
            target.write_bytes(data)
            if show:
                print(f"--- {case_id(seed, index)}: {files[pick]} ({len(data)} bytes)\n{data[:2000]!r}")
            options = LoadOptions(
                files=[str(target)], cwd=str(workdirs[pick]), environ=ENVIRON, on_warning=lambda _m: None
            )
            started = time.perf_counter()
            try:
                outcome.loaded += run_case(options)
            except Exception as e:  # the point of the fuzzer: anything else is a bug
                what = "".join(traceback.format_exception_only(type(e), e)).strip()[:300]
                where = traceback.extract_tb(e.__traceback__)[-1]
                outcome.failures.append(f"{case_id(seed, index)}: {what} ({where.filename}:{where.lineno})")
            elapsed = time.perf_counter() - started
            if elapsed > CASE_LIMIT_S:
                outcome.failures.append(f"{case_id(seed, index)}: took {elapsed:.1f} s")
            if elapsed > outcome.slowest[0]:
                outcome.slowest = (elapsed, case_id(seed, index))
            outcome.cases += 1
    return outcome


def main(argv: list[str] | None = None) -> int:
    from tests.conftest import shared_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--seed", type=int, action="append", help="repeatable (default: 0)")
    parser.add_argument("--only", type=int, help="run only this case")
    parser.add_argument("--show", action="store_true", help="print each case's input")
    args = parser.parse_args(argv)
    corpus = shared_dir() / "corpus" / "awesome-compose"
    if not corpus.is_dir():
        print(f"{corpus} is missing: set STACK_SHARED_DIR to the shared directory", file=sys.stderr)
        return 2
    total_failures = 0
    for seed in args.seed or [0]:
        started = time.perf_counter()
        outcome = fuzz(corpus, seed, args.cases, args.only, args.show)
        for failure in outcome.failures:
            print(failure)
        total_failures += len(outcome.failures)
        print(
            f"seed {seed}: {outcome.cases} cases ({outcome.loaded} loaded) in {time.perf_counter() - started:.0f} s, "
            f"{len(outcome.failures)} failures, slowest {outcome.slowest[0]:.2f} s ({outcome.slowest[1]})"
        )
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""YAML with positions: Compose's scalar rules, anchors, merge keys, tags, duplicate keys."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.spec.loader import LoadOptions, load_raw
from stack.spec.sourcemap import SourceMap, format_path, parse_path
from stack.spec.yamlpos import load_yaml


def load(text: str):
    smap = SourceMap()
    return load_yaml(text, "f.yaml", smap), smap


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        ("80:80", "80:80"),  # YAML 1.1 would read sexagesimal 4880
        ("yes", "yes"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("0777", 511),  # go-yaml: leading 0 is octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("-12", -12),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("2001-12-14", "2001-12-14"),  # timestamps stay strings
        ("1.2.3", "1.2.3"),
        ("10s", "10s"),
    ],
)
def test_plain_scalars_resolve_like_compose(plain: str, value: object) -> None:
    doc, _ = load(f"v: {plain}\n")
    assert doc.data["v"] == value
    assert type(doc.data["v"]) is type(value)


def test_special_floats_and_quoted_scalars() -> None:
    doc, _ = load("a: .inf\nb: '5'\nc: \"true\"\nd: !!str 7\ne: !!int '8'\n")
    assert doc.data["a"] == math.inf
    assert doc.data == {"a": math.inf, "b": "5", "c": "true", "d": "7", "e": 8}


def test_positions_of_keys_and_items() -> None:
    doc, smap = load("services:\n  web:\n    image: a\n    ports:\n      - '80'\n      - '81'\n")
    assert doc.data["services"]["web"]["ports"] == ["80", "81"]
    loc = smap.locate(("services", "web", "ports", 1))
    assert (loc.file, loc.line, loc.column) == ("f.yaml", 6, 9)
    loc = smap.locate(("services", "web", "image"))
    assert (loc.line, loc.column) == (3, 5)
    # an unknown deeper path falls back to its nearest ancestor
    assert smap.locate(("services", "web", "ports", 1, "target")).line == 6


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "x-base: &base {image: app, environment: {A: '1'}}\n"
        "x-more: &more {restart: always, image: other}\n"
        "services:\n"
        "  one:\n"
        "    <<: *base\n"
        "    image: mine\n"
        "  two:\n"
        "    <<: [*base, *more]\n"
        "  three: *base\n"
    )
    doc, smap = load(text)
    services = doc.data["services"]
    assert services["one"] == {"image": "mine", "environment": {"A": "1"}}
    assert services["two"] == {"image": "app", "environment": {"A": "1"}, "restart": "always"}
    assert services["three"] == {"image": "app", "environment": {"A": "1"}}
    assert "x-base" in doc.data  # extension fields are kept
    # the explicit key keeps its own position; merged keys point at the anchor
    assert smap.locate(("services", "one", "image")).line == 6
    assert smap.locate(("services", "one", "environment")).line == 1


def test_reset_and_override_tags_are_recorded_and_stripped() -> None:
    doc, _ = load("services:\n  web:\n    ports: !reset []\n    image: !reset null\n    env: !override {A: 1}\n")
    assert doc.data["services"]["web"] == {"ports": [], "image": None, "env": {"A": 1}}
    assert doc.tags == {
        ("services", "web", "ports"): "reset",
        ("services", "web", "image"): "reset",
        ("services", "web", "env"): "override",
    }


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    with pytest.raises(StackFileError) as info:
        load("services:\n  web:\n    image: a\n  web:\n    image: b\n")
    e = info.value
    assert e.location is not None
    assert (e.location.line, e.location.column, e.path) == (4, 3, "services.web")
    assert "first defined at line 2" in e.message


def test_syntax_error_has_excerpt_and_caret() -> None:
    with pytest.raises(StackFileError) as info:
        load("services:\n  web:\n   image: a\n  bad\n")
    e = info.value
    assert e.location is not None and e.location.line is not None
    assert e.excerpt and "|" in e.excerpt and "^" in e.excerpt


def test_unknown_tag_and_non_scalar_key() -> None:
    with pytest.raises(StackFileError, match="unknown YAML tag"):
        load("a: !vault x\n")
    with pytest.raises(StackFileError, match="mapping key"):
        load("? [a, b]\n: 1\n")


def test_alias_bomb_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stack.spec.limits.MAX_ALIASED_NODES", 10_000)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(StackFileError, match="10000 nodes"):
        load("\n".join(lines) + "\n")


def test_empty_document() -> None:
    doc, _ = load("# only a comment\n")
    assert doc.data is None


def test_format_path() -> None:
    assert format_path(("services", "api", "ports", 1)) == "services.api.ports[1]"
    assert format_path(("include", 0, "path")) == "include[0].path"
    assert format_path(()) == ""


PLAIN_VALUES = [
    "80:80",
    "yes",
    "on",
    "true",
    "False",
    "~",
    "null",
    "0777",
    "0o17",
    "0x1F",
    "1_000",
    "-12",
    "1.5",
    "1e3",
    "1.2.3",
    "10s",
    "089",
    "+5",
    "0b101",
    "1__0",
    "0x_1F",
    "00",
    "-0",
    "1.0",
    ".5",
    "5.",
    "1:30",
    # beyond int64: a uint64, else a float, else (beyond float64) the text, as go-yaml reads them
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "9" * 30,
    "9" * 400,
    "9" * 5_000,
    "1e400",
    "-1e400",
    "1e-400",
    "0x" + "F" * 17,
    "0o" + "7" * 30,
]


def test_plain_scalars_exactly_as_compose(tmp_path: Path, compose_bin: Path) -> None:
    lines = "".join(f"      K{i}: {v}\n" for i, v in enumerate(PLAIN_VALUES))
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: busybox\n    environment:\n{lines}")
    out = subprocess.run(
        [str(compose_bin), "config", "--format", "json"], cwd=tmp_path, capture_output=True, text=True, env={}
    )
    theirs = json.loads(out.stdout)["services"]["web"]["environment"]
    ours = load_raw(LoadOptions(cwd=str(tmp_path), environ={}))["services"]["web"]["environment"]
    assert ours == theirs


@pytest.mark.parametrize(
    "path",
    [("services", "api", "ports", 1), ("secrets", "db", "environment"), ("services", "w", "x", 0, 2), ("name",)],
)
def test_key_paths_round_trip_through_their_text(path) -> None:
    assert parse_path(format_path(path)) == path

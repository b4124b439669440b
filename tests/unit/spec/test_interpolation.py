"""Interpolation: each operator as Compose evaluates it (cases checked against docker compose 2.40)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.spec.interpolation import InterpolationError, substitute
from stack.spec.loader import LoadOptions, load_raw

ENV = {"SET": "val", "EMPTY": ""}


def sub(text: str, warned: list[str] | None = None) -> str:
    return substitute(text, ENV.get, (warned if warned is not None else []).append)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "val"),
        ("${SET}", "val"),
        ("$SET.x", "val.x"),
        ("a $1 b", "a $1 b"),  # `$` + digit stays literal
        ("a $ b", "a $ b"),
        ("a$", "a$"),
        ("$-", "$-"),
        ("$$SET", "$SET"),
        ("$$$SET", "$val"),
        ("x${SET:-a}}", "xval}"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${SET-}", "val"),
        ("${a-b-c}", "b-c"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${SET:?oops}", "val"),
        ("${EMPTY?e}", ""),
        ("${SET:-${UNSET:-${EMPTY:-z}}}", "val"),
        ("${UNSET:-${UNSET2:-${EMPTY:-z}}}", "z"),
        ("${UNSET:-{x}}", "{x}"),
        ("${UNSET:-a}b}", "ab}"),
        ("${UNSET:-$SET}", "val"),
        ("${UNSET:-$$}", "$"),
    ],
)
def test_operators(text: str, expected: str) -> None:
    assert sub(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?oops here}", "required variable UNSET is missing a value: oops here"),
        ("${EMPTY:?e2}", "required variable EMPTY is missing a value: e2"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${UNSET:?$SET bad}", "required variable UNSET is missing a value: val bad"),
    ],
)
def test_required_variables(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        sub(text)
    assert str(info.value) == message


@pytest.mark.parametrize("text", ["${}", "${SET", "${9x}", "${SET:=x}", "${SET:x}", "${ SET}", "${SET }"])
def test_invalid_expressions(text: str) -> None:
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        sub(text)


def test_unset_variable_warns_and_defaults_to_empty() -> None:
    warned: list[str] = []
    assert sub("a${NOPE}b$NOPE", warned) == "ab"
    assert warned == ["NOPE", "NOPE"]  # the loader dedupes per variable
    warned.clear()
    sub("${NOPE:-x}${NOPE-y}${NOPE:+z}", warned)
    assert warned == []  # a default means no warning
    sub("${SET:-$NOPE}", warned)
    assert warned == []  # defaults are only evaluated when used


def _load(tmp_path: Path, text: str, environ: dict[str, str], **kw: object):
    (tmp_path / "stack.yaml").write_text(text)
    warnings: list[str] = []
    opts = LoadOptions(cwd=str(tmp_path), environ=environ, on_warning=warnings.append, **kw)  # type: ignore[arg-type]
    return load_raw(opts), warnings


def test_values_not_keys_and_one_warning_per_variable(tmp_path: Path) -> None:
    raw, warnings = _load(
        tmp_path,
        "services:\n  web:\n    image: 'app:${TAG}'\n    labels:\n      ${KEY}: '${TAG}'\n"
        "      b: $$HOME\n    x-note: '${TAG:-x}'\n",
        {"KEY": "k"},
    )
    web = raw["services"]["web"]
    assert web["image"] == "app:"
    assert web["labels"] == {"${KEY}": "", "b": "$HOME"}
    assert web["x-note"] == "x"  # extension fields are interpolated too
    assert warnings == ['The "TAG" variable is not set. Defaulting to a blank string.']


def test_dotenv_and_process_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=fromfile\nOTHER=file\n")
    raw, _ = _load(tmp_path, "services:\n  web:\n    image: '${TAG}-${OTHER}'\n", {"TAG": "proc"})
    assert raw["services"]["web"]["image"] == "proc-file"  # process environment wins


def test_env_file_option_replaces_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=dotenv\n")
    (tmp_path / "a.env").write_text("TAG=a\nX=a\n")
    (tmp_path / "b.env").write_text("TAG=b\n")
    raw, _ = _load(tmp_path, "services:\n  web:\n    image: '${TAG}${X}'\n", {}, env_files=["a.env", "b.env"])
    assert raw["services"]["web"]["image"] == "ba"  # later file wins; .env not read


def test_no_interpolate(tmp_path: Path) -> None:
    raw, warnings = _load(tmp_path, "services:\n  web:\n    image: 'app:${TAG}'\n", {}, interpolate=False)
    assert raw["services"]["web"]["image"] == "app:${TAG}"
    assert warnings == []


def test_error_has_location(tmp_path: Path) -> None:
    with pytest.raises(StackFileError) as info:
        _load(tmp_path, "services:\n  web:\n    image: a\n    command: [run, '${MODE:?pick a mode}']\n", {})
    e = info.value
    assert e.path == "services.web.command[1]"
    assert e.location is not None
    assert (e.location.line, e.location.column) == (4, 20)
    assert "MODE" in e.message and "pick a mode" in e.message

"""`.env` syntax, checked line by line against docker compose 2.40's reading of the same file."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.spec.dotenv import parse_dotenv, read_env_files

SAMPLE = r"""# comment
A=plain value # inline comment
B=noinline#hash
export C=exported
D='single $A \n quoted'
E="double $A \n \t \" \\ \$A end"
F="multi
line"
G = spaced
H: colon
I=${A}-suffix
J=$${A}
K
L=
M=' trailing '  # c
N="x" # c
O=${UNSET_IN_ENV:-dflt}
P=a\nb
Q="${C}${PROC}"
R= 'lead'
  S=indented
export
"""

EXPECTED = {
    "A": "plain value",
    "B": "noinline#hash",
    "C": "exported",
    "D": "single $A \\n quoted",
    "E": 'double plain value \n \t " \\ $A end',
    "F": "multi\nline",
    "G": "spaced",
    "H": "colon",
    "I": "plain value-suffix",
    "J": "${A}",
    "L": "",
    "M": " trailing ",
    "N": "x",
    "O": "dflt",
    "P": "a\\nb",
    "Q": "exportedproc",
    "R": "lead",
    "S": "indented",
}


def test_syntax_matches_compose() -> None:
    assert parse_dotenv(SAMPLE, ".env", lambda k: {"PROC": "proc"}.get(k)) == EXPECTED


def test_bare_key_takes_the_environment_value() -> None:
    environ = {"K": "fromproc"}
    assert parse_dotenv("K\n", ".env", environ.get) == {"K": "fromproc"}
    assert parse_dotenv("K\n", ".env", lambda _k: None) == {}


def test_later_definition_wins_and_crlf() -> None:
    assert parse_dotenv("V=a\r\nV=b\r\n", ".env") == {"V": "b"}


def test_errors_name_file_and_line() -> None:
    with pytest.raises(StackFileError) as info:
        parse_dotenv("A=1\n=novalue\n", "my.env")
    assert info.value.location is not None
    assert (info.value.location.file, info.value.location.line) == ("my.env", 2)
    with pytest.raises(StackFileError, match="unterminated"):
        parse_dotenv('A="open\nB=2\n', "my.env")
    with pytest.raises(StackFileError) as info:
        parse_dotenv("A=1\nB=${C\n", "my.env")
    assert info.value.location is not None
    assert info.value.location.line == 2


def test_read_env_files_order_and_process_env(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("X=a\nY=a\nZ=a\n")
    (tmp_path / "b.env").write_text("Y=b\nW=${X}-${Z}\n")
    env = read_env_files([str(tmp_path / "a.env"), str(tmp_path / "b.env")], {"Z": "proc"})
    assert env == {"X": "a", "Y": "b", "Z": "a", "W": "a-proc"}


def test_missing_env_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.env")
    assert read_env_files([missing], {}, required=False) == {}
    with pytest.raises(StackFileError, match=r"nope\.env"):
        read_env_files([missing], {})


ODD = (
    'V1="a"b\nV2=\'a\'#c\nV3=a\\#b\nV4=a #b # c\nV5="a\\u00e9b"\nV6=tab\there\n'
    "V7=\"with 'single' inside\"\nV8='with \"double\" inside'\nV9=x=y=z\nV10=  spaced value  \n"
    'V11="esc \\a \\b"\nV12=${V1}${V2}\nV13=\'${V1}\'\nV14="$V1"\nV15=a;b\nV16=#notcomment\n'
    'V17="line1\\\nline2"\nexport   V18=multi-space\nV19="a" # comment "quoted"\nV20=`backtick`\n'
)


def test_odd_lines_exactly_as_compose(tmp_path: Path, compose_bin: Path) -> None:
    import json
    import subprocess

    from stack.spec.loader import LoadOptions, load_raw

    (tmp_path / ".env").write_text(ODD)
    names = [f"V{i}" for i in range(1, 21)]
    env_lines = "".join(f'      {n}: "${{{n}-UNSET}}"\n' for n in names)
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: busybox\n    environment:\n{env_lines}")
    out = subprocess.run(
        [str(compose_bin), "config", "--format", "json"], cwd=tmp_path, capture_output=True, text=True, env={}
    )
    theirs = json.loads(out.stdout)["services"]["web"]["environment"]
    ours = load_raw(LoadOptions(cwd=str(tmp_path), environ={}))["services"]["web"]["environment"]
    # Compose prints a literal `$` as `$$`; the loaded value holds the `$` itself.
    assert {k: v.replace("$", "$$") for k, v in ours.items()} == theirs

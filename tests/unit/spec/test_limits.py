"""Adversarial stack files: each loads, or fails with a short located error, within seconds.

One test (or a few) per failure class found by fuzzing `stack config`: huge integers, numbers
out of float range, numbers out of a field's range, deep nesting, nested interpolation, big
port ranges and long strings (steps that were quadratic), and messages quoting huge values.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stack.cli.main import main
from stack.errors import StackFileError
from stack.spec import limits, shellwords
from stack.spec.loader import LoadOptions, load_project, load_raw
from stack.spec.serialize import dump_yaml, ordered
from stack.spec.units import byte_size, parse_duration_ns

ENV = {"HOME": "/home/test", "A": "1"}
SERVICE = "services:\n  web:\n    image: x\n"


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "stack.yaml"
    file.write_text(text)
    return file


def _options(tmp_path: Path, file: Path) -> LoadOptions:
    return LoadOptions(files=[str(file)], cwd=str(tmp_path), environ=ENV, on_warning=lambda _m: None)


def _error(tmp_path: Path, text: str) -> StackFileError:
    file = _write(tmp_path, text)
    with pytest.raises(StackFileError) as info:
        load_project(_options(tmp_path, file))
    error = info.value
    assert error.location is not None and error.location.file == str(file)
    assert len(error.render()) < 600, "a message quoting a huge value must stay short"
    return error


def _raw(tmp_path: Path, text: str) -> dict[str, object]:
    return load_raw(_options(tmp_path, _write(tmp_path, text)))


def _exit_code(argv: list[str]) -> object:
    """What the CLI exits with (anything but a StackError escapes: a traceback, and a failure)."""
    try:
        main(argv)
    except SystemExit as e:
        return e.code
    return 0


def _web(raw: dict[str, object]) -> dict[str, object]:
    services = raw["services"]
    assert isinstance(services, dict)
    web = services["web"]
    assert isinstance(web, dict)
    return web


# ---------------------------------------------------------------------------------------------
# integers and floats beyond what YAML (go-yaml) reads as a number


def test_an_integer_of_thousands_of_digits_stays_text_as_in_compose(tmp_path: Path) -> None:
    # Python's int() refuses over 4300 digits: the YAML reader must never try.
    digits = "9" * 50_000
    env = _web(_raw(tmp_path, SERVICE + f"    environment:\n      BIG: {digits}\n      NEG: -{digits}\n"))
    assert env["environment"] == {"BIG": digits, "NEG": "-" + digits}


@pytest.mark.parametrize("field", ["scale", "cpus", "pids_limit", "mem_limit", "stop_grace_period"])
@pytest.mark.parametrize("value", ["9" * 5_000, "-" + "9" * 5_000, "0x" + "F" * 5_000, "1e400", "-1e400"])
def test_huge_numbers_in_numeric_fields_are_located_errors(tmp_path: Path, field: str, value: str) -> None:
    error = _error(tmp_path, SERVICE + f"    {field}: {value}\n")
    assert error.location is not None and error.location.line == 4
    assert error.path == f"services.web.{field}"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e308"])
def test_non_finite_or_huge_floats_are_refused_where_a_number_is_used(tmp_path: Path, value: str) -> None:
    error = _error(tmp_path, SERVICE + f"    deploy:\n      resources:\n        limits:\n          cpus: {value}\n")
    assert error.path == "services.web.deploy.resources.limits.cpus"
    assert error.location is not None and error.location.line == 7


def test_plain_scalars_resolve_like_go_yaml() -> None:
    from stack.spec.yamlpos import resolve_plain

    assert resolve_plain("18446744073709551615") == 2**64 - 1  # a uint64 stays an integer
    assert resolve_plain("18446744073709551616") == float(2**64)  # beyond: a float
    assert resolve_plain("1e400") == "1e400"  # beyond float64: the text
    assert resolve_plain("0x" + "F" * 17) == "0x" + "F" * 17
    assert resolve_plain("9" * 5_000) == "9" * 5_000


# ---------------------------------------------------------------------------------------------
# the ranges of numeric fields


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        ("    ports: ['99999:80']\n", "services.web.ports[0]", "invalid port range"),
        ("    ports: [99999]\n", "services.web.ports[0]", "between 0 and 65535"),
        ("    ports: ['1-65536']\n", "services.web.ports[0]", "invalid port range"),
        ("    ports: [{target: 70000}]\n", "services.web.ports[0].target", "between 0 and 65535"),
        ("    ports: [{target: '70000'}]\n", "services.web.ports[0].target", "between 0 and 65535"),
        ("    expose: [65536]\n", "services.web.expose[0]", "between 0 and 65535"),
        ("    scale: 10001\n", "services.web.scale", "between 0 and 10000"),
        ("    scale: '-1'\n", "services.web.scale", "between 0 and 10000"),
        ("    deploy: {replicas: 99999999}\n", "services.web.deploy.replicas", "between 0 and 10000"),
        ("    cpus: 1e12\n", "services.web.cpus", "between 0 and"),
        ("    cpus: 'nan'\n", "services.web.cpus", "finite"),
        ("    pids_limit: 18446744073709551615\n", "services.web.pids_limit", "between"),
        ("    stop_grace_period: 99999999999h\n", "services.web.stop_grace_period", "out of range"),
        ("    healthcheck: {interval: 1e400s}\n", "services.web.healthcheck.interval", "invalid duration"),
        ("    mem_limit: 99999999p\n", "services.web.mem_limit", "out of range"),
        ("    shm_size: 1e400\n", "services.web.shm_size", "invalid byte size"),
    ],
)
def test_numbers_out_of_their_fields_range(tmp_path: Path, body: str, path: str, says: str) -> None:
    error = _error(tmp_path, SERVICE + body)
    assert error.path == path
    assert says in error.render()
    assert error.hint


def test_the_edges_of_the_ranges_load(tmp_path: Path) -> None:
    web = _web(
        _raw(
            tmp_path,
            SERVICE
            + "    ports: ['0:65535']\n    scale: 10000\n    stop_grace_period: 2562047h\n    mem_limit: 8191p\n",
        )
    )
    assert web["scale"] == 10000
    assert web["mem_limit"] == str(8191 * 1024**5)


def test_units_refuse_what_int64_cannot_hold() -> None:
    for value in (float("inf"), float("nan"), "9" * 500, "9" * 500 + "s", 2**63):
        with pytest.raises(ValueError, match="out of range"):
            parse_duration_ns(value)
    for size in (float("inf"), 2**63, "8192p"):
        with pytest.raises(ValueError, match="out of range"):
            byte_size(size)


def test_a_duration_made_of_a_long_run_of_digits_is_refused_quickly() -> None:
    # finditer retried the run from each of its digits: quadratic (20 000 digits took 4 s).
    started = time.perf_counter()
    with pytest.raises(ValueError):
        parse_duration_ns("0o" + "7" * 200_000)
    assert time.perf_counter() - started < 1


# ---------------------------------------------------------------------------------------------
# nesting


@pytest.mark.parametrize(
    "value",
    [
        "[" * 101 + "]" * 101,
        "{a: " * 101 + "1" + "}" * 101,
        "[" * 5_000 + "]" * 5_000,  # past libyaml's own limit (1000)
        "[" * 100_000,
    ],
)
def test_deep_nesting_is_refused_naming_the_cap(tmp_path: Path, value: str) -> None:
    error = _error(tmp_path, SERVICE + f"    x-deep: {value}\n")
    assert f"nested more than {limits.MAX_DEPTH} levels" in error.message
    assert error.location is not None and error.location.line == 4


def test_block_nesting_is_refused_too(tmp_path: Path) -> None:
    nested = "\n".join("  " * (k + 2) + "a:" for k in range(150)) + " 1\n"
    error = _error(tmp_path, SERVICE + "    x-deep:\n" + nested)
    assert "nested more than" in error.message


def test_nesting_below_the_cap_loads_and_prints(tmp_path: Path) -> None:
    depth = limits.MAX_DEPTH - 4  # services.web.x-deep: three levels above
    raw = _raw(tmp_path, SERVICE + "    x-deep: " + "[" * depth + "]" * depth + "\n")
    assert dump_yaml(ordered(raw, for_json=False))


def test_a_chain_of_merge_keys_counts_as_nesting(tmp_path: Path) -> None:
    # Each `<<: *previous` recursed without lengthening the key path: a RecursionError.
    chain = ["x-m0: &m0 {k0: 1}"] + [f"x-m{k}: &m{k} {{<<: *m{k - 1}, k{k}: 1}}" for k in range(1, 1_000)]
    error = _error(tmp_path, "\n".join(chain) + "\n" + SERVICE)
    assert "nested more than" in error.message


def test_nested_interpolation_is_capped(tmp_path: Path) -> None:
    depth = 50_000  # a RecursionError before (defaults are only read when used: UNSET is not set)
    error = _error(tmp_path, SERVICE + '    command: "' + "${UNSET:-" * depth + "x" + "}" * depth + '"\n')
    assert "interpolation nested more than" in error.message
    assert error.path == "services.web.command"


def test_nested_defaults_below_the_cap_are_evaluated(tmp_path: Path) -> None:
    depth = 90
    text = "${UNSET:-" * depth + "x" + "}" * depth
    assert _web(_raw(tmp_path, SERVICE + f'    command: "{text}"\n'))["command"] == ["x"]


# ---------------------------------------------------------------------------------------------
# big inputs: every step linear


def test_the_widest_port_range_loads_in_seconds_as_compose_prints_it(tmp_path: Path) -> None:
    # The duplicate check compared each entry with all before it: 72 s.
    started = time.perf_counter()
    raw = _raw(tmp_path, SERVICE + "    ports: ['1-65535:1-65535', '1-65535:1-65535', 80]\n")
    text = dump_yaml(ordered(raw, for_json=False))
    assert time.perf_counter() - started < 10
    ports = _web(raw)["ports"]
    assert isinstance(ports, list) and len(ports) == 65536  # duplicates dropped, as Compose does
    # Compose orders a range's entries by "PORT/PROTOCOL" as text.
    assert [p["target"] for p in ports[:5]] == [1, 10, 100, 1000, 10000]
    assert text.count("mode: ingress") == 65536


def test_a_megabyte_command_splits_in_linear_time(tmp_path: Path) -> None:
    # shlex grows each word one character at a time: a 1 MB word took 12 s.
    started = time.perf_counter()
    word = "a" * 1_000_000
    assert _web(_raw(tmp_path, SERVICE + f"    command: {word}\n"))["command"] == [word]
    quoted = "'\"" + "a b " * 250_000 + "\"'"
    assert _web(_raw(tmp_path, SERVICE + f"    command: {quoted}\n"))["command"] == ["a b " * 250_000]
    assert time.perf_counter() - started < 10


@given(st.text(alphabet=" \t\r\n'\"\\ab$\x00é\x0b", max_size=16))
def test_shell_words_are_shlex_split(text: str) -> None:
    try:
        expected: list[str] | str = shlex.split(text)
    except ValueError as e:
        expected = str(e)
    try:
        got: list[str] | str = shellwords.split(text)
    except ValueError as e:
        got = str(e)
    assert got == expected


def test_megabyte_strings_with_dollars_and_braces_interpolate_in_linear_time(tmp_path: Path) -> None:
    started = time.perf_counter()
    for value in ("$$a" * 300_000, "${A:-b}" * 100_000, "${A:-" + "{" * 1_000_000 + "}"):
        file = _write(tmp_path, SERVICE + f'    environment:\n      X: "{value}"\n')
        try:
            load_raw(_options(tmp_path, file))
        except StackFileError as e:
            assert len(e.render()) < 600
    assert time.perf_counter() - started < 10


def test_errors_quote_huge_values_briefly(tmp_path: Path) -> None:
    for body in (
        "    ports: ['" + "1:" * 500_000 + "']\n",
        "    restart: " + "x" * 1_000_000 + "\n",
        "    volumes: ['" + "a:" * 500_000 + "']\n",
        "    command: '\"" + "x" * 1_000_000 + "'\n",
        "    image: " + "a: " * 300_000 + "\n",  # a YAML error on a megabyte line: the excerpt too
    ):
        _error(tmp_path, SERVICE + body)


def test_cli_config_never_shows_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for body, code in (
        ("    scale: " + "9" * 5_000 + "\n", 2),
        ("    cpus: 1e400\n", 2),
        ("    x-deep: " + "[" * 5_000 + "]" * 5_000 + "\n", 2),
        ("    mem_limit: 1e400\n", 2),
        ("    ports: ['1-65535:1-65535']\n", 0),
    ):
        file = _write(tmp_path, SERVICE + body)
        for args in (["config", "-q"], ["config"], ["config", "--format", "json"]):
            assert _exit_code(["-f", str(file), *args]) == code
            err = capsys.readouterr().err
            assert "Traceback" not in err
            if code:
                assert err.startswith(f"error: {file}:4:")


def test_a_long_chain_of_extends_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    n = 3_000
    links = "".join(f"  s{i}:\n    extends: s{i + 1}\n" for i in range(n))
    error = _error(tmp_path, f"services:\n{links}  s{n}:\n    image: x\n")
    assert f"longer than {limits.MAX_DEPTH} services" in error.message


def test_a_long_chain_of_includes_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    n = 1_000
    for i in range(n):
        include = f"include: [f{i + 1}.yaml]\n" if i < n - 1 else ""
        (tmp_path / f"f{i}.yaml").write_text(f"{include}services:\n  s{i}:\n    image: x\n")
    file = _write(tmp_path, "include: [f0.yaml]\n" + SERVICE)
    with pytest.raises(StackFileError, match=f"longer than {limits.MAX_DEPTH} files") as info:
        load_project(_options(tmp_path, file))
    assert info.value.location is not None and info.value.location.file.endswith(".yaml")


def test_hints_and_cycles_name_a_few_of_many(tmp_path: Path) -> None:
    many = "".join(f"  s{i}:\n    image: x\n" for i in range(20_000))
    assert "(20001 in all)" in (_error(tmp_path, f"services:\n{many}  z:\n    extends: nope\n").hint or "")
    cycle = "".join(f"  s{i}:\n    image: x\n    depends_on: [s{(i + 1) % 3_000}]\n" for i in range(3_000))
    assert "... (3001 in all)" in _error(tmp_path, f"services:\n{cycle}").message

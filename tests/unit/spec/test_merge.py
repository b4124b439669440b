"""Merging files (and extends) by the Compose merge rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stack.spec.loader import LoadOptions, load_raw
from stack.spec.merge import merge

HERE = Path(__file__).parent / "merge_files"


def test_mappings_merge_and_scalars_are_replaced() -> None:
    base = {"services": {"web": {"image": "a", "labels": {"x": "1"}, "deploy": {"resources": {"limits": {"cpus": 1}}}}}}
    other = {
        "services": {"web": {"image": "b", "labels": {"y": "2"}, "deploy": {"resources": {"limits": {"memory": 5}}}}}
    }
    merged = merge(base, other)
    web = merged["services"]["web"]
    assert web["image"] == "b"
    assert web["labels"] == {"x": "1", "y": "2"}
    assert web["deploy"]["resources"]["limits"] == {"cpus": 1, "memory": 5}


def port(published: str, target: int, host_ip: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"mode": "ingress", "target": target, "published": published, "protocol": "tcp"}
    if host_ip:
        out["host_ip"] = host_ip
    return out


def test_ports_merge_by_host_ip_published_target_protocol() -> None:
    base = {"services": {"web": {"ports": [port("80", 80), port("443", 443)]}}}
    other = {"services": {"web": {"ports": [port("80", 80), port("8080", 80), port("80", 80, "127.0.0.1")]}}}
    ports = merge(base, other)["services"]["web"]["ports"]
    assert [(p["published"], p.get("host_ip")) for p in ports] == [
        ("80", None),
        ("443", None),
        ("8080", None),
        ("80", "127.0.0.1"),
    ]


def test_volumes_secrets_by_target_in_place() -> None:
    base = {
        "services": {
            "web": {
                "volumes": [
                    {"type": "bind", "source": "/a", "target": "/data"},
                    {"type": "bind", "source": "/b", "target": "/o"},
                ],
                "secrets": [{"source": "s1"}],
            }
        }
    }
    other = {
        "services": {
            "web": {
                "volumes": [{"type": "bind", "source": "/c", "target": "/data"}],
                "secrets": [{"source": "s2", "target": "/run/secrets/s1"}, {"source": "s3"}],
            }
        }
    }
    web = merge(base, other)["services"]["web"]
    assert [(v["source"], v["target"]) for v in web["volumes"]] == [("/c", "/data"), ("/b", "/o")]
    assert [s["source"] for s in web["secrets"]] == ["s2", "s3"]


def test_command_entrypoint_healthcheck_test_are_replaced_other_lists_appended() -> None:
    base = {
        "services": {
            "web": {
                "command": ["a", "b"],
                "entrypoint": ["x"],
                "healthcheck": {"test": ["CMD", "a"], "retries": 3},
                "dns": ["1.1.1.1", "8.8.8.8"],
            }
        }
    }
    other = {
        "services": {
            "web": {
                "command": ["c"],
                "entrypoint": ["y"],
                "healthcheck": {"test": ["CMD", "b"]},
                "dns": ["8.8.8.8", "9.9.9.9"],
            }
        }
    }
    web = merge(base, other)["services"]["web"]
    assert web["command"] == ["c"]
    assert web["entrypoint"] == ["y"]
    assert web["healthcheck"] == {"test": ["CMD", "b"], "retries": 3}
    assert web["dns"] == ["1.1.1.1", "8.8.8.8", "9.9.9.9"]


def test_logging_merges_only_with_the_same_driver() -> None:
    base = {"services": {"web": {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}}}}
    same = {"services": {"web": {"logging": {"options": {"max-file": "3"}}}}}
    assert merge(base, same)["services"]["web"]["logging"]["options"] == {"max-size": "1m", "max-file": "3"}
    other = {"services": {"web": {"logging": {"driver": "syslog", "options": {"tag": "x"}}}}}
    assert merge(base, other)["services"]["web"]["logging"] == {"driver": "syslog", "options": {"tag": "x"}}


def test_reset_and_override_tags() -> None:
    base = {"services": {"web": {"image": "a", "ports": [port("80", 80)], "labels": {"a": "1"}, "entrypoint": ["x"]}}}
    other = {"services": {"web": {"ports": [], "labels": {"b": "2"}}}}
    tags = {
        ("services", "web", "ports"): "reset",
        ("services", "web", "labels"): "override",
        ("services", "web", "entrypoint"): "reset",  # `entrypoint: !reset null`: removed from `other`
    }
    web = merge(base, other, tags)["services"]["web"]  # type: ignore[arg-type]
    assert web == {"image": "a", "ports": [], "labels": {"b": "2"}}


def test_extension_fields_merge(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x-common: {a: 1}\nservices:\n  web:\n    image: a\n    x-meta: {a: 1}\n")
    (tmp_path / "b.yaml").write_text("x-common: {b: 2}\nservices:\n  web:\n    x-meta: {b: 2}\n")
    raw = load_raw(LoadOptions(files=["a.yaml", "b.yaml"], cwd=str(tmp_path), environ={}))
    assert raw["x-common"] == {"a": 1, "b": 2}
    assert raw["services"]["web"]["x-meta"] == {"a": 1, "b": 2}


def test_tags_in_override_file_through_the_loader(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "services:\n  web:\n    image: a\n    ports: ['80:80']\n    environment: {A: '1'}\n    user: root\n"
    )
    (tmp_path / "b.yaml").write_text(
        "services:\n  web:\n    ports: !reset []\n    environment: !override {B: '2'}\n    user: !reset null\n"
    )
    raw = load_raw(LoadOptions(files=["a.yaml", "b.yaml"], cwd=str(tmp_path), environ={}))
    web = raw["services"]["web"]
    assert web.get("ports", []) == []
    assert web["environment"] == {"B": "2"}
    assert "user" not in web


def _ours(tmp_path: Path, files: list[str], profiles: list[str]) -> dict[str, object]:
    return load_raw(LoadOptions(files=files, cwd=str(tmp_path), environ={}, profiles=profiles))


def test_many_fields_merge_exactly_as_compose(tmp_path: Path, compose_bin: Path) -> None:
    for name in ("base.yaml", "override.yaml"):
        shutil.copy(HERE / name, tmp_path / name)
    args = [str(compose_bin), "-f", "base.yaml", "-f", "override.yaml", "--profile", "p1", "config", "--format", "json"]
    theirs = json.loads(subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, check=True, env={}).stdout)
    ours = json.loads(json.dumps(_ours(tmp_path, ["base.yaml", "override.yaml"], ["p1"])["services"]))
    # Compose's JSON output leaves out service-level x- fields (its YAML output keeps them).
    assert ours["web"].pop("x-ext") == {"a": 1, "b": 2}
    assert ours == theirs["services"]


@pytest.mark.parametrize("field", ["command", "ports", "volumes", "environment", "dns", "extra_hosts", "ulimits"])
def test_merged_fields_without_compose(tmp_path: Path, field: str) -> None:
    for name in ("base.yaml", "override.yaml"):
        shutil.copy(HERE / name, tmp_path / name)
    web = _ours(tmp_path, ["base.yaml", "override.yaml"], ["p1"])["services"]["web"]  # type: ignore[index]
    expected = {
        "command": ["c"],
        "ports": [port("80", 80), port("443", 443), port("8080", 80)],
        "volumes": [
            {"type": "bind", "source": "/c", "target": "/data", "bind": {"create_host_path": True}},
            {"type": "bind", "source": "/b", "target": "/other", "bind": {"create_host_path": True}},
        ],
        "environment": {"A": "1", "B": "3"},
        "dns": ["1.1.1.1", "8.8.8.8", "9.9.9.9"],
        "extra_hosts": ["h1=1.1.1.1", "h1=2.2.2.2", "h2=3.3.3.3"],
        "ulimits": {"nofile": {"soft": 3, "hard": 4}, "nproc": 5},
    }
    assert web[field] == expected[field]

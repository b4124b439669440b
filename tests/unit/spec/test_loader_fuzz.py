"""Fuzzing the loader: whatever the input, only StackError subclasses may escape.

* property tests (hypothesis): random YAML documents and a mutated valid file. In CI they are
  derandomized (the "ci" profile of tests/conftest.py, loaded when CI is set): the same
  examples every run. Locally they explore new ones each run.
* a seeded mutation fuzzer over the awesome-compose corpus (fuzz_mutations.py): FUZZ_CASES
  adversarial files from a fixed seed, each loaded as `stack config` and `up` would, in under
  10 s. The same cases every run; run it with other seeds and more cases by hand (see there).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stack.errors import StackError
from stack.spec.loader import LoadOptions, load_project
from tests.conftest import require_shared
from tests.unit.spec.fuzz_mutations import CASE_LIMIT_S, fuzz

KEYS = [
    "services", "networks", "volumes", "secrets", "configs", "name", "include", "x-a",
    "image", "build", "command", "entrypoint", "environment", "ports", "volumes", "depends_on",
    "healthcheck", "deploy", "replicas", "extends", "profiles", "labels", "restart", "scale",
    "container_name", "env_file", "networks", "secrets", "target", "published", "source", "test",
    "interval", "condition", "file", "service", "path", "ulimits", "logging", "driver", "web", "db",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["80:80", "${X}", "${X:?e}", "$$", "${", "1m30s", "web", "db", ".", "a:b:c", "!reset"]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)

VALID = """\
name: fuzz
x-common: &common
  restart: unless-stopped
  labels: {team: core}
services:
  web:
    <<: *common
    image: "nginx:${TAG:-1.25}"
    command: ["nginx", "-g", "daemon off;"]
    ports: ["8080:80", "127.0.0.1:8443:443/tcp"]
    environment:
      MODE: prod
      TOKEN: ${TOKEN-none}
    depends_on:
      db: {condition: service_healthy}
    volumes: [./html:/usr/share/nginx/html:ro, data:/data]
    networks: [front, back]
    healthcheck: {test: [CMD, "true"], interval: 10s, retries: 3}
    deploy: {replicas: 2, resources: {limits: {memory: 256m}}}
  db:
    image: postgres:16
    profiles: [db]
    secrets: [pw]
    ulimits: {nofile: {soft: 1024, hard: 2048}}
networks: {front: {}, back: {internal: true}}
volumes: {data: {}}
secrets: {pw: {file: ./pw.txt}}
"""


def _load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "stack.yaml"
        file.write_text(text)
        with contextlib.suppress(StackError):
            load_project(
                LoadOptions(
                    files=[str(file)], cwd=tmp, environ={"TAG": "1"}, profiles=["db"], on_warning=lambda _m: None
                )
            )


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(documents)
def test_arbitrary_yaml_documents(data: object) -> None:
    _load_text(yaml.safe_dump(data))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["web", "db", "x"]), documents, max_size=3))
def test_arbitrary_services(services: dict[str, object]) -> None:
    _load_text(yaml.safe_dump({"services": services}))


@SETTINGS
@given(st.data())
def test_mutated_valid_file(data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        op = data.draw(st.sampled_from(["delete", "insert", "replace", "dup_line", "drop_line"]))
        pos = data.draw(st.integers(min_value=0, max_value=max(len(text) - 1, 0)))
        if op == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 8)) :]
        elif op == "insert":
            text = (
                text[:pos]
                + data.draw(st.sampled_from(["{", "[", ":", "-", "\t", "$", "${", "&a", "*a", "\n  ", "'", "!reset "]))
                + text[pos:]
            )
        elif op == "replace":
            text = text[:pos] + data.draw(st.text(max_size=3)) + text[pos + 1 :]
        else:
            lines = text.splitlines(keepends=True)
            i = data.draw(st.integers(0, len(lines) - 1))
            lines[i : i + 1] = [lines[i], lines[i]] if op == "dup_line" else []
            text = "".join(lines)
    _load_text(text)


FUZZ_SEED = 20261202
FUZZ_CASES = 2_000


def test_mutated_corpus_files_load_or_fail_cleanly() -> None:
    corpus = require_shared("corpus", "awesome-compose")
    outcome = fuzz(corpus, FUZZ_SEED, FUZZ_CASES)
    print(f"{outcome.cases} cases, {outcome.loaded} loaded, slowest {outcome.slowest[0]:.2f} s ({outcome.slowest[1]})")
    assert outcome.cases == FUZZ_CASES
    assert outcome.failures == [], f"reproduce: python -m tests.unit.spec.fuzz_mutations --seed {FUZZ_SEED} --only N"
    assert outcome.slowest[0] < CASE_LIMIT_S

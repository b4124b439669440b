"""`stack convert kubernetes` output for whole stacks, compared with committed golden files,
and every golden file strictly valid for several Kubernetes versions.

A golden file holds the WARN/NOTE lines (as `# ` comments, the stacks directory shown as
`<dir>`) and then the multi-document YAML.  Rewrite them with `UPDATE_GOLDEN=1 pytest
tests/unit/kubernetes`, then READ the diff: a golden file is only worth something if a person
checked it is right.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from stack.convert.kubernetes import KubernetesOptions, KubernetesStack, translate
from stack.spec.loader import LoadOptions, load_project
from tests.unit.kubernetes.validation import VERSIONS, validation_errors

HERE = Path(__file__).parent
STACKS = HERE / "stacks"
GOLDEN = HERE / "golden"
EXAMPLE = HERE.parents[2] / "examples" / "flask-api-db"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# golden name -> (stack file, options, environment)
CASES: dict[str, tuple[Path, KubernetesOptions, dict[str, str]]] = {
    "flask-api-db": (EXAMPLE / "stack.yaml", KubernetesOptions(namespace="flask"), {}),
    "healthy-chain": (STACKS / "healthy_chain.yaml", KubernetesOptions(), {}),
    "pod": (STACKS / "pod.yaml", KubernetesOptions(published="loadbalancer"), {}),
    "migration": (STACKS / "migration.yaml", KubernetesOptions(namespace="shop"), {}),
    "secrets-configs": (STACKS / "secrets_configs.yaml", KubernetesOptions(), {"APP_TOKEN": "t0k3n"}),
}


# Variables the stack files read (or that steer the loader): the goldens hold their defaults.
UNSET = (
    "POSTGRES_IMAGE", "API_IMAGE", "PYTHON_IMAGE", "NGINX_IMAGE", "API_WORKERS", "APP_RELEASE", "FRONTEND_PORT",
    "STACK_PROJECT_NAME", "COMPOSE_PROJECT_NAME", "STACK_PROFILES", "COMPOSE_PROFILES", "STACK_ENV_FILES",
    "COMPOSE_ENV_FILES",
)  # fmt: skip


def convert(name: str, monkeypatch: pytest.MonkeyPatch) -> KubernetesStack:
    path, options, env = CASES[name]
    for key in UNSET:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return translate(load_project(LoadOptions(files=[str(path)])), options)


def golden_text(converted: KubernetesStack, directory: Path) -> str:
    notes = "".join(f"# {line}\n" for line in converted.problems())
    return (notes + converted.render()).replace(str(directory), "<dir>")


@pytest.mark.parametrize("name", sorted(CASES))
def test_conversion_matches_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    converted = convert(name, monkeypatch)
    text = golden_text(converted, CASES[name][0].parent)
    golden = GOLDEN / f"{name}.yaml"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_files_are_strictly_valid_kubernetes(name: str) -> None:
    documents = [d for d in yaml.safe_load_all((GOLDEN / f"{name}.yaml").read_text()) if d is not None]
    assert len(documents) >= 3
    assert validation_errors(documents) == [], f"against Kubernetes {', '.join(VERSIONS)}"


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validator used above is not a rubber stamp."""
    documents = [d for d in yaml.safe_load_all((GOLDEN / "pod.yaml").read_text()) if d is not None]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["healthcheck"] = {"test": ["CMD", "true"]}
    errors = validation_errors([deployment], ["1.30"])
    assert len(errors) == 1 and "'healthcheck' was unexpected" in errors[0]

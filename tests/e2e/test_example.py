"""The example stack end to end, as its README tells a user to run it.

Through the frontend's published port only: create and list items, scale the API and see every
replica answer without touching the frontend, and the data's lifetime across `down` / `down -v`.
"""

from __future__ import annotations

import json
import uuid

import docker
import pytest

from tests.e2e.conftest import ExampleStack

pytestmark = pytest.mark.timeout(900)


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"


def test_page_and_api_are_served_through_the_frontend(example: ExampleStack) -> None:
    page = example.http("GET", "/")
    assert page.status == 200
    assert b'id="add-form"' in page.body
    health = example.get_json("/api/healthz")
    assert health["status"] == "ok"


def test_created_items_are_listed_newest_first(example: ExampleStack) -> None:
    names = [unique("apple"), unique("pear"), unique("plum")]
    for name in names:
        created = example.http("POST", "/api/items", {"name": name})
        assert created.status == 201, created.body
        assert created.json()["item"]["name"] == name

    listed = example.item_names()
    assert listed[:3] == list(reversed(names))


def test_invalid_item_is_refused_with_a_message(example: ExampleStack) -> None:
    response = example.http("POST", "/api/items", {"name": "   "})
    assert response.status == 400
    assert "name" in response.json()["error"]
    assert "   " not in example.item_names()


def test_scaled_replicas_all_get_traffic_without_restarting_the_frontend(
    example: ExampleStack, docker_client: docker.APIClient
) -> None:
    frontend = f"{example.project}-frontend-1"
    before = docker_client.inspect_container(frontend)

    example.ok("scale", "--wait", "--wait-timeout", "120", "api=3", timeout=300)

    ps = json.loads(example.ok("ps", "--format", "json", "api").out)
    replicas = {c["Name"] for c in ps}
    assert replicas == {f"{example.project}-api-{n}" for n in (1, 2, 3)}
    expected = {docker_client.inspect_container(name)["Config"]["Hostname"] for name in replicas}

    # nginx re-resolves `api` (valid=1s) and spreads requests over the addresses it gets;
    # 90 requests leave a 3-replica round robin no room to miss one by chance.
    seen: set[str] = set()
    for _ in range(90):
        seen.add(example.get_json("/api/whoami")["hostname"])
        if seen == expected:
            break
    assert seen == expected, f"answered: {sorted(seen)}, replicas: {sorted(expected)}"

    after = docker_client.inspect_container(frontend)
    assert after["Id"] == before["Id"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]

    example.ok("scale", "--wait", "api=1", timeout=300)


def test_data_survives_down_and_is_removed_by_down_v(example: ExampleStack, docker_client: docker.APIClient) -> None:
    name = unique("kept across down")
    assert example.http("POST", "/api/items", {"name": name}).status == 201
    volume = f"{example.project}_db-data"

    example.ok("down", timeout=120)
    assert docker_client.volumes(filters={"name": volume})["Volumes"], "down without -v removed the volume"
    example.ok("up", "--wait", "--wait-timeout", "180", timeout=300)
    example.wait_http_ok("/api/healthz")
    assert name in example.item_names()

    example.ok("down", "-v", timeout=120)
    assert not docker_client.volumes(filters={"name": volume})["Volumes"], "down -v left the volume"
    example.ok("up", "--wait", "--wait-timeout", "180", timeout=300)
    example.wait_http_ok("/api/healthz")
    assert example.item_names() == []

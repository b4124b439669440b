from __future__ import annotations

from stack import __version__
from stack.plan import labels as L
from stack.plan import naming
from stack.spec.models import Network, Service, Volume

from .plan_builders import project


def test_container_names() -> None:
    assert naming.container_name("demo", "web", 2) == "demo-web-2"
    assert naming.container_name("demo", "web", 1, "fixed") == "fixed"
    svc = Service.model_validate({"image": "x", "container_name": "db-main"})
    assert naming.service_container_name("demo", "db", svc, 1) == "db-main"
    assert naming.oneoff_container_name("demo", "web", "0123456789abcdef") == "demo-web-run-0123456789ab"
    assert naming.temporary_container_name("f" * 64, "demo-web-1") == "ffffffffffff_demo-web-1"


def test_network_and_volume_names() -> None:
    assert naming.network_name("demo", "default") == "demo_default"
    assert naming.network_name("demo", "front", Network(name="shared")) == "shared"
    assert naming.network_name("demo", "ext", Network(external=True, name="corp")) == "corp"
    assert naming.volume_name("demo", "data") == "demo_data"
    assert naming.volume_name("demo", "data", Volume(name="pgdata")) == "pgdata"


def test_default_image_name_only_without_image() -> None:
    built = Service.model_validate({"build": {"context": "."}})
    tagged = Service.model_validate({"build": {"context": "."}, "image": "me/web:dev"})
    assert naming.service_image("demo", "web", built) == "demo-web"
    assert naming.service_image("demo", "web", tagged) == "me/web:dev"


def test_normalize_project_name() -> None:
    assert naming.normalize_project_name("My App.v2") == "myappv2"
    assert naming.normalize_project_name("__x-Y_z") == "x-y_z"


def test_container_labels_ours_win_over_the_services() -> None:
    p = project({"web": {"image": "busybox", "labels": {"team": "core", L.PROJECT: "forged"}}})
    labels = L.container_labels(p, "web", 3, "abc")
    assert labels["team"] == "core"
    assert labels[L.PROJECT] == "demo"
    assert labels[L.SERVICE] == "web"
    assert labels[L.NUMBER] == "3"
    assert labels[L.CONFIG_HASH] == "abc"
    assert labels[L.ONEOFF] == "False"
    assert labels[L.IMAGE] == "busybox"
    assert labels[L.CONFIG_FILES] == "/src/demo/stack.yaml"
    assert labels[L.WORKING_DIR] == "/src/demo"
    assert all(k.startswith("dev.stack.") for k in labels if k != "team")
    assert L.container_labels(p, "web", 1, "abc", oneoff=True)[L.ONEOFF] == "True"


def test_network_and_volume_labels_and_filter() -> None:
    assert L.network_labels("demo", "front", "h1", {"x": "y"}) | {} == {
        "x": "y",
        L.PROJECT: "demo",
        L.NETWORK: "front",
        L.CONFIG_HASH: "h1",
        L.VERSION: __version__,
    }
    assert L.volume_labels("demo", "data")[L.VOLUME] == "data"
    assert L.resource_filter("demo") == {"label": ["dev.stack.project=demo"]}
    assert L.container_filter("demo") == {"label": ["dev.stack.container-of=demo"]}
    assert L.container_filter("demo", oneoff=False, service="web") == {
        "label": ["dev.stack.container-of=demo", "dev.stack.oneoff=False", "dev.stack.service=web"]
    }
    assert L.container_filter(None) == {"label": ["dev.stack.container-of"]}
    # A container is ours by the label only stack sets at create, never by the project label
    # that an image (and so every container started from it) may carry.
    assert L.is_our_container(L.container_labels(project({"web": {"image": "b"}}), "web", 1, "h"), "demo")
    assert not L.is_our_container({L.PROJECT: "demo", L.SERVICE: "web"}, "demo")
    assert L.is_owned({L.PROJECT: "demo"}, "demo")
    assert not L.is_owned({"com.docker.compose.project": "demo"}, "demo")


def test_depends_on_label_lists_every_needed_service() -> None:
    p = project(
        {
            "db": {"image": "busybox"},
            "vpn": {"image": "busybox"},
            "web": {
                "image": "busybox",
                "depends_on": {"db": {"condition": "service_started"}},
                "network_mode": "service:vpn",
            },
        }
    )
    assert L.container_labels(p, "web", 1, "h")[L.DEPENDS_ON] == "db,vpn"
    assert L.DEPENDS_ON not in L.container_labels(p, "db", 1, "h")


def test_every_public_name_is_exported_and_typed() -> None:
    import stack

    assert set(stack.__all__) == {"__version__", *stack._EXPORTS}
    for name in stack._EXPORTS:
        assert getattr(stack, name) is not None

"""Service -> Engine API create body: pure translation, checked field by field."""

from __future__ import annotations

from typing import Any

import pytest

from stack.engine.container_spec import container_spec, inherit_anonymous_volumes
from stack.errors import StackFileError
from stack.spec.models import Project


def _project(service: dict[str, Any], **top: Any) -> Project:
    return Project.model_validate(
        {
            "name": "demo",
            "services": {"web": {"name": "web", "image": "busybox", "networks": {"default": None}, **service}},
            "networks": {"default": {}, **top.pop("networks", {})},
            **top,
        }
    )


def _spec(project: Project, **kw: Any):
    nets = {k: f"demo_{k}" for k in project.networks}
    vols = {k: f"demo_{k}" for k in project.volumes}
    return container_spec(
        project,
        project.services["web"],
        name="demo-web-1",
        labels={"l": "v"},
        network_names=nets,
        volume_names=vols,
        **kw,
    )


def test_basic_fields():
    spec = _spec(
        _project(
            {
                "command": ["sh", "-c", "echo hi"],
                "entrypoint": ["/bin/tini", "--"],
                "environment": {"A": "1", "UNSET": None},
                "hostname": "h",
                "working_dir": "/w",
                "user": "1000:1000",
                "tty": True,
                "stdin_open": True,
                "stop_signal": "SIGINT",
                "stop_grace_period": "1m30s",
                "init": True,
                "read_only": True,
                "cap_add": ["NET_ADMIN"],
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"],
                "sysctls": {"net.core.somaxconn": "1024"},
                "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": {"single": 65535}},
                "extra_hosts": ["db=10.0.0.2", "ip6=::1"],
                "dns": ["8.8.8.8"],
                "shm_size": "64m",
                "restart": "on-failure:3",
                "logging": {"driver": "json-file", "options": {"max-size": "1m"}},
            }
        )
    )
    body, host = spec.body, spec.body["HostConfig"]
    assert body["Image"] == "busybox"
    assert body["Cmd"] == ["sh", "-c", "echo hi"]
    assert body["Entrypoint"] == ["/bin/tini", "--"]
    assert body["Env"] == ["A=1"]
    assert body["Labels"] == {"l": "v"}
    assert (body["Hostname"], body["WorkingDir"], body["User"]) == ("h", "/w", "1000:1000")
    assert body["Tty"] and body["OpenStdin"]
    assert body["StopSignal"] == "SIGINT" and body["StopTimeout"] == 90
    assert host["Init"] and host["ReadonlyRootfs"]
    assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["Ulimits"] == [
        {"Name": "nofile", "Soft": 1024, "Hard": 2048},
        {"Name": "nproc", "Soft": 65535, "Hard": 65535},
    ]
    assert host["ExtraHosts"] == ["db:10.0.0.2", "ip6:::1"]
    assert host["Dns"] == ["8.8.8.8"]
    assert host["ShmSize"] == 64 * 1024**2
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}


def test_ports_ranges_host_ip_udp_and_expose():
    spec = _spec(
        _project(
            {
                "ports": [
                    {"target": 80, "published": "8080"},
                    {"target": 53, "published": "5353", "protocol": "udp", "host_ip": "127.0.0.1"},
                    {"target": 9000, "published": "9000-9005"},
                    {"target": 7000},
                ],
                "expose": ["3000-3001", "4000/udp"],
            }
        )
    )
    assert set(spec.body["ExposedPorts"]) == {
        "80/tcp",
        "53/udp",
        "9000/tcp",
        "7000/tcp",
        "3000/tcp",
        "3001/tcp",
        "4000/udp",
    }
    assert spec.body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        "9000/tcp": [{"HostIp": "", "HostPort": "9000-9005"}],
        "7000/tcp": [{"HostIp": "", "HostPort": ""}],
    }


def test_mounts_named_anonymous_bind_tmpfs_and_secrets(tmp_path):
    secret = tmp_path / "pw.txt"
    secret.write_text("s3cret")
    project = _project(
        {
            "volumes": [
                {"type": "volume", "source": "data", "target": "/data"},
                {"type": "volume", "target": "/anon"},
                {
                    "type": "bind",
                    "source": str(tmp_path / "new"),
                    "target": "/src",
                    "read_only": True,
                    "bind": {"create_host_path": True},
                },
                {"type": "tmpfs", "target": "/cache", "tmpfs": {"size": "1m", "mode": 0o1777}},
            ],
            "tmpfs": ["/run:size=1m"],
            "secrets": [{"source": "pw"}],
        },
        volumes={"data": {}},
        secrets={"pw": {"file": str(secret)}},
    )
    spec = _spec(project)
    host = spec.body["HostConfig"]
    assert host["Mounts"] == [
        {"Type": "volume", "Target": "/data", "Source": "demo_data"},
        {"Type": "volume", "Target": "/anon"},
        {"Type": "bind", "Target": "/src", "ReadOnly": True, "Source": str(tmp_path / "new")},
        {"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1024**2, "Mode": 0o1777}},
        {"Type": "bind", "Source": str(secret), "Target": "/run/secrets/pw", "ReadOnly": True},
    ]
    assert host["Tmpfs"] == {"/run": "size=1m"}
    assert spec.create_host_paths == (str(tmp_path / "new"),)


def test_first_network_at_create_with_service_and_container_aliases():
    project = _project(
        {"networks": {"front": {"aliases": ["www"], "ipv4_address": "172.30.0.5"}, "back": None}},
        networks={"front": {}, "back": {}},
    )
    spec = _spec(project, network_keys=["front", "back"], final_name="demo-web-1")
    assert spec.body["HostConfig"]["NetworkMode"] == "demo_front"
    assert spec.body["NetworkingConfig"] == {
        "EndpointsConfig": {
            "demo_front": {"Aliases": ["web", "demo-web-1", "www"], "IPAMConfig": {"IPv4Address": "172.30.0.5"}}
        }
    }
    assert [e.network for e in spec.connect_later] == ["demo_back"]
    assert spec.connect_later[0].connect_kwargs() == {"aliases": ["web", "demo-web-1"]}


def test_temporary_name_keeps_the_final_name_as_alias():
    spec = container_spec(
        _project({}),
        _project({}).services["web"],
        name="0123456789ab_demo-web-1",
        final_name="demo-web-1",
        labels={},
        network_names={"default": "demo_default"},
        volume_names={},
    )
    aliases = spec.body["NetworkingConfig"]["EndpointsConfig"]["demo_default"]["Aliases"]
    assert aliases == ["web", "demo-web-1"]


def test_healthcheck_durations_in_nanoseconds_and_resources():
    spec = _spec(
        _project(
            {
                "healthcheck": {
                    "test": ["CMD-SHELL", "true"],
                    "interval": "200ms",
                    "timeout": "1s",
                    "retries": 3,
                    "start_period": "1m",
                },
                "deploy": {
                    "resources": {
                        "limits": {"cpus": "0.5", "memory": "256m", "pids": 100},
                        "reservations": {"memory": "64m"},
                    }
                },
            }
        )
    )
    assert spec.body["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 200_000_000,
        "Timeout": 1_000_000_000,
        "StartPeriod": 60_000_000_000,
        "Retries": 3,
    }
    host = spec.body["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 256 * 1024**2
    assert host["MemoryReservation"] == 64 * 1024**2
    assert host["PidsLimit"] == 100


def test_disabled_healthcheck_and_network_mode():
    spec = _spec(_project({"healthcheck": {"disable": True}, "network_mode": "host", "networks": {}}))
    assert spec.body["Healthcheck"] == {"Test": ["NONE"]}
    assert spec.body["HostConfig"]["NetworkMode"] == "host"
    assert "NetworkingConfig" not in spec.body


def test_undeclared_volume_is_a_located_error():
    project = _project({"volumes": [{"type": "volume", "source": "nope", "target": "/x"}]})
    with pytest.raises(StackFileError) as caught:
        _spec(project)
    assert caught.value.path == "services.web.volumes"
    assert "nope" in caught.value.message


def test_recreate_inherits_anonymous_volumes_only():
    project = _project(
        {"volumes": [{"type": "volume", "source": "data", "target": "/data"}, {"type": "volume", "target": "/anon"}]},
        volumes={"data": {}},
    )
    spec = _spec(project)
    old_mounts = [
        {"Type": "volume", "Name": "demo_data", "Destination": "/data"},
        {"Type": "volume", "Name": "abc123", "Destination": "/anon"},
        {"Type": "volume", "Name": "img456", "Destination": "/var/lib/image-volume"},
        {"Type": "bind", "Source": "/host", "Destination": "/h"},
    ]
    mounts = inherit_anonymous_volumes(spec, old_mounts).body["HostConfig"]["Mounts"]
    assert mounts == [
        {"Type": "volume", "Target": "/data", "Source": "demo_data"},
        {"Type": "volume", "Target": "/anon", "Source": "abc123"},
        {"Type": "volume", "Source": "img456", "Target": "/var/lib/image-volume"},
    ]


def test_devices_in_both_syntaxes_and_mac_address():
    spec = _spec(
        _project(
            {
                "devices": [{"source": "/dev/null", "target": "/dev/mynull", "permissions": "r"}, "/dev/zero"],
                "mac_address": "02:42:ac:11:00:02",
            }
        )
    )
    assert spec.body["HostConfig"]["Devices"] == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/zero", "CgroupPermissions": "rwm"},
    ]
    assert spec.body["MacAddress"] == "02:42:ac:11:00:02"

"""The light client's HTTP reader, against a scripted server on a real unix socket.

The reader is ours (the standard library's http.client costs too much to import on the hot
paths), so its framing is tested here: Content-Length and chunked bodies, bodies split across
many reads, keep-alive, a server that closes, and replies that are not HTTP at all.  What the
daemon itself answers is checked in tests/integration/test_light_client.py.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.engine.light import LightDocker, LightUnavailable


class ScriptedServer:
    """Accepts one connection; answers each request with the next scripted reply, sent in
    small pieces (so the reader must reassemble); closes after the last one."""

    def __init__(self, path: Path, replies: list[bytes], piece: int = 7) -> None:
        self.path = str(path)
        self.replies = replies
        self.piece = piece
        self.requests: list[str] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            for reply in self.replies:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                self.requests.append(request.decode())
                for i in range(0, len(reply), self.piece):
                    conn.sendall(reply[i : i + self.piece])

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    servers: list[ScriptedServer] = []

    def start(*replies: bytes, piece: int = 7) -> LightDocker:
        server = ScriptedServer(tmp_path / f"d{len(servers)}.sock", list(replies), piece)
        servers.append(server)
        return LightDocker({"DOCKER_HOST": f"unix://{server.path}", "DOCKER_API_VERSION": "1.41"}, timeout=5)

    start.servers = servers  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.close()


def sized(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def chunked(body: bytes, size: int = 5) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), size):
        part = body[i : i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def test_content_length_and_chunked_replies_on_one_kept_alive_connection(serve) -> None:
    first = [{"Id": "a" * 64, "Names": ["/demo-web-1"], "Labels": {"k": "v" * 3000}}]
    second = [{"Name": "demo_default", "Id": "n1"}]
    docker = serve(sized(json.dumps(first).encode()), chunked(json.dumps(second).encode()))
    with docker:
        assert docker.containers({"label": ["dev.stack.project=demo"]}) == first
        assert docker.networks({"label": ["dev.stack.project=demo"]}) == second
    assert docker.calls == 2


def test_the_request_names_the_api_version_and_encodes_the_filters(serve) -> None:
    with serve(sized(b"[]")) as docker:
        assert docker.containers({"label": ["dev.stack.project=demo"]}) == []
    request = serve.servers[0].requests[0]
    line = request.split("\r\n", 1)[0]
    assert line.startswith("GET /v1.41/containers/json?") and line.endswith(" HTTP/1.1")
    assert "all=1" in line
    assert "filters=%7B%22label%22%3A+%5B%22dev.stack.project%3Ddemo%22%5D%7D" in line
    assert "\r\nHost: docker\r\n" in request


def test_a_reply_delimited_by_closing_the_connection(serve) -> None:
    body = json.dumps({"Volumes": [{"Name": "demo_data"}]}).encode()
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body
    with serve(reply) as docker:
        assert docker.volumes({}) == [{"Name": "demo_data"}]


def test_an_error_status_is_unavailable_not_an_answer(serve) -> None:
    with (
        serve(sized(b'{"message":"page not found"}', status="404 Not Found")) as docker,
        pytest.raises(LightUnavailable, match="HTTP 404"),
    ):
        docker.containers({})


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",  # not HTTP at all
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{",  # the server closes mid-body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a broken chunk size
        sized(b"<html>not json</html>"),
    ],
    ids=["not-http", "short-body", "bad-chunk", "not-json"],
)
def test_a_broken_reply_is_unavailable(serve, reply: bytes) -> None:
    with serve(reply) as docker, pytest.raises(LightUnavailable):
        docker.containers({})


def test_no_daemon_listening_is_unavailable(tmp_path: Path) -> None:
    with (
        LightDocker({"DOCKER_HOST": f"unix://{tmp_path / 'absent.sock'}"}) as docker,
        pytest.raises(LightUnavailable, match="cannot reach"),
    ):
        docker.containers({})


def test_a_tcp_or_tls_daemon_is_left_to_the_sdk() -> None:
    for environ in ({"DOCKER_HOST": "tcp://10.0.0.1:2376"}, {"DOCKER_TLS_VERIFY": "1"}, {"DOCKER_CONTEXT": "x"}):
        with pytest.raises(LightUnavailable):
            LightDocker(environ)

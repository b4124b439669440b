"""Pull and push streams read to their end (no daemon: a fake facade replays recorded messages,
as Docker 20.10 sends them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from stack.engine.credentials import Credentials
from stack.engine.registry import TransferEvent, pull_image, push_image
from stack.errors import DockerAPIError, RegistryError

IMAGE = "127.0.0.1:5000/team/app:1"
ANONYMOUS = Credentials("127.0.0.1:5000", "127.0.0.1:5000")
ALICE = Credentials("127.0.0.1:5000", "127.0.0.1:5000", username="alice", password="pw", source="auths in x")

PULLED = [
    {"status": "Pulling from team/app", "id": "1"},
    {"status": "Already exists", "progressDetail": {}, "id": "518b99add5aa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "a2e73f813225"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 50, "total": 106},
        "progress": "[=====>   ]  50B/106B",
        "id": "a2e73f813225",
    },
    {"status": "Download complete", "progressDetail": {}, "id": "a2e73f813225"},
    {"status": "Extracting", "progressDetail": {"current": 106, "total": 106}, "id": "a2e73f813225"},
    {"status": "Pull complete", "progressDetail": {}, "id": "a2e73f813225"},
    {"status": "Digest: sha256:" + "e" * 64},
    {"status": f"Status: Downloaded newer image for {IMAGE}"},
]
PUSHED = [
    {"status": "The push refers to repository [127.0.0.1:5000/team/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": "c8177d8663cb"},
    {"status": "Pushing", "progressDetail": {"current": 19968, "total": 1984239}, "id": "c8177d8663cb"},
    {"status": "Pushed", "progressDetail": {}, "id": "c8177d8663cb"},
    {"status": "1: digest: sha256:" + "d" * 64 + " size: 527"},
    {"progressDetail": {}, "aux": {"Tag": "1", "Digest": "sha256:" + "d" * 64, "Size": 527}},
]


class FakeAPI:
    """The facade's pull_stream/push_stream/tag_image, replaying `messages` (or refusing)."""

    def __init__(self, messages: list[dict[str, Any]], refusal: DockerAPIError | None = None) -> None:
        self.messages = messages
        self.refusal = refusal
        self.client = SimpleNamespace(timeout=120)
        self.auth: dict[str, str] | None = None
        self.tagged: list[tuple[str, str]] = []

    @asynccontextmanager
    async def _stream(self, image: str, auth: dict[str, str]) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        self.auth = dict(auth)
        if self.refusal is not None:
            raise self.refusal

        async def replay() -> AsyncIterator[dict[str, Any]]:
            for message in self.messages:
                yield message

        yield replay()

    pull_stream = _stream
    push_stream = _stream

    async def tag_image(self, image: str, reference: str) -> None:
        self.tagged.append((image, reference))


def _pull(api: FakeAPI, image: str = IMAGE, credentials: Credentials = ANONYMOUS) -> tuple[Any, list[TransferEvent]]:
    events: list[TransferEvent] = []

    async def go() -> Any:
        return await pull_image(api, image, service="app", sink=events.append, credentials=credentials)  # type: ignore[arg-type]

    return anyio.run(go), events


def _push(api: FakeAPI, credentials: Credentials = ANONYMOUS) -> tuple[Any, list[TransferEvent]]:
    events: list[TransferEvent] = []

    async def go() -> Any:
        return await push_image(api, IMAGE, service="app", sink=events.append, credentials=credentials)  # type: ignore[arg-type]

    return anyio.run(go), events


def test_a_pull_reports_its_layers_stamps_the_tag_time_and_sends_the_credentials() -> None:
    api = FakeAPI(PULLED)
    outcome, events = _pull(api, credentials=ALICE)
    assert outcome.updated and outcome.digest == "sha256:" + "e" * 64 and outcome.service == "app"
    assert api.auth == {"username": "alice", "password": "pw", "serveraddress": "127.0.0.1:5000"}
    assert api.tagged == [(IMAGE, IMAGE)]  # LastTagTime, which a pull leaves unset on Docker 20.10
    assert (events[0].word, events[0].layer, events[-1].word, events[-1].state) == ("Pulling", None, "Pulled", "done")
    layer_steps = [(e.layer, e.word, e.state) for e in events if e.layer]
    assert layer_steps[0] == ("518b99add5aa", "Already exists", "done")
    assert ("a2e73f813225", "Downloading", "working") in layer_steps
    assert layer_steps[-1] == ("a2e73f813225", "Pull complete", "done")
    downloading = next(e for e in events if e.word == "Downloading")
    assert (downloading.current, downloading.total, downloading.service) == (50, 106, "app")


def test_a_pull_by_digest_is_not_tagged() -> None:
    api = FakeAPI([{"status": "Status: Image is up to date for x@sha256:" + "a" * 64}])
    outcome, _ = _pull(api, image="127.0.0.1:5000/app@sha256:" + "a" * 64)
    assert not outcome.updated and api.tagged == []


def test_a_pull_the_daemon_refuses_carries_the_registrys_words() -> None:
    refusal = DockerAPIError("refused", status=500, detail="unauthorized: authentication required")
    with pytest.raises(RegistryError) as caught:
        _pull(FakeAPI([], refusal), credentials=ALICE)
    error = caught.value
    assert error.message == f"service app: cannot pull image {IMAGE}: unauthorized: authentication required"
    assert error.hint is not None and "refused the credentials from auths in x" in error.hint


def test_an_error_inside_the_pull_stream_fails_the_pull() -> None:
    messages = [*PULLED[:4], {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}]
    with pytest.raises(RegistryError, match=r"cannot pull image .*: unexpected EOF"):
        _pull(FakeAPI(messages))


def test_a_pull_stream_that_ends_without_the_daemons_result_is_no_success() -> None:
    api = FakeAPI(PULLED[:5])
    with pytest.raises(RegistryError, match="ended before the daemon reported the result") as caught:
        _pull(api)
    assert "nothing for 120 s" in caught.value.message and api.tagged == []


def test_a_push_returns_the_digest() -> None:
    outcome, events = _push(FakeAPI(PUSHED))
    assert (outcome.digest, outcome.size) == ("sha256:" + "d" * 64, 527)
    assert [(e.word, e.state) for e in events if e.layer] == [
        ("Preparing", "working"),
        ("Pushing", "working"),
        ("Pushed", "done"),
    ]
    assert (events[-1].word, events[-1].text) == ("Pushed", "sha256:" + "d" * 64)


@pytest.mark.parametrize(
    ("said", "hint"),
    [
        ('Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused', "running"),
        ("no basic auth credentials", "docker login 127.0.0.1:5000"),
        ("An image does not exist locally with the tag: 127.0.0.1:5000/team/app", "stack build app"),
    ],
)
def test_a_push_failure_inside_the_stream_is_an_error_with_the_registrys_message(said: str, hint: str) -> None:
    messages = [PUSHED[0], {"errorDetail": {"message": said}, "error": said}]
    events: list[TransferEvent] = []
    with pytest.raises(RegistryError) as caught:

        async def go() -> None:
            await push_image(FakeAPI(messages), IMAGE, service="app", sink=events.append, credentials=ANONYMOUS)  # type: ignore[arg-type]

        anyio.run(go)
    assert caught.value.message == f"service app: cannot push image {IMAGE}: {said}"
    assert caught.value.hint is not None and hint in caught.value.hint
    assert (events[-1].word, events[-1].state, events[-1].text) == ("Error", "error", said)


def test_a_push_stream_without_a_digest_is_no_success() -> None:
    with pytest.raises(RegistryError, match="ended before the daemon reported the pushed digest"):
        _push(FakeAPI(PUSHED[:4]))

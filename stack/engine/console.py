"""`stack attach`: our terminal on a running container's console (its main process's stdio).

The daemon's attach is a hijacked connection that carries what the container prints from
now on (no old output: `logs` shows that), framed by stream without a TTY and raw with one;
our input goes in when the container keeps its stdin open (`stdin_open: true`).

The detach keys (`ctrl-p,ctrl-q` unless told otherwise, as Docker) are recognised on our
side, in what we read from our stdin, so they detach from a container that takes no input
too (the daemon only watches a stdin it is given).  Keys that begin the sequence are held
back until the next one says whether it continues; on a mismatch they go on to the container.
With a TTY on both sides our terminal is in raw mode (Ctrl-C goes to the container, as with
`docker attach`); without a container TTY it only stops waiting for whole lines and treating
Ctrl-Q as flow control (so that the keys arrive as typed), and Ctrl-C stays a signal: with
sig-proxy (the default) the signals we receive go to the container, as `docker attach` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket as pysocket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.exec import Terminal, raw_mode, run_session
from stack.errors import DockerAPIError, UsageError

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
# Docker's names of the control keys, by code (ctrl-@ is 0, ctrl-a 1, ..., ctrl-_ 31).
_CONTROL_KEYS = ["ctrl-@", *(f"ctrl-{chr(c)}" for c in range(ord("a"), ord("z") + 1)), "ctrl-[", "ctrl-\\"]
_CONTROL_KEYS += ["ctrl-]", "ctrl-^", "ctrl-_"]
# What `docker attach` forwards with sig-proxy: the signals a user sends, not the terminal's own.
PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
# How long the container's exit may lag behind the end of its output.
_EXIT_WAIT_SECONDS = 10.0


def parse_detach_keys(spec: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11", as Docker reads a detach-keys setting: comma-separated
    keys, each `ctrl-<a-z @ [ \\ ] ^ _>`, `DEL`, or one character."""
    codes = bytearray()
    for key in spec.split(","):
        lowered = key.lower()
        if lowered in _CONTROL_KEYS:
            codes.append(_CONTROL_KEYS.index(lowered))
        elif key == "DEL":
            codes.append(127)
        elif len(key) == 1 and key.isascii():
            codes.append(ord(key))
        else:
            raise UsageError(
                f"invalid detach keys {spec!r}: unknown key {key!r}",
                hint="use comma-separated keys: ctrl-a ... ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_, "
                "DEL, or single characters (default ctrl-p,ctrl-q)",
            )
    return bytes(codes)


def configured_detach_keys(environ: Mapping[str, str] | None = None) -> str:
    """`detachKeys` of the Docker CLI's config (DOCKER_CONFIG, else ~/.docker/config.json),
    as Compose reads it, else ctrl-p,ctrl-q."""
    env = os.environ if environ is None else environ
    directory = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return DEFAULT_DETACH_KEYS
    keys = config.get("detachKeys") if isinstance(config, dict) else None
    return keys if isinstance(keys, str) and keys else DEFAULT_DETACH_KEYS


class DetachDetector:
    """Finds the detach keys in what is typed, holding back a partial match."""

    def __init__(self, keys: bytes) -> None:
        if not keys:
            raise ValueError("no detach keys")
        self.keys = keys
        self.matched = 0  # leading bytes of `keys` seen and held back

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(what to pass on, whether the sequence is complete); after it, nothing passes."""
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    self.matched = 0
                    return bytes(out), True
                continue
            out += self.keys[: self.matched]  # not the sequence after all: those keys go on
            self.matched = 0
            if byte == self.keys[0]:
                self.matched = 1
                if len(self.keys) == 1:
                    return bytes(out), True
            else:
                out.append(byte)
        return bytes(out), False


@dataclass(frozen=True)
class AttachRequest:
    """How `stack attach` attaches: its detach keys, whether our stdin goes in (it is read
    for the detach keys either way unless `stdin` is False), whether signals are forwarded."""

    detach_keys: str = DEFAULT_DETACH_KEYS
    stdin: bool = True
    sig_proxy: bool = True


@contextlib.contextmanager
def _keys_mode(fd: int | None) -> Iterator[None]:
    """Our terminal passing each key as typed (no line buffering, no Ctrl-Q/Ctrl-S flow
    control, no Ctrl-V/Ctrl-O) while keeping its echo, its output and its signals."""
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios

    saved = termios.tcgetattr(fd)
    changed = termios.tcgetattr(fd)
    changed[0] &= ~termios.IXON
    changed[3] &= ~(termios.ICANON | termios.IEXTEN)
    changed[6][termios.VMIN] = 1
    changed[6][termios.VTIME] = 0
    try:
        termios.tcsetattr(fd, termios.TCSANOW, changed)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _feed_input(sock: Any, fd: int, detector: DetachDetector, forward: bool, detached: threading.Event) -> None:
    """Read our stdin until EOF or the detach keys; pass it to the container when `forward`.
    On the keys, shut the connection: the output pump sees its end."""
    real = getattr(sock, "_sock", sock)  # the SDK's SocketIO over a unix socket wraps it
    try:
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            passed, hit = detector.feed(data)
            if passed and forward:
                real.sendall(passed)
            if hit:
                detached.set()
                real.shutdown(pysocket.SHUT_RDWR)
                return
        if forward:
            real.shutdown(pysocket.SHUT_WR)  # the process sees EOF on its stdin
    except OSError:
        pass  # the session ended first


async def _exit_code(api: DockerAPI, container: str, exits: Any) -> int:
    """The exit code of a container whose output ended: from its `die` event (subscribed to
    before attaching), else from its state."""
    with anyio.move_on_after(_EXIT_WAIT_SECONDS):  # waiting for the container's die event
        async for event in exits:
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            try:
                return int(attributes.get("exitCode", 0))
            except ValueError:
                return 0
    state = (await api.inspect_container(container)).get("State") or {}
    return int(state.get("ExitCode") or 0)


async def attach_console(api: DockerAPI, container: str, request: AttachRequest, terminal: Terminal) -> int | None:
    """Attach `terminal` to the running `container` until the detach keys (None) or until the
    container stops (its exit code)."""
    keys = parse_detach_keys(request.detach_keys)
    config = (await api.inspect_container(container)).get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin_fd = terminal.stdin_fd if request.stdin else None
    forward = stdin_fd is not None and bool(config.get("OpenStdin"))
    output_only = Terminal(None, terminal.stdout, terminal.stderr)
    detached = threading.Event()

    async def resize(rows: int, columns: int) -> None:
        with contextlib.suppress(DockerAPIError):  # stopped meanwhile
            await api.resize_container(container, rows, columns)

    async def proxy_signals() -> None:
        with anyio.open_signal_receiver(*PROXIED_SIGNALS) as received:
            async for signum in received:
                with contextlib.suppress(DockerAPIError):
                    await api.kill_container(container, signal.Signals(signum).name)

    filters = {"type": ["container"], "container": [container], "event": ["die"]}
    async with api.events(filters) as exits:
        sock = await api.attach_socket(container, stdin=forward, detach_keys=request.detach_keys)
        mode = raw_mode(stdin_fd) if tty else _keys_mode(stdin_fd)
        with mode:
            if stdin_fd is not None:
                feeder = (sock, stdin_fd, DetachDetector(keys), forward, detached)
                threading.Thread(target=_feed_input, args=feeder, name="stack-attach-stdin", daemon=True).start()
            async with anyio.create_task_group() as tg:
                if request.sig_proxy and not tty:
                    tg.start_soon(proxy_signals)
                await run_session(api, sock, tty=tty, terminal=output_only, resize=resize if tty else None)
                tg.cancel_scope.cancel()
        if detached.is_set():
            return None
        return await _exit_code(api, container, exits)

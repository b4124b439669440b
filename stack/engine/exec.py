"""Attached sessions: `exec` into a running container and the one-off container of `run`.

Both are a hijacked connection to the daemon (the SDK's `socket=True`): our stdin goes in,
the container's output comes back, framed by stream (stdout/stderr) without a TTY, raw with
one.  With a TTY and a terminal on our side, the terminal is put in raw mode for the session
(Ctrl-C, arrows and line editing go to the container, as with `docker exec -it`) and its size
follows the local window (SIGWINCH).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket as pysocket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

from stack.engine.docker_api import DockerAPI


@dataclass(frozen=True)
class Terminal:
    """Our side of a session: where input comes from and output goes."""

    stdin_fd: int | None  # None: attach no stdin
    stdout: BinaryIO
    stderr: BinaryIO

    @classmethod
    def current(cls, *, attach_stdin: bool) -> Terminal:
        stdin_fd = sys.stdin.fileno() if attach_stdin and sys.stdin is not None else None
        return cls(stdin_fd, sys.stdout.buffer, sys.stderr.buffer)

    def interactive(self) -> bool:
        """Whether the session can be a TTY: our stdin and stdout are terminals."""
        return self.stdin_fd is not None and os.isatty(self.stdin_fd) and self.stdout.isatty()

    def size(self) -> tuple[int, int] | None:
        """(rows, columns) of our terminal, when there is one."""
        try:
            columns, rows = os.get_terminal_size(self.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            return None
        return rows, columns


@contextlib.contextmanager
def raw_mode(fd: int | None) -> Iterator[None]:
    """Our terminal in raw mode for the session (restored afterwards, even on errors)."""
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keys typed ahead are kept for the session
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _real_socket(sock: Any) -> Any:
    # Over a unix socket the SDK hands back a SocketIO; writes and half-close need the socket.
    return getattr(sock, "_sock", sock)


def _feed_stdin(sock: Any, fd: int) -> None:
    """Copy our stdin into the session until EOF, then half-close (the process sees EOF)."""
    real = _real_socket(sock)
    try:
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            real.sendall(data)
        real.shutdown(pysocket.SHUT_WR)
    except OSError:
        pass  # the session ended first: nothing left to feed


def pump_session(sock: Any, *, tty: bool, terminal: Terminal) -> None:
    """Run one attached session to its end (blocking: call it in a worker thread).

    Output is copied as it arrives (stdout and stderr apart without a TTY); stdin is fed from
    a daemon thread, so a process that never reads it does not keep us waiting.
    """
    from docker.utils.socket import STDERR, frames_iter

    if terminal.stdin_fd is not None:
        threading.Thread(target=_feed_stdin, args=(sock, terminal.stdin_fd), daemon=True).start()
    try:
        for stream, data in frames_iter(sock, tty):
            out = terminal.stderr if stream == STDERR else terminal.stdout
            out.write(data)
            out.flush()
    except OSError:
        pass  # the daemon closed the connection: the session is over
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def disable_timeout(client: Any, sock: Any) -> None:
    """A session may be silent for longer than the client's read timeout."""
    with contextlib.suppress(Exception):
        client._disable_socket_timeout(sock)


async def run_session(
    api: DockerAPI,
    sock: Any,
    *,
    tty: bool,
    terminal: Terminal,
    resize: Any = None,
) -> None:
    """Pump a session in a worker thread; with a TTY, keep the remote size in step with ours.

    `resize(rows, columns)` is an async callable that resizes the remote TTY.
    """
    disable_timeout(api.client, sock)
    real = _real_socket(sock)  # SocketIO.close() drops it: keep it for the shutdown below

    async def follow_window() -> None:
        if resize is None:
            return
        size = terminal.size()
        if size is not None:
            await resize(*size)
        with (
            contextlib.suppress(NotImplementedError, ValueError),
            anyio.open_signal_receiver(signal.SIGWINCH) as signals,
        ):
            async for _ in signals:
                size = terminal.size()
                if size is not None:
                    await resize(*size)

    with raw_mode(terminal.stdin_fd if tty else None):
        async with anyio.create_task_group() as tg:
            if tty:
                tg.start_soon(follow_window)
            try:
                # Not behind the facade's limiter: a session is long-lived.
                await anyio.to_thread.run_sync(
                    lambda: pump_session(sock, tty=tty, terminal=terminal), abandon_on_cancel=True
                )
            finally:
                # On Ctrl-C the pump thread is still blocked reading: shutting the socket
                # ends it, so the process can exit.
                with contextlib.suppress(OSError):
                    real.shutdown(pysocket.SHUT_RDWR)
            tg.cancel_scope.cancel()


@dataclass(frozen=True)
class ExecRequest:
    """What `stack exec` was asked to run."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    privileged: bool = False
    tty: bool = False
    detach: bool = False


async def exec_in(api: DockerAPI, container: str, request: ExecRequest, terminal: Terminal) -> int:
    """Run `request` in `container`; its exit code (0 when detached)."""
    attach_stdin = terminal.stdin_fd is not None and not request.detach
    created = await api.call(
        "exec.create",
        api.client.exec_create,
        container,
        request.command,
        stdout=True,
        stderr=True,
        stdin=attach_stdin,
        tty=request.tty,
        privileged=request.privileged,
        user=request.user or "",
        environment=[f"{k}={v}" for k, v in request.env.items()] or None,
        workdir=request.workdir,
    )
    exec_id = str(created["Id"])
    if request.detach:
        await api.call("exec.start", api.client.exec_start, exec_id, detach=True, tty=request.tty)
        return 0
    sock = await api.call("exec.start", api.client.exec_start, exec_id, tty=request.tty, socket=True)

    async def resize(rows: int, columns: int) -> None:
        with contextlib.suppress(Exception):  # the process may be gone already
            await api.call("exec.resize", api.client.exec_resize, exec_id, height=rows, width=columns)

    session_terminal = terminal if attach_stdin else Terminal(None, terminal.stdout, terminal.stderr)
    await run_session(api, sock, tty=request.tty, terminal=session_terminal, resize=resize)
    # The output ends a moment before the daemon records the exit code: poll it, bounded.
    with anyio.fail_after(30):
        while True:
            info = await api.call("exec.inspect", api.client.exec_inspect, exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else 0
            await anyio.sleep(0.02)


async def attach_container(api: DockerAPI, container: str, *, stdin: bool) -> Any:
    """A hijacked connection to a created (not yet started) container's stdio."""
    params = {"stdin": 1 if stdin else 0, "stdout": 1, "stderr": 1, "stream": 1}
    return await api.call("container.attach", api.client.attach_socket, container, params=params)


async def wait_exit(api: DockerAPI, container: str) -> int:
    """Block until the container exits; its exit code.

    From the event stream (closable on Ctrl-C, unlike a blocking `POST /wait`): subscribe
    first, then look, so an exit between the two is not missed.
    """
    filters = {"type": ["container"], "container": [container], "event": ["die"]}
    async with api.events(filters) as events:
        state = (await api.inspect_container(container)).get("State") or {}
        if not state.get("Running") and not state.get("Restarting") and state.get("Status") != "created":
            return int(state.get("ExitCode") or 0)
        async for event in events:
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            try:
                return int(attributes.get("exitCode", 0))
            except ValueError:
                return 0
    return 0

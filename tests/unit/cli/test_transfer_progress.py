"""`pull`/`push` progress: plain lines off a terminal, a table with layer bars on one."""

from __future__ import annotations

import io

from rich.console import Console

from stack.cli.transfer_progress import TransferPrinter
from stack.engine.registry import TransferEvent

IMAGE = "127.0.0.1:5000/app:1"


def events() -> list[TransferEvent]:
    return [
        TransferEvent("pull", "tool", None, "Skipped - No image to be pulled", "skipped", service="tool"),
        TransferEvent("pull", IMAGE, None, "Pulling", "working", service="app"),
        TransferEvent("pull", IMAGE, "518b99add5aa", "Already exists", "done"),
        TransferEvent("pull", IMAGE, "a2e73f813225", "Downloading", "working", 10, 2000),
        TransferEvent("pull", IMAGE, "a2e73f813225", "Downloading", "working", 1500, 2000),
        TransferEvent("pull", IMAGE, "a2e73f813225", "Pull complete", "done"),
        TransferEvent("pull", IMAGE, None, "Pulled", "done", service="app"),
    ]


def test_plain_lines_print_each_change_of_word_once_and_close_with_the_counter() -> None:
    out = io.StringIO()
    with TransferPrinter("Pulling", stream=out, live=False) as printer:
        for event in events():
            printer(event)
    assert out.getvalue().splitlines() == [
        " Service tool  Skipped - No image to be pulled",
        f" Image {IMAGE}  Pulling",
        "   Layer 518b99add5aa  Already exists",
        "   Layer a2e73f813225  Downloading",
        "   Layer a2e73f813225  Pull complete",
        f" Image {IMAGE}  Pulled",
        "[+] Pulling 2/2",
    ]


def test_the_live_table_shows_a_bar_and_the_bytes_of_a_moving_layer() -> None:
    printer = TransferPrinter("Pulling", stream=io.StringIO(), live=False)
    for event in events()[:5]:
        printer(event)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(printer.render())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[+] Pulling 1/2" in text
    assert f"Image {IMAGE}" in text and "Pulling" in text
    assert "Layer a2e73f813225" in text and "1.5kB/2.0kB" in text and "━" in text


def test_a_failed_image_stops_its_layers() -> None:
    printer = TransferPrinter("Pushing", stream=io.StringIO(), live=False)
    printer(TransferEvent("push", IMAGE, None, "Pushing", "working"))
    printer(TransferEvent("push", IMAGE, "c8177d8663cb", "Preparing", "working"))
    printer(TransferEvent("push", IMAGE, None, "Error", "error", text="no basic auth credentials"))
    layer = printer.layers[f"{IMAGE}|c8177d8663cb"]
    assert layer.ended is not None and layer.status.value == "error"
    assert printer.counter == "[+] Pushing 0/1"

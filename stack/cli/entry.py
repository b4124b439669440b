"""The console-script entry point: answers `stack --version`, `stack version`, a no-op `up -d`
and a plain `config` (`stack.cli.quick`), before importing click.

Start-up time is a feature (Compose answers `version` in ~25 ms); everything else goes to
`stack.cli.main`, which imports each sub-command lazily.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["--version"]:
        from stack import __version__

        sys.stdout.write(f"stack version {__version__}\n")
        return
    if argv[:1] == ["version"]:
        from stack.cli.quick import answer_version

        if answer_version(argv):
            return
    if "config" in argv:
        from stack.cli.quick import answer_config

        if answer_config(argv):
            return
    noop_checked = False
    if "up" in argv:
        from stack.cli.quick import answer_noop_up

        answered = answer_noop_up(argv)
        if answered:
            return
        noop_checked = answered is False
    from stack.cli.main import main as cli_main

    cli_main(noop_checked=noop_checked)

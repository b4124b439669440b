"""The console-script entry point: answers `stack --version` before importing click.

Start-up time is a feature (Compose answers `version` in ~25 ms); everything else goes to
`stack.cli.main`, which imports each sub-command lazily.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from stack import __version__

        sys.stdout.write(f"stack version {__version__}\n")
        return
    from stack.cli.main import main as cli_main

    cli_main()

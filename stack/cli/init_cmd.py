"""`stack init`: write a shipped project template (stack/templates/<name>/) into a directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from stack.errors import UsageError

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
DESCRIPTION_FILE = "DESCRIPTION"
# Never copied into a new project: caches and the template's own description.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", DESCRIPTION_FILE)


def available_templates() -> dict[str, str]:
    """Template name -> its one-line description."""
    found: dict[str, str] = {}
    if not TEMPLATES_DIR.is_dir():
        return found
    for entry in sorted(TEMPLATES_DIR.iterdir()):
        description = entry / DESCRIPTION_FILE
        if entry.is_dir() and description.is_file():
            found[entry.name] = description.read_text(encoding="utf-8").strip().splitlines()[0]
    return found


def write_template(name: str, target: Path, *, force: bool = False) -> Path:
    """Copy template `name` into `target` (created if missing); refuse a non-empty target unless force."""
    templates = available_templates()
    if name not in templates:
        raise UsageError(f"no such template: {name!r}", hint=f"templates: {', '.join(templates) or 'none'}")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(f"{target} is not empty", hint="choose another directory, or pass --force to overwrite")
    shutil.copytree(TEMPLATES_DIR / name, target, ignore=_IGNORED, dirs_exist_ok=True)
    return target


@click.command("init")
@click.option("-t", "--template", "template", default="flask-api-db", show_default=True, help="Template to write.")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory, overwriting files.")
@click.argument("directory", required=False, type=click.Path(file_okay=True, path_type=Path))
def init(template: str, list_only: bool, force: bool, directory: Path | None) -> None:
    """Write a ready-to-run project from a template into DIRECTORY (default: ./TEMPLATE)."""
    if list_only:
        for name, description in available_templates().items():
            click.echo(f"{name}\t{description}")
        return
    target = write_template(template, directory or Path(template), force=force)
    click.echo(f"wrote the {template} template into {target}")
    readme = target / "README.md"
    if readme.is_file():
        click.echo(f"next: read {readme}, then `cd {target} && stack up --wait`")

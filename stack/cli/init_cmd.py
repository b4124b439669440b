"""`stack init`: write a shipped project template (stack/templates/<name>/) into a directory.

A template is a runnable project (flask-api-db is examples/flask-api-db itself, through a
symlink), named after its directory.  A copy becomes a project of its own: the template's name
is replaced by the copy's wherever it names the project (`name:`) or prefixes an image the
project builds, so two copies, or a copy and the example, never share containers, volumes or
image tags.  The copy's README is `<name>.README.md` beside the template: its commands run in
the copy, not in this repository.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from stack.errors import UsageError

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
DESCRIPTION_FILE = "DESCRIPTION"
COPY_README_SUFFIX = ".README.md"  # stack/templates/<name>.README.md: the README of a copy
# Never copied into a new project: caches and the template's own description.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", DESCRIPTION_FILE)
# A template that can run without a registry ships these: a script that builds its base images
# locally, and an env file that selects them.
LOCAL_IMAGES_SCRIPT = "local-images/build.sh"
LOCAL_ENV = "local.env"
# One path component of an image reference, as the registry grammar accepts it.
_IMAGE_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


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


@dataclass(frozen=True)
class Written:
    """A project written by `write_template`."""

    target: Path
    project: str  # its `name:`
    image_namespace: str  # the images it builds are `<image_namespace>/...`


def project_name_for(target: Path, name: str | None = None) -> str:
    """`name` when given (it must be valid), else the target directory's name, normalised as
    Compose normalises a directory name into a project name."""
    from stack.spec.discovery import normalize_project_name, validate_project_name

    if name:
        return validate_project_name(name)
    directory = target.resolve().name
    derived = normalize_project_name(directory)
    if not derived:
        raise UsageError(
            f"cannot make a project name from the directory name {directory!r}",
            hint="pass --name NAME (lowercase letters, digits, '-' and '_')",
        )
    return derived


def image_namespace(project: str) -> str:
    """The repository prefix of a copy's images: the project name, unless the image grammar
    refuses it (a trailing '-', '___'): then its letters and digits joined by '-'."""
    if _IMAGE_COMPONENT.fullmatch(project):
        return project
    return "-".join(re.findall(r"[a-z0-9]+", project)) or "app"


def rename_project(text: str, template: str, project: str, namespace: str) -> str:
    """A stack or env file of the template, made the copy's: `name: <template>` becomes
    `name: <project>`, and `<template>/` at the start of an image reference (after a line start,
    a space, '=', a quote or ':-') becomes `<namespace>/`."""
    quoted = re.escape(template)
    text = re.sub(rf"(?m)^(name:[ \t]*)([\"']?){quoted}\2([ \t]*(?:#.*)?)$", rf"\g<1>{project}\3", text)
    return re.sub(rf"(?m)(?:^|(?<=[\s=\"'])|(?<=:-)){quoted}/", f"{namespace}/", text)


def _personalise(template: str, target: Path, project: str, namespace: str) -> None:
    """Rename the copy's project and images; give it the README written for copies."""
    for path in sorted(target.iterdir()):
        if path.is_file() and (path.suffix in (".yaml", ".yml", ".env") or path.name == ".env"):
            text = path.read_text(encoding="utf-8")
            renamed = rename_project(text, template, project, namespace)
            if renamed != text:
                path.write_text(renamed, encoding="utf-8")
    readme = TEMPLATES_DIR / f"{template}{COPY_README_SUFFIX}"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        text = text.replace("{{project}}", project).replace("{{image}}", namespace)
        (target / "README.md").write_text(text, encoding="utf-8")


def write_template(name: str, target: Path, *, force: bool = False, project: str | None = None) -> Written:
    """Copy template `name` into `target` (created if missing) as a project of its own, named
    `project` (default: after the directory); refuse a non-empty target unless force."""
    templates = available_templates()
    if name not in templates:
        raise UsageError(f"no such template: {name!r}", hint=f"templates: {', '.join(templates) or 'none'}")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(f"{target} is not empty", hint="choose another directory, or pass --force to overwrite")
    project_name = project_name_for(target, project)  # before copying: a bad name writes nothing
    namespace = image_namespace(project_name)
    shutil.copytree(TEMPLATES_DIR / name, target, ignore=_IGNORED, dirs_exist_ok=True)
    _personalise(name, target, project_name, namespace)
    return Written(target, project_name, namespace)


def local_base_images(written: Written) -> list[str]:
    """The base images the copy's local env file selects (not the ones the copy builds)."""
    env = written.target / LOCAL_ENV
    if not env.is_file() or not (written.target / LOCAL_IMAGES_SCRIPT).is_file():
        return []
    images = []
    for line in env.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if (
            sep
            and not key.startswith("#")
            and key.endswith("_IMAGE")
            and not value.startswith(f"{written.image_namespace}/")
        ):
            images.append(value.strip().strip("\"'"))
    return images


def images_present(references: list[str]) -> bool | None:
    """Whether the daemon holds every one of `references`; None when it cannot be asked cheaply."""
    from stack.engine.light import LightDocker, LightUnavailable

    try:
        with LightDocker(timeout=5.0) as docker:
            listed = docker.images(references)
    except (LightUnavailable, OSError):
        return None
    tags = {str(tag) for image in listed for tag in image.get("RepoTags") or []}
    return all(ref in tags for ref in references)


def stack_program() -> str:
    """How to call stack in the printed commands: `stack` when the shell finds it, else the
    path it was started from (a virtualenv's bin/, not activated)."""
    if shutil.which("stack"):
        return "stack"
    started = Path(sys.argv[0])
    if started.name == "stack" and started.is_file():
        return shlex.quote(str(started.resolve()))
    return f"{shlex.quote(sys.executable)} -m stack"


def next_steps(written: Written, shown: str, program: str, *, local_ready: bool | None) -> list[str]:
    """The commands that run the copy: with the official base images (a registry), and, when the
    template ships them, with local ones (no registry); first the way known to work here."""
    readme = written.target / "README.md"
    lines = ["next:"]
    if written.target.resolve() != Path.cwd().resolve():
        lines.append(f"  cd {shlex.quote(shown)}")
    official = f"  {program} up --build --wait"
    if not local_base_images(written):
        return [*lines, official, f"more in {readme}"]
    local = [
        f"  bash {LOCAL_IMAGES_SCRIPT}"
        + ("   # the local base images: built already, this only checks" if local_ready else ""),
        f"  {program} --env-file {LOCAL_ENV} up --build --wait",
    ]
    if local_ready:
        return [*lines, *local, "or, with a registry (official base images):", official, f"more in {readme}"]
    return [
        *lines,
        official + "   # official base images: needs a registry (Docker Hub)",
        "or, without a registry: local base images from Debian packages (once; needs root or sudo):",
        *local,
        f"more in {readme}",
    ]


@click.command("init")
@click.option("-t", "--template", "template", default="flask-api-db", show_default=True, help="Template to write.")
@click.option("--name", "project", default=None, help="Project name (default: the directory's name).")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory, overwriting files.")
@click.argument("directory", required=False, type=click.Path(file_okay=True, path_type=Path))
def init(template: str, project: str | None, list_only: bool, force: bool, directory: Path | None) -> None:
    """Write a ready-to-run project from a template into DIRECTORY (default: ./TEMPLATE).

    The copy is a project of its own, named after DIRECTORY (or --name): its containers,
    volumes and images never mix with another copy's.
    """
    if list_only:
        for name, description in available_templates().items():
            click.echo(f"{name}\t{description}")
        return
    target = directory or Path(template)
    written = write_template(template, target, force=force, project=project)
    click.echo(f"wrote the {template} template into {target} (project {written.project})")
    bases = local_base_images(written)
    local_ready = images_present(bases) if bases else None
    for line in next_steps(written, str(target), stack_program(), local_ready=local_ready):
        click.echo(line)

"""`stack config`: parse, resolve and render the stack file, as `docker compose config` does.

Never imports docker or anyio: validating a stack file must stay fast and work without a daemon.
The plain forms (`config`, `--format`, `-q`, services) are answered before click is imported,
by `stack.cli.quick`, with the same `config_text`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stack.errors import UsageError, unknown_service
from stack.spec.serialize import config_text, selected_raw

if TYPE_CHECKING:
    from stack.cli.global_options import GlobalOptions
    from stack.spec.models import Project


def _selected(project: Project, services: tuple[str, ...]) -> list[str]:
    """Service names, dependencies before their dependents (ties in name order)."""
    order: list[str] = []

    def visit(name: str, seen: set[str]) -> None:
        if name in order or name in seen or name not in project.services:
            return
        seen.add(name)
        for dep in sorted(project.services[name].depends_on):
            visit(dep, seen)
        order.append(name)

    for name in sorted(project.services):
        visit(name, set())
    return [s for s in order if not services or s in services]


def _image_of(project: Project, name: str) -> str:
    service = project.services[name]
    return service.image or f"{project.name}-{name}"


def _hash_lines(project: Project, spec: str) -> list[str]:
    from stack.plan.hash import service_config_hash

    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    if "*" in wanted:
        wanted = sorted(project.services)
    lines = []
    for name in wanted:
        if name not in project.services:
            raise unknown_service(name, project.services)
        lines.append(f"{name} {service_config_hash(project.services[name])}")
    return lines


def _listing(options: Any, services: tuple[str, ...], flags: dict[str, bool], hash_spec: str | None) -> str:
    """The text of the listing flags (--services, --volumes, ...), Compose's precedence."""
    from stack.spec.loader import load_project

    project = load_project(options)
    lines: list[str]
    if flags["services"]:
        lines = _selected(project, services)
    elif flags["volumes"]:
        lines = sorted(project.volumes)
    elif flags["networks"]:
        lines = sorted(project.networks)
    elif flags["profiles"]:
        every = [*project.services.values(), *project.disabled_services.values()]
        lines = sorted({p for s in every for p in s.profiles})
    elif flags["images"]:
        lines = [_image_of(project, name) for name in _selected(project, services)]
    else:
        assert hash_spec is not None
        lines = _hash_lines(project, hash_spec)
    return "".join(line + "\n" for line in lines)


@click.command("config")
@click.argument("services", nargs=-1)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only validate the stack file; print nothing.")
@click.option("--services", "list_services", is_flag=True, help="Print the service names, one per line.")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names, one per line.")
@click.option("--networks", "list_networks", is_flag=True, help="Print the network names, one per line.")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names, one per line.")
@click.option("--images", "list_images", is_flag=True, help="Print the image names, one per line.")
@click.option("--no-interpolate", is_flag=True, help="Do not substitute ${VARIABLES}.")
@click.option(
    "--hash",
    "hash_spec",
    metavar="SERVICES",
    default=None,
    help="Print `SERVICE HASH` lines for these services (comma separated, or '*' for all).",
)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None, help="Write to FILE instead.")
@click.pass_obj
def config(
    obj: GlobalOptions,
    services: tuple[str, ...],
    output_format: str,
    quiet: bool,
    list_services: bool,
    list_volumes: bool,
    list_networks: bool,
    list_profiles: bool,
    list_images: bool,
    no_interpolate: bool,
    hash_spec: str | None,
    output: str | None,
) -> None:
    """Parse, resolve and render the stack file in Compose's canonical format."""
    options = obj.load_options(list(services), interpolate=not no_interpolate)
    flags = {
        "services": list_services,
        "volumes": list_volumes,
        "networks": list_networks,
        "profiles": list_profiles,
        "images": list_images,
    }
    if quiet:
        selected_raw(options)
        return
    if any(flags.values()) or hash_spec is not None:
        text = _listing(options, services, flags, hash_spec)
    else:
        text = config_text(options, output_format)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise UsageError(f"cannot write {output}: {e.strerror or e}") from None
        return
    click.echo(text, nl=False)

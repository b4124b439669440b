"""`stack cp`: copy files and directories between a service container and the local
filesystem, as `docker compose cp` (and `docker cp`) copy them, through the daemon's archive
endpoints."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from stack.cli.common import project_for, run
from stack.errors import UsageError


def split_cp_arg(arg: str) -> tuple[str | None, str]:
    """(service, path) of one argument, as Compose splits it: `web:/etc/x` -> ("web", "/etc/x").
    A local path has no service: an absolute one (`/a:b`), one starting with `.` (`./a:b`),
    one without a colon, and `-` (a tar on stdin or stdout)."""
    if arg.startswith("/"):
        return None, arg
    service, colon, path = arg.partition(":")
    if not colon or not service or service.startswith("."):
        return None, arg
    return service, path


@dataclass(frozen=True)
class CopyArgs:
    """A parsed `cp`: which service, which way, the path in the container and the local one."""

    service: str
    to_container: bool
    container_path: str
    local: str  # a path, or "-": a tar on stdin (to the container) or stdout (from it)


def parse_cp_args(source: str, destination: str) -> CopyArgs:
    """`SERVICE:SRC DEST` or `SRC SERVICE:DEST`; anything else is a usage error."""
    src_service, src_path = split_cp_arg(source)
    dst_service, dst_path = split_cp_arg(destination)
    example = "stack cp web:/etc/nginx ./nginx, or stack cp ./site web:/usr/share/nginx/html"
    if src_service and dst_service:
        raise UsageError(f"cannot copy from {source} to {destination}: copying between services is not supported")
    if src_service is None and dst_service is None:
        raise UsageError(
            f"neither {source!r} nor {destination!r} names a service", hint=f"use SERVICE:PATH, e.g. {example}"
        )
    if src_service is not None:
        service, path, local, to_container = src_service, src_path, dst_path, False
    else:
        assert dst_service is not None
        service, path, local, to_container = dst_service, dst_path, src_path, True
    if not path:
        raise UsageError(f"no path in the container given after {service}:", hint=f"e.g. {example}")
    if not local:
        raise UsageError("the local path is empty", hint="use a path, or - for a tar on stdin/stdout")
    return CopyArgs(service, to_container, path, local)


@click.command("cp")
@click.option("--all", "include_all", is_flag=True, help="Also copy into containers made by `stack run`.")
@click.option("-a", "--archive", is_flag=True, help="Archive mode: keep the files' uid/gid.")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow a symbolic link in SRC.")
@click.option(
    "--index",
    type=click.IntRange(min=1),
    default=None,
    help="Replica of the service (default: all of them when copying to the service, the first when copying from it).",
)
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DEST")
@click.pass_context
def cp(
    ctx: click.Context,
    include_all: bool,
    archive: bool,
    follow_link: bool,
    index: int | None,
    source: str,
    destination: str,
) -> None:
    """Copy files/folders between a service container and the local filesystem.

    \b
    stack cp SERVICE:SRC_PATH DEST_PATH|-
    stack cp SRC_PATH|- SERVICE:DEST_PATH
    """
    from stack import api

    args = parse_cp_args(source, destination)
    if include_all and not args.to_container:
        raise UsageError("cannot use --all when copying from a service", hint="name the replica with --index")
    name = project_for(ctx, [args.service])
    if args.to_container:
        src = sys.stdin.buffer if args.local == "-" else args.local
        names = run(
            lambda: api.copy_to_async(
                name,
                args.service,
                src,
                args.container_path,
                index=index,
                include_one_off=include_all,
                archive=archive,
                follow_link=follow_link,
            )
        )
        for container in names:
            click.echo(f"Copied {args.local} to {container}:{args.container_path}", err=True)
        return
    dest = sys.stdout.buffer if args.local == "-" else args.local
    container = run(
        lambda: api.copy_from_async(
            name, args.service, args.container_path, dest, index=index, archive=archive, follow_link=follow_link
        )
    )
    if args.local != "-":
        click.echo(f"Copied {container}:{args.container_path} to {args.local}", err=True)

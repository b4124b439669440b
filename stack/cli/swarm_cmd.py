"""`stack swarm ...`: the same stack file, deployed to Docker Swarm (shaped like `docker stack`)."""

from __future__ import annotations

import click

from stack.cli.common import global_options, load, name_only, run


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@click.group()
def swarm() -> None:
    """Deploy the stack to Docker Swarm, and list, roll back or remove what was deployed."""


@swarm.command()
@click.option("--wait", is_flag=True, help="Follow the tasks until every service converged (exit 1 if one fails).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Longest wait for a dependency, and for --wait.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Remove the project's services no longer in the file, and its secrets/configs nothing uses.",
)
@click.option("--strict", is_flag=True, help="Refuse (exit 2) when the file has keys Swarm cannot honour.")
@click.option("--dry-run", is_flag=True, help="Print the Swarm objects and change nothing.")
@click.pass_context
def deploy(ctx: click.Context, wait: bool, timeout: float, prune: bool, strict: bool, dry_run: bool) -> None:
    """Create or update the stack's services, networks, secrets and configs on the swarm.

    Services start in depends_on order, each after its dependencies' tasks run (and are
    healthy, for service_healthy).  Keys Swarm cannot honour are listed first, with file:line.
    """
    from stack.api.swarm import swarm_convert, swarm_deploy_async
    from stack.engine.swarm import DeployOptions

    project = load(ctx)
    if dry_run:
        converted = swarm_convert(project, strict=strict)  # its unsupported keys are in the text
        click.echo(converted.render(), nl=False)
        return
    options = DeployOptions(wait=wait, timeout=timeout, prune=prune)
    lock = global_options(ctx).lock_policy()
    result = run(lambda: swarm_deploy_async(project, options, strict=strict, echo=_echo_err, lock=lock))
    if not result.deployed.changed:
        _echo_err("nothing to change")


@swarm.command()
@click.pass_context
def ps(ctx: click.Context) -> None:
    """List the tasks of the project's swarm services."""
    from stack.api.swarm import swarm_ps_async

    name = name_only(ctx)
    rows = run(lambda: swarm_ps_async(name))
    _table(
        ["ID", "NAME", "IMAGE", "NODE", "DESIRED", "CURRENT", "ERROR"],
        [[r.task_id[:12], r.name, r.image, r.node, r.desired, r.state, r.error] for r in rows],
    )


@swarm.command()
@click.pass_context
def services(ctx: click.Context) -> None:
    """List the project's swarm services."""
    from stack.api.swarm import swarm_services_async

    name = name_only(ctx)
    rows = run(lambda: swarm_services_async(name))
    _table(
        ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "UPDATE"],
        [
            [
                r.service_id[:12],
                r.name,
                r.mode,
                f"{r.running}/{r.desired if r.desired is not None else r.running}",
                r.image,
                r.update_state,
            ]
            for r in rows
        ],
    )


@swarm.command()
@click.option("-v", "--volumes", is_flag=True, help="Also remove the project's volumes on this node.")
@click.pass_context
def rm(ctx: click.Context, volumes: bool) -> None:
    """Remove the project's swarm services, secrets, configs and networks (only stack's own)."""
    from stack.api.swarm import swarm_rm_async

    name = name_only(ctx)
    lock = global_options(ctx).lock_policy()
    removed = run(lambda: swarm_rm_async(name, volumes=volumes, echo=_echo_err, lock=lock))
    if not removed:
        _echo_err(f"nothing to remove for project {name}")


@swarm.command()
@click.argument("service")
@click.option("--wait", is_flag=True, help="Wait until the rollback finished.")
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True, metavar="SECONDS")
@click.pass_context
def rollback(ctx: click.Context, service: str, wait: bool, timeout: float) -> None:
    """Put SERVICE's previous spec back."""
    from stack.api.swarm import swarm_rollback_async

    name = name_only(ctx)
    swarm_name = run(lambda: swarm_rollback_async(name, service, wait=wait, timeout=timeout))
    _echo_err(f"service {swarm_name}: rolled back")

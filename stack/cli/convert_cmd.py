"""`stack convert ...`: the same stack file, translated for another orchestrator."""

from __future__ import annotations

from pathlib import Path

import click

from stack.cli.common import load
from stack.convert.kubernetes.model import (
    DEFAULT_API_WAIT_IMAGE,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_VOLUME_SIZE,
    DEFAULT_WAIT_IMAGE,
)


@click.group()
def convert() -> None:
    """Translate the stack file for another orchestrator (no daemon needed)."""


@convert.command()
@click.option(
    "-o", "--output", "output", type=click.Path(file_okay=False), default=None, help="Write one file per object to DIR."
)
@click.option("-n", "--namespace", default=None, help="Namespace put on every object (default: none).")
@click.option(
    "--kubernetes-version",
    "version",
    default=DEFAULT_KUBERNETES_VERSION,
    show_default=True,
    help="Kubernetes version the manifests are for (1.25 or newer).",
)
@click.option(
    "--published",
    type=click.Choice(["nodeport", "loadbalancer", "none"]),
    default="nodeport",
    show_default=True,
    help="How published ports are offered outside the cluster: a Service {name}-published of this type.",
)
@click.option(
    "--host-path", is_flag=True, help="Bind mounts become hostPath volumes (else they are listed, not converted)."
)
@click.option(
    "--wait-image",
    default=DEFAULT_WAIT_IMAGE,
    show_default=True,
    help="Image of the init containers waiting for a Service (needs sh, nslookup, nc, timeout).",
)
@click.option(
    "--api-wait-image",
    default=DEFAULT_API_WAIT_IMAGE,
    show_default=True,
    help="Image of the init containers waiting for a Job through the Kubernetes API (needs sh, curl, tr).",
)
@click.option(
    "--volume-size",
    default=DEFAULT_VOLUME_SIZE,
    show_default=True,
    help="Storage request of a PersistentVolumeClaim whose volume sets no x-kubernetes.size.",
)
@click.option("--cluster-domain", default="cluster.local", show_default=True, help="The cluster's DNS domain.")
@click.option("--strict", is_flag=True, help="Refuse (exit 2) when the file has keys Kubernetes cannot honour.")
@click.pass_context
def kubernetes(
    ctx: click.Context,
    output: str | None,
    namespace: str | None,
    version: str,
    published: str,
    host_path: bool,
    wait_image: str,
    api_wait_image: str,
    volume_size: str,
    cluster_domain: str,
    strict: bool,
) -> None:
    """Write Kubernetes manifests for the stack: one multi-document YAML on stdout, or -o DIR.

    Per service a Deployment (a StatefulSet with a named volume and one replica, a Job when
    another service waits for it to complete), a Service of its name, probes from its
    healthcheck, init containers waiting for its depends_on; services sharing a network
    namespace or volumes are one Pod.  Keys that cannot be converted are listed on stderr
    with file:line (WARN), caveats as NOTE.
    """
    from stack.api.kubernetes import kubernetes_convert
    from stack.convert.kubernetes import KubernetesOptions

    options = KubernetesOptions(
        namespace=namespace,
        version=version,
        published=published,  # type: ignore[arg-type]  # click.Choice checked it
        host_path=host_path,
        wait_image=wait_image,
        api_wait_image=api_wait_image,
        volume_size=volume_size,
        cluster_domain=cluster_domain,
    )
    converted = kubernetes_convert(load(ctx), options, strict=strict)
    for line in converted.problems():
        click.echo(line, err=True)
    if output is None:
        click.echo(converted.render(), nl=False)
        return
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in converted.files().items():
        (directory / name).write_text(text)
    click.echo(f"wrote {len(converted.manifests)} manifest(s) to {directory}", err=True)

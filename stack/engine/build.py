"""Image builds for services with `build:`.

The classic builder runs through the SDK (`APIClient.build`, streamed, decoded); a Dockerfile
that needs BuildKit (`# syntax=`, `RUN --mount`, heredocs) goes to `docker buildx build` when
buildx is installed, and is otherwise refused with an error naming the service.  Images are
tagged with the service's `image` (or `{project}-{service}`) and carry our project label.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import anyio
import docker.errors

from stack.engine.docker_api import DockerAPI
from stack.engine.progress import ProgressEvent, ProgressSink, Status, null_sink
from stack.errors import BuildError, DockerAPIError
from stack.plan import labels as L
from stack.plan.naming import service_image
from stack.spec.models import BuildConfig, Project
from stack.spec.units import byte_size

_BUILDKIT_MARKERS = (
    (re.compile(r"^\s*#\s*syntax\s*=", re.IGNORECASE | re.MULTILINE), "a `# syntax=` directive"),
    (re.compile(r"^\s*RUN\s+(?:--\S+\s+)*--mount", re.IGNORECASE | re.MULTILINE), "`RUN --mount`"),
)
# A heredoc: `<<WORD` (or `<<-"WORD"`) on a RUN/COPY/ADD line, closed later by a line `WORD`.
_HEREDOC = re.compile(r"^\s*(?:RUN|COPY|ADD)\b.*?<<-?\s*[\"']?([A-Za-z_]\w*)[\"']?(?:\s|$)", re.I | re.M)
_STEP = re.compile(r"^Step \d+/\d+ : .*")


@dataclass(frozen=True)
class BuildRequest:
    service: str
    tag: str
    context: str
    dockerfile: str  # absolute path
    config: BuildConfig
    labels: dict[str, str]
    inline: bool = False


def buildkit_feature(dockerfile_text: str) -> str | None:
    """The first BuildKit-only feature the Dockerfile uses, or None when the classic builder will do."""
    for pattern, what in _BUILDKIT_MARKERS:
        if pattern.search(dockerfile_text):
            return what
    for match in _HEREDOC.finditer(dockerfile_text):
        closing = re.compile(rf"^\s*{re.escape(match.group(1))}\s*$", re.M)
        if closing.search(dockerfile_text, match.end()):
            return "a heredoc (`<<EOF`)"
    return None


def buildx_available() -> bool:
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        return False
    try:
        done = subprocess.run([docker_cli, "buildx", "version"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def build_request(project: Project, service_name: str, tag: str | None = None) -> BuildRequest:
    service = project.services.get(service_name) or project.disabled_services.get(service_name)
    if service is None or service.build is None:
        raise BuildError(f"service {service_name}: has no `build:` section")
    cfg = service.build
    context = cfg.context
    if not os.path.isabs(context):
        context = os.path.join(project.working_dir or os.getcwd(), context)
    if not os.path.isdir(context):
        raise BuildError(
            f"service {service_name}: build context {context} is not a directory",
            hint="check `build.context` (relative paths start at the stack file's directory)",
        )
    if cfg.dockerfile_inline is not None:
        dockerfile = ""
    else:
        dockerfile = cfg.dockerfile or "Dockerfile"
        if not os.path.isabs(dockerfile):
            dockerfile = os.path.join(context, dockerfile)
        if not os.path.isfile(dockerfile):
            raise BuildError(
                f"service {service_name}: Dockerfile {dockerfile} not found",
                hint="check `build.dockerfile` (relative to the build context)",
            )
    labels = dict(cfg.labels)
    labels.update(L.build_labels(project.name, service_name))
    return BuildRequest(
        service=service_name,
        tag=tag or service_image(project.name, service_name, service),
        context=context,
        dockerfile=dockerfile,
        config=cfg,
        labels=labels,
        inline=cfg.dockerfile_inline is not None,
    )


async def build_image(
    api: DockerAPI,
    project: Project,
    service_name: str,
    *,
    tag: str | None = None,
    progress: ProgressSink = null_sink,
    node_id: int | None = None,
) -> str:
    """Build `service_name`'s image; returns the image id.  Raises BuildError naming the service."""
    request = build_request(project, service_name, tag)
    service = project.services.get(service_name) or project.disabled_services[service_name]
    assert service.build is not None
    if request.inline:
        text = service.build.dockerfile_inline or ""
    else:
        with open(request.dockerfile, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    feature = buildkit_feature(text)
    if feature is not None:
        if not await anyio.to_thread.run_sync(buildx_available):
            raise BuildError(
                f"service {service_name}: the Dockerfile uses {feature}, which needs BuildKit, and"
                " `docker buildx` is not installed",
                hint="install the buildx plugin (docker-buildx-plugin), or avoid BuildKit-only syntax",
            )
        return await _build_with_buildx(api, request, text, progress, node_id)
    return await _build_classic(api, request, text, progress, node_id)


def _log(progress: ProgressSink, node_id: int | None, service: str, line: str) -> None:
    progress(ProgressEvent(node_id, f"image:{service}", "BuildImage", Status.LOG, line))


async def _build_classic(
    api: DockerAPI, request: BuildRequest, text: str, progress: ProgressSink, node_id: int | None
) -> str:
    cfg = request.config
    with tempfile.TemporaryDirectory(prefix="stack-build-") as tmp:
        dockerfile = request.dockerfile
        if request.inline:
            # Outside the context: the SDK adds it to the context tarball under a private name.
            dockerfile = os.path.join(tmp, "Dockerfile")
            with open(dockerfile, "w", encoding="utf-8") as fh:
                fh.write(text)
        buildargs = {k: v for k, v in cfg.args.items() if v is not None}
        kwargs: dict[str, Any] = {
            "path": request.context,
            "tag": request.tag,
            "dockerfile": dockerfile,
            "buildargs": buildargs or None,
            "target": cfg.target,
            "labels": request.labels,
            "decode": True,
            "rm": True,
            "forcerm": True,
            "nocache": bool(cfg.no_cache),
            "pull": bool(cfg.pull),
            "network_mode": cfg.network,
            "cache_from": cfg.cache_from or None,
            "extra_hosts": dict(h.replace("=", ":", 1).split(":", 1) for h in cfg.extra_hosts) or None,
        }
        if cfg.shm_size is not None:
            kwargs["shmsize"] = byte_size(cfg.shm_size)

        image_id: str | None = None
        step = ""
        error: str | None = None
        try:
            async with api.stream("image.build", lambda: api.client.build(**kwargs)) as chunks:
                async for chunk in chunks:
                    if "stream" in chunk:
                        for line in str(chunk["stream"]).splitlines():
                            if _STEP.match(line):
                                step = line
                            if line.strip():
                                _log(progress, node_id, request.service, line)
                    if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                        image_id = str(chunk["aux"]["ID"])
                    if "error" in chunk:
                        error = str(chunk["error"]).strip()
        except DockerAPIError as exc:
            error = exc.detail
        except docker.errors.DockerException as exc:
            error = str(exc)
        if error is not None:
            where = f" at `{step}`" if step else ""
            raise BuildError(
                f"service {request.service}: image build failed{where}: {error}",
                hint=f"fix the Dockerfile, then run `stack build {request.service}`",
            )
        if image_id is None:
            image_id = str((await api.inspect_image(request.tag))["Id"])
        return image_id


async def _build_with_buildx(
    api: DockerAPI, request: BuildRequest, text: str, progress: ProgressSink, node_id: int | None
) -> str:
    cfg = request.config
    docker_cli = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory(prefix="stack-build-") as tmp:
        dockerfile = request.dockerfile
        if request.inline:
            dockerfile = os.path.join(tmp, "Dockerfile")
            with open(dockerfile, "w", encoding="utf-8") as fh:
                fh.write(text)
        cmd = [docker_cli, "buildx", "build", "--load", "--progress=plain"]
        cmd += ["-t", request.tag, "-f", dockerfile]
        for key, value in request.labels.items():
            cmd += ["--label", f"{key}={value}"]
        for key, arg in cfg.args.items():
            if arg is not None:
                cmd += ["--build-arg", f"{key}={arg}"]
        if cfg.target:
            cmd += ["--target", cfg.target]
        if cfg.no_cache:
            cmd.append("--no-cache")
        cmd.append(request.context)
        api.count("buildx")
        lines: list[str] = []
        async with await anyio.open_process(cmd, stderr=subprocess.STDOUT) as proc:
            assert proc.stdout is not None
            async for data in proc.stdout:
                for line in data.decode(errors="replace").splitlines():
                    lines.append(line)
                    _log(progress, node_id, request.service, line)
            code = await proc.wait()
        if code != 0:
            tail = " | ".join(lines[-5:])
            raise BuildError(
                f"service {request.service}: image build failed (docker buildx exit {code}): {tail}",
                hint=f"fix the Dockerfile, then run `stack build {request.service}`",
            )
        return str((await api.inspect_image(request.tag))["Id"])

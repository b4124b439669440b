#!/usr/bin/env bash
# Build stack-test/dind:bookworm, a Docker-in-Docker node for scripts/multinode-swarm.py: Debian's
# docker.io (with containerd, runc, tini, iptables, iproute2, mount, ca-certificates) from
# mmdebstrap, imported with `docker import`, no registry needed. Its entrypoint (entrypoint.sh)
# starts dockerd with overlay2 storage on /var/lib/docker, which must be a volume: overlay2 cannot
# stack on the node's own root filesystem (an overlay, or fuse-overlayfs as on this host), while a
# volume is a plain directory of the host's filesystem (ext4 here); vfs would copy every layer.
# Run it --privileged, or see entrypoint.sh for hosts where --privileged cannot work.
#
# Idempotent: skipped when the image exists and carries the hash of its recipe (suite, mirror,
# packages, image config, entrypoint) in the label stack-test.dind-recipe; FORCE=1 rebuilds.
# Environment: DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (mmdebstrap's default), DIND_IMAGE.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-}"
IMAGE="${DIND_IMAGE:-stack-test/dind:$SUITE}"
FORCE="${FORCE:-0}"
PACKAGES=docker.io,containerd,runc,tini,iptables,iproute2,mount,ca-certificates,procps

log() { printf 'dind/build.sh: %s\n' "$*" >&2; }

command -v mmdebstrap >/dev/null 2>&1 || { log "mmdebstrap is required (apt-get install mmdebstrap)"; exit 1; }
command -v docker >/dev/null 2>&1 || { log "the docker CLI is required"; exit 1; }

SLIM=(
    --variant=essential
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --aptopt='APT::Install-Recommends "false"'
)
HOOKS=(
    'upload "'"$here"'/entrypoint.sh" /usr/local/bin/dind-entrypoint'
    'chmod 755 "$1"/usr/local/bin/dind-entrypoint'
    'rm -rf "$1"/var/lib/docker "$1"/var/lib/containerd && mkdir -p "$1"/var/lib/docker'
)
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'VOLUME /var/lib/docker'
    'EXPOSE 2375 2377 7946 4789/udp'
    'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dind-entrypoint"]'
    'CMD []'
)

hash="$({
    printf '%s\n' "$SUITE" "$MIRROR" "${SLIM[@]}" "$PACKAGES" "${HOOKS[@]//"$here"/<here>}" "${CHANGES[@]}"
    cat "$here/entrypoint.sh"
} | sha256sum | cut -c1-16)"

existing="$(docker image inspect --format '{{ index .Config.Labels "stack-test.dind-recipe" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$FORCE" != 1 && "$existing" == "$hash" ]]; then
    log "$IMAGE is up to date (recipe $hash)"
    exit 0
fi

log "building $IMAGE from Debian $SUITE ($PACKAGES)"
logfile="$(mktemp -t build-dind.XXXXXX.log)"
args=("${SLIM[@]}" "--include=$PACKAGES" "--logfile=$logfile")
for hook in "${HOOKS[@]}"; do
    args+=("--customize-hook=$hook")
done
changes=(--change "LABEL stack-test.dind-recipe=$hash" --change "LABEL org.opencontainers.image.description=\"Debian $SUITE: $PACKAGES\"")
for change in "${CHANGES[@]}"; do
    changes+=(--change "$change")
done
started=$SECONDS
# shellcheck disable=SC2086  # an empty MIRROR means mmdebstrap's default mirrors
if ! mmdebstrap "${args[@]}" "$SUITE" - $MIRROR | docker import "${changes[@]}" - "$IMAGE" >/dev/null; then
    log "building $IMAGE failed; the end of mmdebstrap's log ($logfile):"
    tail -n 25 "$logfile" >&2
    exit 1
fi
rm -f "$logfile"
log "built $IMAGE in $((SECONDS - started)) s"

#!/usr/bin/env bash
# Build the example's base images from Debian packages, for machines that cannot pull from a
# registry: stack-local/python:bookworm, stack-local/postgres:bookworm, stack-local/nginx:bookworm.
# Each is `mmdebstrap --variant=essential --include=...` piped into `docker import`; they stand in
# for python:3.12-slim, postgres:16 and nginx:1.27 (select them with `stack --env-file local.env`).
#
# Cached: an image is skipped when its tag exists and carries the hash of its recipe (packages,
# hooks, image config, entrypoint script) in the label stack-local.recipe; a second run takes seconds.
#
# Environment: DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (mmdebstrap's default: deb.debian.org plus
# updates and security), LOCAL_IMAGE_PREFIX (stack-local), FORCE=1 to rebuild.
# Usage: build.sh [python|postgres|nginx ...]   (default: all three, built concurrently)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
SUITE="${DEBIAN_SUITE:-bookworm}"
PREFIX="${LOCAL_IMAGE_PREFIX:-stack-local}"
MIRROR="${DEBIAN_MIRROR:-}"
FORCE="${FORCE:-0}"

log() { printf 'build-local-images: %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap (apt-get)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
command -v docker >/dev/null 2>&1 || { log "the docker CLI is required"; exit 1; }

# Keep the images small: no docs, man pages, translations (apt's own config keeps working).
SLIM=(
    --variant=essential
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    --aptopt='APT::Install-Recommends "false"'
)

# One recipe per image: packages, customize hooks (run on the finished tree, "$1" is its root)
# and the image configuration for `docker import --change`.
recipe_python() {
    PACKAGES=python3,python3-flask,python3-psycopg,gunicorn,ca-certificates
    HOOKS=()
    CHANGES=('ENV LANG=C.UTF-8' 'ENV PYTHONUNBUFFERED=1' 'CMD ["python3"]')
}

recipe_postgres() {
    PACKAGES=postgresql-15
    HOOKS=(
        # The package creates a "main" cluster; the entrypoint makes its own in $PGDATA.
        'rm -rf "$1"/var/lib/postgresql/15/main "$1"/etc/postgresql/15/main'
        'mkdir -p "$1"/var/lib/postgresql/data "$1"/docker-entrypoint-initdb.d'
        'chroot "$1" chown postgres:postgres /var/lib/postgresql/data'
        'upload "'"$here"'/postgres-entrypoint.sh" /usr/local/bin/docker-entrypoint.sh'
        'chmod 755 "$1"/usr/local/bin/docker-entrypoint.sh'
    )
    CHANGES=(
        'ENV LANG=C.UTF-8'
        'ENV PGDATA=/var/lib/postgresql/data'
        'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        'VOLUME /var/lib/postgresql/data'
        'EXPOSE 5432'
        'ENTRYPOINT ["docker-entrypoint.sh"]'
        'CMD ["postgres"]'
    )
}

recipe_nginx() {
    PACKAGES=nginx
    HOOKS=(
        # Serve /etc/nginx/conf.d/*.conf only (as the official image does), log to the container.
        'rm -f "$1"/etc/nginx/sites-enabled/default'
        'ln -sf /dev/stdout "$1"/var/log/nginx/access.log'
        'ln -sf /dev/stderr "$1"/var/log/nginx/error.log'
    )
    CHANGES=('EXPOSE 80' 'CMD ["nginx", "-g", "daemon off;"]')
}

recipe_hash() {
    {
        # The hooks name files by this directory's path: hashed without it, so every copy of
        # the example (`stack init`) shares the images instead of rebuilding and retagging them.
        printf '%s\n' "$SUITE" "$MIRROR" "${SLIM[@]}" "$PACKAGES" "${HOOKS[@]//"$here"/<here>}" "${CHANGES[@]}"
        if [[ "$1" == postgres ]]; then cat "$here/postgres-entrypoint.sh"; fi
    } | sha256sum | cut -c1-16
}

build_one() {
    local name="$1" tag="$PREFIX/$1:$SUITE"
    "recipe_$name"
    local hash existing
    hash="$(recipe_hash "$name")"
    existing="$(docker image inspect --format '{{ index .Config.Labels "stack-local.recipe" }}' "$tag" 2>/dev/null || true)"
    if [[ "$FORCE" != 1 && "$existing" == "$hash" ]]; then
        log "$tag is up to date (recipe $hash)"
        return 0
    fi
    log "building $tag from Debian $SUITE ($PACKAGES)"
    local logfile
    logfile="$(mktemp -t "build-local-$name.XXXXXX.log")"
    local args=("${SLIM[@]}" "--include=$PACKAGES" "--logfile=$logfile")
    local hook
    for hook in "${HOOKS[@]}"; do
        args+=("--customize-hook=$hook")
    done
    local changes=(--change "LABEL stack-local.recipe=$hash" --change "LABEL org.opencontainers.image.description=\"Debian $SUITE: $PACKAGES\"")
    local change
    for change in "${CHANGES[@]}"; do
        changes+=(--change "$change")
    done
    local started=$SECONDS
    # shellcheck disable=SC2086  # an empty MIRROR means mmdebstrap's default mirrors
    if ! mmdebstrap "${args[@]}" "$SUITE" - $MIRROR | docker import "${changes[@]}" - "$tag" >/dev/null; then
        log "building $tag failed; the end of mmdebstrap's log ($logfile):"
        tail -n 25 "$logfile" >&2
        return 1
    fi
    rm -f "$logfile"
    log "built $tag in $((SECONDS - started)) s"
}

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(python postgres nginx)
for name in "${names[@]}"; do
    declare -F "recipe_$name" >/dev/null || { log "unknown image '$name' (python, postgres, nginx)"; exit 2; }
done

# Concurrently: the time is mostly downloads and dpkg, one image per process.
pids=()
for name in "${names[@]}"; do
    build_one "$name" &
    pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { log "building ${names[$i]} failed"; failed=1; }
done
exit "$failed"

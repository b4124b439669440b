#!/usr/bin/env bash
# Run the example stack (examples/flask-api-db) from a fresh clone, in one command:
#   bash scripts/run-example.sh            # FRONTEND_PORT=8080 by default
# 1. creates .venv and installs stack into it (scripts/bootstrap.sh) when missing;
# 2. makes the base images available: pulls the official ones when a registry answers, else
#    builds equivalent local images from Debian packages (examples/flask-api-db/local-images)
#    and selects them with local.env;
# 3. runs `stack up --build --wait` and prints the URL to open.
# Environment: FRONTEND_PORT (8080), EXAMPLE_IMAGES=official|local (default: try to pull),
# PULL_TIMEOUT seconds per image (300), STACK_PROJECT_NAME (flask-api-db).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/examples/flask-api-db"
stack="$root/.venv/bin/stack"
export FRONTEND_PORT="${FRONTEND_PORT:-8080}"
OFFICIAL_IMAGES=(python:3.12-slim postgres:16 nginx:1.27)

log() { printf '\n==> %s\n' "$*"; }

command -v docker >/dev/null 2>&1 || { echo "run-example: the docker CLI is required" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "run-example: the Docker daemon does not answer (docker info)" >&2; exit 1; }

if [[ ! -x "$stack" ]]; then
    log "creating the virtual environment and installing stack (.venv)"
    bash "$root/scripts/bootstrap.sh"
fi

# Official images: present, or pulled when a registry answers (a machine without one fails fast
# on the first pull, or at the timeout).
official_images_ready() {
    local image
    for image in "${OFFICIAL_IMAGES[@]}"; do
        if docker image inspect "$image" >/dev/null 2>&1; then
            continue
        fi
        echo "pulling $image"
        if ! timeout "${PULL_TIMEOUT:-300}" docker pull -q "$image" >/dev/null; then
            echo "could not pull $image"
            return 1
        fi
    done
}

mode="${EXAMPLE_IMAGES:-}"
if [[ -z "$mode" ]]; then
    log "base images: trying the registry"
    if official_images_ready; then mode=official; else mode=local; fi
fi
env_args=()
case "$mode" in
    official) ;;
    local)
        log "base images: building local ones from Debian packages (cached after the first run)"
        bash "$example/local-images/build.sh"
        env_args=(--env-file "$example/local.env")
        ;;
    *) echo "run-example: EXAMPLE_IMAGES must be official or local, not '$mode'" >&2; exit 2 ;;
esac

log "stack up --wait (${mode} images)"
cd "$example"
"$stack" "${env_args[@]}" up --build --wait

url="http://localhost:$FRONTEND_PORT"
env_hint=""
[[ "$mode" == local ]] && env_hint=" --env-file local.env"
cat <<MSG

The example is running: open $url
  scale the API:   (cd examples/flask-api-db && ../../.venv/bin/stack$env_hint scale api=3)
  its containers:  (cd examples/flask-api-db && ../../.venv/bin/stack ps)
  stop it:         (cd examples/flask-api-db && ../../.venv/bin/stack down)      # keeps the data
  remove the data: (cd examples/flask-api-db && ../../.venv/bin/stack down -v)
MSG

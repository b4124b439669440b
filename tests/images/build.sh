#!/usr/bin/env bash
# Build the tiny local test images (no registry here): stack-test/busybox:latest from Debian's
# busybox-static, with a link for every applet and a default CMD of `sh`.
# Idempotent: skipped when the image exists and carries the same busybox version label.
set -euo pipefail

IMAGE="${STACK_TEST_IMAGE:-stack-test/busybox:latest}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"

if [[ ! -x "$BUSYBOX" ]]; then
    echo "build.sh: $BUSYBOX not found; install Debian's busybox-static" >&2
    exit 1
fi

version="$("$BUSYBOX" --help 2>&1 | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p' || true)"
version="${version:-unknown}-$(sha256sum "$BUSYBOX" | cut -c1-12)"

existing="$(docker image inspect --format '{{ index .Config.Labels "stack-test.busybox-version" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$existing" == "$version" ]]; then
    echo "build.sh: $IMAGE is up to date ($version)"
    exit 0
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var/www" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [[ "$applet" == busybox ]] && continue
    ln -sf busybox "$root/bin/$applet"
done
mkdir -p "$root/usr" && ln -s ../bin "$root/usr/bin" && ln -s bin "$root/sbin"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" -c . | docker import \
    --change 'CMD ["sh"]' \
    --change 'ENV PATH=/bin:/sbin:/usr/bin' \
    --change "LABEL stack-test.busybox-version=$version" \
    - "$IMAGE" >/dev/null
echo "build.sh: built $IMAGE ($version)"

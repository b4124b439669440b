#!/bin/sh
# Entrypoint of stack-test/dind: a Docker-in-Docker node. Run it --privileged with a volume on
# /var/lib/docker; where --privileged cannot work (a host whose capability bounding set lacks a
# capability, e.g. CAP_SYS_RESOURCE: runc's "unable to apply caps"), run it with
# --cap-add=ALL --cap-drop=<the missing ones> --security-opt seccomp=unconfined
# --security-opt systempaths=unconfined --device-cgroup-rule='a *:* rwm': this script then
# remounts /sys and the cgroup mounts read-write, as --privileged would have them.
# Starts dockerd listening on its unix socket and, without TLS, on tcp :2375 of this
# container's eth0 address only (a private network); extra arguments go to dockerd
# (e.g. --insecure-registry=10.1.2.1:5000). Environment: DIND_STORAGE_DRIVER (overlay2).
set -eu

# Mounts the inner containers make (volumes, bind mounts) must propagate: / shared.
mount --make-rshared /

# Not privileged: sysfs and the cgroup mounts are read-only; dockerd needs them writable.
while read -r _ target fstype options _; do
    case "$target:$fstype:$options" in
        /sys:sysfs:ro,* | /sys:sysfs:*,ro,*) mount -o remount,rw /sys ;;
        /sys/fs/cgroup/*:cgroup:ro,* | /sys/fs/cgroup/*:cgroup2:ro,*) mount -o remount,bind,rw "$target" ;;
        /sys/fs/cgroup:cgroup2:ro,*) mount -o remount,bind,rw "$target" ;;
    esac
done </proc/self/mounts

# cgroup v2 (unified): move ourselves into a child group so that dockerd may enable the
# controllers for its own children (the "no internal processes" rule). Nothing to do on v1.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
    sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || true
fi

rm -f /var/run/docker.pid /run/containerd/containerd.pid

addr="$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' | head -n 1)"
if [ -z "$addr" ]; then
    echo "dind-entrypoint: eth0 has no IPv4 address" >&2
    exit 1
fi

exec dockerd \
    --host=unix:///var/run/docker.sock \
    --host="tcp://$addr:2375" \
    --tls=false \
    --storage-driver="${DIND_STORAGE_DRIVER:-overlay2}" \
    "$@"

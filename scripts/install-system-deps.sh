#!/usr/bin/env bash
# Debian packages stack's tests and examples need. Skips apt entirely when all are present.
set -euo pipefail
# docker-registry (distribution 2.8) and apache2-utils (htpasswd): tests/integration/test_registry.py
PACKAGES=(busybox-static mmdebstrap chromium chromium-driver docker-registry apache2-utils)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

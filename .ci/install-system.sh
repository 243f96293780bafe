#!/usr/bin/env bash
# System packages the test matrix needs: Mesa ≥ 24 (lavapipe, a Vulkan driver on the CPU) from
# bookworm-backports for Dawn in Node and Deno, and Debian's chromium for the browser runtime.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$mesa" in 2[4-9].*|[3-9][0-9].*) ;; *) need+=(mesa) ;; esac
[ ${#need[@]} -eq 0 ] && { echo "system packages present"; exit 0; }
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$src" ]; then
  cat > "$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends libvulkan1 chromium fonts-dejavu-core >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), $(chromium --version)"

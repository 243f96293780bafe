#!/usr/bin/env bash
# System packages the test matrix needs: Mesa ≥ 24 (lavapipe, a Vulkan driver on the CPU) from
# the release's backports suite for Dawn in Node, Deno and Bun, and Debian's chromium for the browser
# runtime. The backports suite is served from the same address as the machine's configured Debian
# release (its mirror or proxy), read from /etc/apt/sources.list{,.d/*}.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$mesa" in 2[4-9].*|[3-9][0-9].*) ;; *) need+=(mesa) ;; esac
[ ${#need[@]} -eq 0 ] && { echo "system packages present"; exit 0; }

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "install-system: /etc/os-release names no VERSION_CODENAME; is this Debian?" >&2; exit 1; }
backports="$codename-backports"

# Prints the URI of each enabled source whose suites include $1, deb822 files and one-line lists alike.
sources_for() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      function flush() { if (uri != "" && found && enabled) print uri; uri = ""; found = 0; enabled = 1 }
      BEGIN { enabled = 1 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
      tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++; if ($(i + 1) == suite) print $i }' "$f"
  done
}

if [ -z "$(sources_for "$backports" | head -n 1)" ]; then
  uri=$(sources_for "$codename" | head -n 1)
  if [ -z "$uri" ]; then
    echo "install-system: no configured apt source serves '$codename', so the address for '$backports' is unknown;" \
      "add a source for $backports (main) and run this again" >&2
    exit 1
  fi
  echo "install-system: adding $backports from $uri"
  cat > "/etc/apt/sources.list.d/$backports.sources" <<SRC
Types: deb
URIs: $uri
Suites: $backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends libvulkan1 chromium fonts-dejavu-core >/dev/null
apt-get install -y -qq --no-install-recommends -t "$backports" mesa-vulkan-drivers >/dev/null
echo "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), $(chromium --version)"

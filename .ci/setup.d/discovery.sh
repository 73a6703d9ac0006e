#!/usr/bin/env bash
# discovery's netns tests (discovery/netns_linux_test.go): a real mDNS responder (Debian's
# avahi-daemon + avahi-publish), a private D-Bus system bus per namespace (dbus-daemon),
# ip netns / veth / bridge (iproute2), and unshare + mount (util-linux, essential on Debian).
# The tests run as root. Idempotent; .ci/run has already run `apt-get update`.
set -euo pipefail

discovery_pkgs=()
command -v avahi-daemon >/dev/null 2>&1 || discovery_pkgs+=(avahi-daemon)
command -v avahi-publish >/dev/null 2>&1 || discovery_pkgs+=(avahi-utils)
command -v dbus-daemon >/dev/null 2>&1 || discovery_pkgs+=(dbus)
command -v ip >/dev/null 2>&1 || discovery_pkgs+=(iproute2)
command -v unshare >/dev/null 2>&1 || discovery_pkgs+=(util-linux)
if ((${#discovery_pkgs[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${discovery_pkgs[@]}"
fi
echo "discovery.sh: $(avahi-daemon --version 2>&1 | head -1), $(dbus-daemon --version | head -1), $(ip -V)"

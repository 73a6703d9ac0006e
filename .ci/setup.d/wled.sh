#!/usr/bin/env bash
# wled's network-namespace tests (wled/ownaddr_test.go, through bridge/testenv.InNetworkNamespace):
# unshare (util-linux) and ip (iproute2) to change the machine's own address under a running
# output. Idempotent; .ci/run has already run `apt-get update`.
set -euo pipefail
wled_pkgs=()
command -v ip >/dev/null 2>&1 || wled_pkgs+=(iproute2)
command -v unshare >/dev/null 2>&1 || wled_pkgs+=(util-linux)
if ((${#wled_pkgs[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${wled_pkgs[@]}"
fi
echo "wled.sh: $(ip -V), $(unshare --version)"

#!/usr/bin/env bash
# The network-namespace tests (every test through bridge/testenv.InNetworkNamespace, in wled,
# bridge/peer, bridge/session, bridge/status and bridge/clientaddr): unshare (util-linux) and ip
# (iproute2, veth pairs) to change the machine's own addresses under a running output or peer. Idempotent; .ci/run has already run `apt-get update`.
set -euo pipefail
wled_pkgs=()
command -v ip >/dev/null 2>&1 || wled_pkgs+=(iproute2)
command -v unshare >/dev/null 2>&1 || wled_pkgs+=(util-linux)
if ((${#wled_pkgs[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${wled_pkgs[@]}"
fi
echo "wled.sh: $(ip -V), $(unshare --version)"

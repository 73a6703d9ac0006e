#!/usr/bin/env bash
# What every test needs besides Go: a C toolchain for `go test -race` (cgo), git for the format
# check and VCS stamping, and ca-certificates for the module proxy. Idempotent; .ci/run has
# already run `apt-get update`.
set -euo pipefail
base_pkgs=()
command -v gcc >/dev/null 2>&1 || base_pkgs+=(gcc libc6-dev)
command -v git >/dev/null 2>&1 || base_pkgs+=(git)
[ -e /etc/ssl/certs/ca-certificates.crt ] || base_pkgs+=(ca-certificates)
if ((${#base_pkgs[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${base_pkgs[@]}"
fi
echo "base.sh: $(gcc --version | head -1), $(git --version)"

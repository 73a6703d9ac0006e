#!/usr/bin/env bash
# .ci/crossarch runs the ARM builds (linux/arm/7 and arm64) of ledbridge and of a few test
# binaries under qemu-user's qemu-arm and qemu-aarch64 (user-mode emulation: no VM, no binfmt
# registration needed, the binaries are static). Idempotent; .ci/run has already run
# `apt-get update`.
set -euo pipefail
if ! command -v qemu-arm >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-user
fi
echo "crossarch.sh: $(qemu-arm --version | head -1), $(qemu-aarch64 --version | head -1)"

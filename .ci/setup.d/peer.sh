#!/usr/bin/env bash
# Headless Chromium for bridge/peer's TestChromiumMusician: a real browser musician (fake
# microphone) negotiating with the bridge over the DevTools protocol. Idempotent; .ci/run has
# already run `apt-get update`. Never downloads a browser from anywhere but the Debian archive.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
echo "peer.sh: $(chromium --version 2>/dev/null || echo 'chromium installed')"

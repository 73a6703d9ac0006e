#!/usr/bin/env bash
# Headless Chromium and the pinned playwright-core for bridge/session's TestStatusPageInChromium
# (testdata/browser). Idempotent; .ci/run has already run `apt-get update`, and peer.sh may already
# have installed chromium. playwright-core never downloads a browser: the test launches
# /usr/bin/chromium from the Debian archive.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi
# Debian 12's own nodejs is 18; supabase-js and playwright-core need 20 or newer (Debian 13 ships
# 20, NodeSource any). Say so here rather than in a failing test.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "browser.sh: node $(node --version) is too old: the browser and supabase-js tests need Node.js >= 20 (Debian 13's nodejs, or NodeSource's)" >&2
  exit 1
fi
echo "browser.sh: $(chromium --version 2>/dev/null || echo 'chromium installed'), node $(node --version)"

# npm ci installs exactly what package-lock.json pins; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps any
# install hook from fetching a browser build. A subshell keeps the caller's working directory.
(cd "$repo_root/testdata/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

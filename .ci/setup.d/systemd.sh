#!/usr/bin/env bash
# systemd-analyze, for the unit file's verify test.
set -euo pipefail
command -v systemd-analyze >/dev/null || apt-get install -y --no-install-recommends systemd

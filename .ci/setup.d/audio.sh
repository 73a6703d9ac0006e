#!/usr/bin/env bash
# bridge/audio's TestReferencesAreOpusdecOutput re-decodes the checked-in Opus fixtures with
# libopus's opusdec (Debian's opus-tools) and requires the checked-in references byte for byte.
# Nothing else in bridge/audio needs a package: the fixtures are checked in.
# Idempotent; .ci/run has already run `apt-get update`.
set -euo pipefail
if ! command -v opusdec >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends opus-tools
fi
echo "audio.sh: $(opusdec --version 2>&1 | head -1)"

#!/usr/bin/env bash
# Regenerates testdata/latency/note_bursts.opus, the processing-latency fixture, and
# music_stereo_cbr128.opus, the CPU measurement's 128 kbit/s stereo stream (see README.md).
# Needs: go, and opusenc from Debian 12's opus-tools (0.2, libopus 1.3.1):
#   apt-get install -y --no-install-recommends opus-tools
# Tests never run this: the output is checked in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go run ./testdata/latency/gen "$tmp/note_bursts.wav")
# Mono, 20 ms packets (960 samples, RTP timestamp +960 each), 48 kbit/s VBR; fixed serial so
# the file is reproducible byte for byte.
opusenc --quiet --bitrate 48 --framesize 20 --serial 1 "$tmp/note_bursts.wav" "$here/note_bursts.opus"
# The CPU figure's stream: testdata/opus's 2 s stereo music (chord, plucks, hi-hat) at exactly
# 128 kbit/s (hard CBR: 320-byte packets), 20 ms packets, CELT fullband stereo.
(cd "$root" && go run ./testdata/opus/gen "$tmp")
opusenc --quiet --hard-cbr --bitrate 128 --framesize 20 --comp 10 --serial 1 "$tmp/music_stereo.wav" "$here/music_stereo_cbr128.opus"
ls -l "$here/note_bursts.opus" "$here/music_stereo_cbr128.opus"

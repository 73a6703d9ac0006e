#!/usr/bin/env bash
# Regenerates the Opus fixtures and their libopus reference decodes in testdata/opus/.
# Needs: go, opus-tools (opusenc/opusdec 0.2, libopus 1.3.1) and ffmpeg (5.1, libopus 1.3.1)
# from Debian 12: apt-get install -y --no-install-recommends opus-tools ffmpeg
# Tests never run this: the outputs are checked in. See README.md for what each file is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT

# 1. Deterministic source audio (48 kHz WAV, 16-bit) from a Go generator.
(cd "$root" && go run ./testdata/opus/gen "$src")

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# 2. Decoder-accuracy fixtures (2 s each).
# CELT fullband stereo 128 kbit/s, 20 ms frames (opusenc; music at this rate is always CELT).
opusenc --quiet --bitrate 128 --framesize 20 --comp 10 --serial 1 \
  "$src/music_stereo.wav" "$here/celt_fb_stereo_128k.opus"
# Hybrid (SILK + CELT, super-wideband then fullband) mono 32 kbit/s with in-band FEC (LBRR).
ff -i "$src/music_mono.wav" -c:a libopus -application voip -b:a 32k -vbr off \
  -frame_duration 20 -fec 1 -packet_loss 10 -map_metadata -1 -fflags +bitexact \
  "$here/hybrid_fec_mono_32k.opus"
# SILK-only wideband mono 16 kbit/s (bandwidth capped at 8 kHz => SILK WB).
ff -i "$src/music_mono.wav" -c:a libopus -application voip -b:a 16k -cutoff 8000 \
  -frame_duration 20 -map_metadata -1 -fflags +bitexact \
  "$here/silk_wb_mono_16k.opus"

# 3. libopus reference decodes: raw 32-bit float little-endian, interleaved, 48 kHz,
#    pre-skip removed and end trimmed to the final granule position by opusdec.
for f in celt_fb_stereo_128k hybrid_fec_mono_32k silk_wb_mono_16k; do
  opusdec --quiet --float --rate 48000 "$here/$f.opus" "$here/$f.ref.f32"
done

# 4. Musical fixtures for the end-to-end test (streamed over RTP): mono 48 kHz,
#    20 ms packets, 64 kbit/s.
for f in a3_220hz c_major_chord bass_line; do
  opusenc --quiet --bitrate 64 --framesize 20 --serial 1 "$src/$f.wav" "$here/$f.opus"
done

# 5. G.722 and G.711 references (FFmpeg's decoders, used bit-exactly by bridge/audio tests).
#    g722_music.g722: 1 s of the mono music resampled to 16 kHz, FFmpeg's G.722 encoder
#    (64 kbit/s); g722_music.ref.s16: FFmpeg's decode of it, signed 16-bit LE, 16 kHz.
ff -i "$src/music_mono.wav" -t 1 -ar 16000 -c:a g722 -f g722 "$here/g722_music.g722"
ff -f g722 -i "$here/g722_music.g722" -f s16le -c:a pcm_s16le "$here/g722_music.ref.s16"
#    g711_codes.bin: the 256 byte values 0..255; *.ref.s16: FFmpeg's µ-law / A-law expansion.
for i in $(seq 0 255); do printf "\\$(printf '%03o' "$i")"; done > "$here/g711_codes.bin"
ff -f mulaw -ar 8000 -ac 1 -i "$here/g711_codes.bin" -f s16le -c:a pcm_s16le "$here/g711_ulaw.ref.s16"
ff -f alaw -ar 8000 -ac 1 -i "$here/g711_codes.bin" -f s16le -c:a pcm_s16le "$here/g711_alaw.ref.s16"

#!/usr/bin/python3
"""Synthetic training audio for ledbridge's note net, in notebench's format (WAV + ground truth).

notebench's clips are sampled instruments. The net also has to know the plainest tones, which no
soundfont plays: pure sines, bare harmonic series with any spectral slope, slightly inharmonic
struck strings, lone bass notes, chords of such tones, with noise or drum-like bursts beside them.
Each clip is one of those, with random pitches, timing, envelopes and levels; nothing here is
drawn from notebench's set B or its generator.

  /usr/bin/python3 testdata/notebench-train/gen_synth.py --set S --seed 1 --out /work/nb/set-S
"""
import argparse
import json
import os
import wave

import numpy as np

SR = 48000


def tone(rng, n, hz, amp, kind):
    t = np.arange(n) / SR
    out = np.zeros(n)
    if kind == "sine":
        partials = [(1, 1.0)]
    else:
        count = int(rng.integers(3, 16))
        slope = rng.uniform(0.4, 2.2)
        partials = []
        for h in range(1, count + 1):
            a = h ** -slope * rng.uniform(0.5, 1.5)
            if kind == "hollow" and h % 2 == 0:
                a *= 0.15
            partials.append((h, a))
        if kind == "bass":
            partials[0] = (1, partials[0][1] * rng.uniform(0.3, 1.0))
    inharm = rng.uniform(0, 4e-4) if kind == "struck" else 0.0
    for h, a in partials:
        f = hz * h * np.sqrt(1 + inharm * h * h)
        if f > 0.45 * SR:
            break
        decay = np.exp(-t * h * rng.uniform(0.5, 3.0)) if kind == "struck" else 1.0
        out += a * decay * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    out /= max(1e-9, np.max(np.abs(out)))
    return amp * out


def envelope(rng, n, sustained):
    att = int(SR * rng.uniform(0.002, 0.06 if sustained else 0.01))
    rel = int(SR * rng.uniform(0.02, 0.15))
    env = np.ones(n + rel)
    env[:att] = np.linspace(0, 1, att, endpoint=False)
    if not sustained:
        env[att:n] = np.exp(-np.arange(n - att) / SR * rng.uniform(1, 4))
    env[n:] = env[n - 1] * np.linspace(1, 0, rel)
    return env


def add_note(rng, buf, notes, start, dur, midi, amp, kind):
    n = int(dur * SR)
    sustained = kind in ("sine", "bright", "hollow", "bass")
    env = envelope(rng, n, sustained)
    hz = 440 * 2 ** ((midi - 69) / 12) * 2 ** (rng.uniform(-0.15, 0.15) / 12)
    x = tone(rng, len(env), hz, amp, kind) * env
    s = int(start * SR)
    end = min(len(buf), s + len(x))
    buf[s:end] += x[:end - s]
    notes.append({"onset": round(start, 6), "offset": round(min(start + dur, len(buf) / SR), 6), "pitch": int(midi),
                  "velocity": int(min(127, 127 * amp))})


def drums(rng, buf):
    t = 0.0
    beat = rng.uniform(0.2, 0.5)
    while t < len(buf) / SR - 0.3:
        s = int(t * SR)
        n = int(SR * 0.25)
        k = np.arange(n) / SR
        if rng.random() < 0.5:  # a kick: a falling low sine
            f = 50 + 80 * np.exp(-k * 30)
            x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-k * 12)
        else:  # a snare or hat: decaying noise
            x = rng.normal(0, 0.5, n) * np.exp(-k * rng.uniform(15, 60))
        e = min(len(buf), s + n)
        buf[s:e] += rng.uniform(0.2, 0.6) * x[:e - s]
        t += beat


def clip(rng, kind, dur):
    buf = np.zeros(int(dur * SR))
    notes = []
    timbre = lambda: rng.choice(["sine", "bright", "hollow", "struck"])
    if kind in ("line", "sine-line", "bass-line"):
        t = rng.uniform(0, 0.4)
        lo, hi = (28, 52) if kind == "bass-line" else (45, 96)
        k = "sine" if kind == "sine-line" else ("bass" if kind == "bass-line" else timbre())
        while t < dur - 0.3:
            d = rng.uniform(0.12, 1.0)
            add_note(rng, buf, notes, t, min(d, dur - t - 0.05), int(rng.integers(lo, hi)), rng.uniform(0.1, 0.8), k)
            t += d + (rng.uniform(0, 0.3) if rng.random() < 0.5 else 0)
    else:  # chords, optionally over a bass line
        t = rng.uniform(0, 0.3)
        k = timbre()
        while t < dur - 0.4:
            d = rng.uniform(0.25, 1.5)
            root = int(rng.integers(45, 76))
            size = int(rng.integers(2, 5))
            pitches = sorted(set([root] + [root + int(x) for x in rng.choice([3, 4, 5, 7, 9, 10, 12, 14, 16], size - 1, replace=False)]))
            for p in pitches:
                add_note(rng, buf, notes, t + rng.uniform(0, 0.02), min(d, dur - t - 0.1), p, rng.uniform(0.15, 0.6), k)
            if kind == "chords-bass":
                add_note(rng, buf, notes, t, min(d, dur - t - 0.1), root - 12 * int(rng.integers(1, 3)), rng.uniform(0.3, 0.7), "bass")
            t += d
    if rng.random() < 0.3:
        drums(rng, buf)
    if rng.random() < 0.3:
        noise = rng.normal(0, 1, len(buf))
        snr = rng.uniform(12, 30)
        buf += noise * np.sqrt(np.mean(buf ** 2) / 10 ** (snr / 10))
    peak = np.max(np.abs(buf))
    if peak > 0:
        buf *= 10 ** (-3 / 20) / peak
    return buf, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--clips", type=int, default=40)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    kinds = ["line", "sine-line", "bass-line", "chords", "chords-bass"]
    for i in range(args.clips):
        kind = kinds[i % len(kinds)]
        dur = float(rng.uniform(6, 12))
        buf, notes = clip(rng, kind, dur)
        cid = "%s%02d_synth_%s" % (args.set, i + 1, kind)
        with wave.open(os.path.join(args.out, cid + ".wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SR)
            w.writeframes((np.clip(buf, -1, 1) * 32767).astype("<i2").tobytes())
        json.dump({"id": cid, "duration": len(buf) / SR, "notes": sorted(notes, key=lambda n: n["onset"])},
                  open(os.path.join(args.out, cid + ".json"), "w"))
    print("set %s: %d clips" % (args.set, args.clips))


if __name__ == "__main__":
    main()

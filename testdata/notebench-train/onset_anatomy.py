#!/usr/bin/python3
"""Where a detector's onset errors come from, against notebench's ground truth.

    NOTEBENCH=../shared/notebench /usr/bin/python3 onset_anatomy.py --gt set-B --det OUT

OUT holds one `ledbridge analyze` output per clip (as .ci/notebench writes them). Every detected
onset (a note absent in the previous frame, or flagged as re-attacked) is put in the first class
that fits: near a ground-truth onset of the same note (within the scorer's 50 ms; one-to-one
matching is not enforced here, so this counts hits and doubles), 50-150 ms late, inside a sounding
ground-truth note of that pitch (a flicker or a wrong re-attack flag), the right pitch class in
another octave, a harmonic interval (7, 19, 24, 28, 31 semitones) or a semitone from a sounding
note, another pitch while something sounds, or nothing sounding. Every missed ground-truth onset is
put in: the note already reported in the frame before (a re-attack that needed a flag), reported
50-150 ms late, reported only later, or never within 0.5 s. The latency histogram counts, for each
onset the scorer times, the frames between the first frame at or after the onset and the first
frame that reports the note.
"""
import argparse
import json
import math
import os
import sys
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("NOTEBENCH", os.path.join(here, "..", "..", "..", "shared", "notebench")))
import score as S  # noqa: E402

FPS, TOL = 60.0, 0.05
HARMONIC = (7, 19, 24, 28, 31)


def detected_class(t, p, go, g):
    k = int(round(t * FPS))
    gts = [o for o, _ in go.get(p, [])]
    if any(abs(t - o) <= TOL + 1e-9 for o in gts):
        return "near a true onset"
    if any(0 < t - o <= 0.15 for o in gts):
        return "50-150 ms late"
    if p in g[k]:
        return "inside a sounding note (flicker or re-flag)"
    if any(q % 12 == p % 12 for q in g[k]):
        return "octave of a sounding note"
    if any(abs(q - p) in HARMONIC for q in g[k]):
        return "harmonic of a sounding note"
    if any(abs(q - p) == 1 for q in g[k]):
        return "semitone from a sounding note"
    if g[k]:
        return "other pitch while notes sound"
    return "nothing sounding"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--det", required=True)
    args = ap.parse_args()
    det, missed, lat = Counter(), Counter(), Counter()
    reflags = 0
    for f in sorted(os.listdir(args.gt)):
        if not f.endswith(".json") or f == "manifest.json":
            continue
        gt = json.load(open(os.path.join(args.gt, f)))
        if "notes" not in gt:
            continue
        n = int(math.ceil(gt["duration"] * FPS - 1e-9))
        g = S.gt_frames(gt["notes"], n, FPS)
        d, d_on, _ = S.load_det(os.path.join(args.det, gt["id"] + ".jsonl"), n, FPS)
        go, do = S.gt_onsets(gt["notes"]), S.det_onsets(d, d_on, FPS)
        for p, ts in do.items():
            for t in ts:
                k = int(round(t * FPS))
                det[detected_class(t, p, go, g)] += 1
                reflags += k > 0 and p in d[k - 1]
        for p, lst in go.items():
            dts = do.get(p, [])
            for on, off in lst:
                k0 = max(0, math.ceil((on - TOL) * FPS - 1e-9))
                kf = math.ceil(on * FPS - 1e-9)
                if k0 > 0 and p in d[k0 - 1]:
                    if not any(abs(t - on) <= TOL + 1e-9 for t in dts):
                        missed["already reported the frame before"] += 1
                    continue
                k1 = min(n, math.ceil(max(off, on + 0.1) * FPS - 1e-9))
                hit = next((k for k in range(k0, k1) if p in d[k]), None)
                lat["never" if hit is None else "%+d" % min(hit - kf, 6)] += 1
                if any(abs(t - on) <= TOL + 1e-9 for t in dts):
                    continue
                if any(on + TOL < t <= on + 0.15 for t in dts):
                    missed["reported 50-150 ms late"] += 1
                elif any(p in d[k] for k in range(kf, min(n, kf + 30))):
                    missed["reported later"] += 1
                else:
                    missed["never within 0.5 s"] += 1
    total = sum(det.values())
    print("detected onsets: %d (%d of them re-attack flags on a note already reported)" % (total, reflags))
    for k, v in det.most_common():
        print("  %5d  %4.1f %%  %s" % (v, 100 * v / total, k))
    print("missed onsets: %d" % sum(missed.values()))
    for k, v in missed.most_common():
        print("  %5d  %s" % (v, k))
    print("frames from the first frame at or after the onset to the first that reports it (+6: 6 or more):")
    print("  " + "  ".join("%s: %d" % (k, lat[k]) for k in sorted(lat, key=lambda s: (s == "never", int(s) if s != "never" else 0))))


if __name__ == "__main__":
    main()

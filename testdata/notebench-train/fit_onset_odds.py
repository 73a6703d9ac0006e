#!/usr/bin/python3
"""Fit the onset odds of analysis/onsetodds.go on a training set's event dump.

  1. Generate a held-out set:  /usr/bin/python3 testdata/notebench-train/gen_heldout.py --set T --out /work/nb/set-T
  2. Dump its events with the odds off (the stream the weights are fitted on):
       go test -tags onsetdump -run TestDumpOnsetEvents -count=1 ./analysis/ \\
           -args -corpus /work/nb/set-T -out /tmp/onset-events/set-T
  3. Fit, and print the weights as Go constants:
       /usr/bin/python3 testdata/notebench-train/fit_onset_odds.py --corpus /work/nb/set-T --events /tmp/onset-events/set-T \\
           [--check /work/nb/set-B=/tmp/onset-events/set-B ...]

Each event (a birth, or a re-attack flag the partial-rise rule let through) is labelled right when
the ground truth has an onset of the same MIDI note within ±50 ms of the frame (notebench's onset
tolerance; frames at round(t*60)/60 as score.py places them). The model is a logistic regression
with a small L2 penalty on standardised features (Newton's method, numpy only), turned back into
weights on the raw features. --check prints the ranking quality (AUC) on other sets' dumps; the
onset F1 itself comes from running .ci/notebench with the new constants.
"""
import argparse
import json
import os

import numpy as np

TOL = 0.05
FPS = 60.0
BIRTH = ["LnFlux", "Quiet", "BelowC3", "FromC5", "LnRelMax", "LonePartial", "PerNoteOn", "LnFastMid"]
REATTACK = ["LnFlux", "LnNoteRise", "LnSpecRise", "LnAge", "BelowC3", "FromC5"]


def load(corpus, events):
    """Returns {0: (X, y), 1: (X, y)} for births (0) and re-attack flags (1)."""
    clips = [c["id"] for c in json.load(open(os.path.join(corpus, "manifest.json")))["clips"]]
    rows = {0: ([], []), 1: ([], [])}
    for cid in clips:
        gt = json.load(open(os.path.join(corpus, cid + ".json")))
        onsets = {}
        for n in gt["notes"]:
            onsets.setdefault(n["pitch"], []).append(n["onset"])
        for line in open(os.path.join(events, cid + ".csv")):
            v = line.strip().split(",")
            kind, t, midi = int(v[0]), float(v[1]), int(v[2])
            x = [float(s) for s in v[4:]]
            tf = round(t * FPS) / FPS
            right = any(abs(o - tf) <= TOL + 1e-9 for o in onsets.get(midi, ()))
            rows[kind][0].append(x)
            rows[kind][1].append(float(right))
    return {k: (np.array(x), np.array(y)) for k, (x, y) in rows.items()}


def fit(X, y, l2=1.0):
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    pen = np.r_[np.ones(len(w) - 1), 0.0] * l2
    for _ in range(100):
        p = 1 / (1 + np.exp(-Z @ w))
        g = Z.T @ (p - y) + pen * w
        H = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(pen)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1] / sd, w[-1] - (w[:-1] * mu / sd).sum()


def auc(score, y):
    order = np.argsort(score)
    rank = np.empty(len(score))
    rank[order] = np.arange(len(score))
    n1 = y.sum()
    n0 = len(y) - n1
    return (rank[y == 1].sum() - n1 * (n1 - 1) / 2) / (n1 * n0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--check", nargs="*", default=[], help="CORPUS=EVENTS pairs to report AUC on")
    args = ap.parse_args()
    train = load(args.corpus, args.events)
    checks = [(c, load(*c.split("=", 1))) for c in args.check]
    for kind, prefix, names in ((1, "reattackOdds", REATTACK), (0, "birthOdds", BIRTH)):
        X, y = train[kind]
        w, b = fit(X, y)
        print("// %s: %d events, %d right (%.1f %%); AUC %.3f on the training set" % (
            prefix, len(y), y.sum(), 100 * y.mean(), auc(X @ w + b, y)))
        for c, d in checks:
            Xc, yc = d[kind]
            print("//   AUC %.3f on %s (%d events, %.1f %% right)" % (auc(Xc @ w + b, yc), c.split("=")[0], len(yc), 100 * yc.mean()))
        print("%sBias = %.4f" % (prefix, b))
        for n, v in zip(names, w):
            print("%s%s = %.4f" % (prefix, n, v))


if __name__ == "__main__":
    main()

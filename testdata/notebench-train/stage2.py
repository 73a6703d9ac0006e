#!/usr/bin/python3
"""Train the note net's second stage (analysis/notenet_stage2.go) on the first stage's outputs.

The first stage (notenet.py) judges each pitch from its own spectra. The second stage reads the
first stage's two logits (sounding, starting) for the pitch over the last ticks and for its related
pitches (±1, ±5, ±7, ±12, ±19, ±24 semitones) now, and the frame's
two largest starting logits, and makes the final call. This script builds those inputs from the
same dumps exactly as notenet_stage2.go does, trains a small MLP, tunes the decoder's thresholds
on the second stage's outputs, scores the sets, and writes analysis/notenet_weights.go with both
stages (the first stage's weights unchanged).

  /usr/bin/python3 testdata/notebench-train/stage2.py --dumps /tmp/nn --corpora /work/nb \\
      --stage1 /tmp/nn-m7.npz --train T U W X Y C D E F G H S R Q --tune T U --check V B \\
      --seed 3 --save /tmp/nn-s2.npz [--write analysis/notenet_weights.go]    # seed 3: the shipped weights
"""
import argparse
import json
import os

import numpy as np

import notenet as N

LOW, HIGH = -8.0, 12.0  # the first stage's logits are clipped to this; LOW where it did not judge
OFFSETS = [-24, -19, -12, -7, -5, -1, 1, 5, 7, 12, 19, 24]
AGO = 8  # ticks of history
SCALE = 0.25


def load_stage1(path, cut_scale):
    z = np.load(path)
    rng = np.random.default_rng(0)
    nl = len([k for k in z.files if k.startswith("W")])
    net = N.MLP(1, [1] * (nl - 1), 1, rng)
    net.W = [z["W%d" % i] for i in range(nl)]
    net.b = [z["b%d" % i] for i in range(nl)]
    net.screen = N.MLP(1, [], 1, rng)
    net.screen.W, net.screen.b, net.cut = [z["sW"]], [z["sb"]], float(z["cut"]) * cut_scale
    return net


def stage1(net, rec):
    """The first stage's clipped logits, (frames, NP, 2), LOW where it did not judge; and which it judged."""
    X, gate = N.features(rec)
    sel = gate.copy()
    sel[gate] = net.screen.predict(X[gate])[:, 0] >= net.cut
    Z = np.full((len(rec), N.NP, 2), LOW, np.float32)
    Z[sel] = np.clip(net.forward(X[sel])[-1], LOW, HIGH)
    return Z, sel


def features(Z):
    """The second stage's inputs, (frames, NP, F), in notenet_stage2.go's order."""
    n = len(Z)

    def ago(d):
        return np.concatenate([np.full((d,) + Z.shape[1:], LOW, np.float32), Z[:-d]])
    b = [None] + [ago(d) for d in range(1, AGO + 1)]
    # (tick 2's pair is starting, then sounding, unlike the others: the order the weights were
    # trained with; notenet_stage2.go follows it)
    cols = [Z[..., 0], Z[..., 1], b[1][..., 0], b[1][..., 1], b[2][..., 1],
            b[2][..., 0], b[3][..., 0], b[3][..., 1], b[4][..., 0], b[4][..., 1]]
    cols.append(np.max(np.stack([b[d][..., 0] for d in range(1, AGO + 1)]), axis=0))  # loudest lately
    w = max(abs(d) for d in OFFSETS)
    pad = np.full((n, N.NP + 2 * w, 2), LOW, np.float32)
    pad[:, w:w + N.NP] = Z
    for d in OFFSETS:
        cols += [pad[:, w + d:w + d + N.NP, 0], pad[:, w + d:w + d + N.NP, 1]]
    top = np.sort(Z[..., 1], axis=1)
    cols.append(np.repeat(top[:, -1:], N.NP, 1))
    cols.append(np.repeat(top[:, -2:-1], N.NP, 1))
    return (np.stack(cols, -1) * SCALE).astype(np.float32)


def write_go(path, net1, net2, th, note):
    N.write_go(path, net1, th, note, generator="testdata/notebench-train/stage2.py (and notenet.py)")
    with open(path, "a") as f:
        f.write("\n// The second stage (notenet_stage2.go), trained by testdata/notebench-train/stage2.py.\n")
        f.write("const (\n\ts2H1 = %d\n\ts2H2 = %d\n)\n\n" % (net2.W[0].shape[1], net2.W[1].shape[1]))
        N.go_mlp(f, "s2", net2.W, net2.b, "s2In")


def golden(net1, net2, dump, out):
    """The final logits for analysis/notenet_test.go's parity test."""
    Z, sel = stage1(net1, N.load(dump))
    z = np.zeros((len(Z), N.NP, 2), np.float32)
    z[sel] = net2.forward(features(Z)[sel])[-1]
    N.write_golden(z, sel, out, "per frame: [pitch index (MIDI - 28), logit sounding, logit starting] for each pitch "
                   "past the gate and screen, after the second stage")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dumps", required=True)
    ap.add_argument("--corpora", required=True)
    ap.add_argument("--stage1", required=True, help="the first stage's .npz (notenet.py --save)")
    ap.add_argument("--cut-scale", type=float, default=8.0, help="the first stage's screen cut, times this (as shipped)")
    ap.add_argument("--train", nargs="+", default=["T", "U", "W", "X", "Y", "C", "D", "E", "F", "G", "H", "S", "R", "Q"])
    ap.add_argument("--tune", nargs="+", default=["T", "U"])
    ap.add_argument("--check", nargs="+", default=["V", "B"])
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 16])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--onset-weight", type=float, default=3.0, help="as notenet.py's")
    ap.add_argument("--hard-weight", type=float, default=2.0, help="as notenet.py's")
    ap.add_argument("--save", default="/tmp/notenet-stage2.npz")
    ap.add_argument("--load", default="")
    ap.add_argument("--write", default="")
    ap.add_argument("--golden", nargs=2, metavar=("DUMP", "OUT"), help="write the parity test's logits and stop")
    ap.add_argument("--set-th", default="", help="JSON: thresholds to fix after tuning (e.g. {\"onset\": 0.5})")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    net1 = load_stage1(args.stage1, args.cut_scale)

    def clips(s):
        d = os.path.join(args.dumps, "set-" + s)
        for fn in sorted(os.listdir(d)):
            cid = fn[:-4]
            gt = json.load(open(os.path.join(args.corpora, "set-" + s, cid + ".json")))
            rec = N.load(os.path.join(d, fn))
            Z, sel = stage1(net1, rec)
            o = N.HEAD + N.NWIN * N.NSEMI
            yield cid, gt, rec[:, 0].copy(), Z, sel, rec[:, 4:5].copy(), rec[:, o + 5 * N.NP:o + 6 * N.NP] > 0

    if args.load:
        z = np.load(args.load)
        net2 = N.MLP(1, [1, 1], 1, rng)
        net2.W = [z["W%d" % i] for i in range(3)]
        net2.b = [z["b%d" % i] for i in range(3)]
    else:
        Xs, Ys, Ws = [], [], []
        for s in args.train:
            for cid, gt, times, Z, sel, onset, _ in clips(s):
                act, care, ons = N.labels(gt, times)
                Xs.append(features(Z)[sel])
                Ys.append(np.stack([act[sel], ons[sel]], -1))
                hard = 1 + args.hard_weight * onset * (1 - ons)  # as notenet.py weighs them
                Ws.append(np.stack([care[sel], (1 + (args.onset_weight - 1) * ons[sel]) * hard[sel]], -1))
        X, Y, Wt = np.concatenate(Xs), np.concatenate(Ys), np.concatenate(Ws).astype(np.float32)
        del Xs, Ys, Ws
        print("stage 2: %d examples, %d inputs" % X.shape, flush=True)
        net2 = N.MLP(X.shape[1], args.hidden, 2, rng)
        N.train(net2, X, Y, Wt, 4, 2e-3, rng)
        N.train(net2, X, Y, Wt, 1, 5e-4, rng)
        del X, Y, Wt
        np.savez(args.save, **{"W%d" % i: w for i, w in enumerate(net2.W)}, **{"b%d" % i: b for i, b in enumerate(net2.b)})
    if args.golden:
        golden(net1, net2, *args.golden)
        return

    def items(s):
        res = []
        for cid, gt, times, Z, sel, _, flag in clips(s):
            P = np.zeros(Z.shape, np.float32)
            P[sel] = net2.predict(features(Z)[sel])
            res.append((cid, gt, times, P, flag))
        return res
    tune = [items(s) for s in args.tune]
    th = {"onset": 0.5, "birth": 0.9, "off": 0.3, "hold": 2, "reflag": 4, "rel": 0.0, "reonset": 0.4, "assist": 0.7, "nms": 1}
    if args.load and os.path.exists(args.load + ".th.json"):
        th.update(json.load(open(args.load + ".th.json")))
    else:
        grid = {"onset": [0.3, 0.4, 0.5, 0.6, 0.7], "birth": [0.7, 0.8, 0.9, 0.97], "off": [0.15, 0.2, 0.3, 0.4],
                "hold": [1, 2, 3], "reflag": [3, 4, 6], "reonset": [0.3, 0.4, 0.5, 0.6, 0.7], "assist": [0.5, 0.7, 1.01]}
        best = N.objective(th, tune)
        for _ in range(2):
            for k, vals in grid.items():
                for v in vals:
                    t2 = dict(th)
                    t2[k] = v
                    o = N.objective(t2, tune)
                    if o > best:
                        best, th = o, t2
        print("tuned objective %.4f" % best, th, flush=True)
    th.update(json.loads(args.set_th or "{}"))
    print("thresholds", th, "objective %.4f" % N.objective(th, tune), flush=True)
    json.dump(th, open((args.load or args.save) + ".th.json", "w"))
    for s, its in list(zip(args.tune, tune)) + [(s, items(s)) for s in args.check]:
        r = N.fast_score(its, th)
        print("set %s fast: note F1 %.1f onset P %.1f R %.1f F1 %.1f" % (
            s, 100 * r["note_f1"], 100 * r["onset_p"], 100 * r["onset_r"], 100 * r["onset_f1"]), flush=True)
    if args.write:
        write_go(args.write, net1, net2, th, "Trained on sets %s (%d), thresholds tuned on %s after the second stage "
                 '(see docs/benchmarks/analysis.md, "Note net").' % (" ".join(args.train), len(args.train), " ".join(args.tune)))


if __name__ == "__main__":
    main()

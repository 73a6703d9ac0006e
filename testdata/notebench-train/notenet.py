#!/usr/bin/python3
"""Train ledbridge's note net (analysis/notenet.go) on dumps of held-out notebench sets.

The analyser's build-tagged dump (analysis/notenet_dump_test.go) writes one float32 record per
60 fps frame; this script builds the net's per-pitch features from it exactly as notenet.go does,
labels them from the ground truth, trains a small MLP with numpy (Adam), picks the decoding
thresholds on the training sets, simulates the decoder, scores every set with notebench's
score.py, and writes analysis/notenet_weights.go.

  /usr/bin/python3 testdata/notebench-train/notenet.py --dumps /tmp/nn --corpora /work/nb \\
      --train T U W X Y --check V B [--write analysis/notenet_weights.go]
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
notebench = os.environ.get("NOTEBENCH", os.path.join(here, "..", "..", "..", "shared", "notebench"))
sys.path.insert(0, os.path.abspath(notebench))
import score  # noqa: E402

FPS = 60
LO, HI = 28, 108
NP = HI - LO + 1
SEMI_LO = LO - 19
NSEMI = HI + 37 - SEMI_LO
NWIN = 4
HEAD = 7
REC = HEAD + NWIN * NSEMI + 6 * NP
SHIFTS = [-19, -12, 0, 12, 19, 24, 28]
DELTA_WINS = [0, 1, 2]
DELTA_SHIFTS = [-12, 0, 12, 19]
FLOOR_MAG = 1e-6
REL_LO, REL_HI = -10.0, 3.0
ABS_GATE = math.log(1e-3)
GATE = -3.5  # a pitch is judged when a window has its fundamental within this (ln) of the loudness


def load(path):
    a = np.fromfile(path, dtype="<f4")
    return a.reshape(-1, REC)


def features(rec):
    """Per-pitch features, shape (frames, NP, NF), and the gate, shape (frames, NP)."""
    n = rec.shape[0]
    flux, level, loud, onset, since, attack = rec[:, 1], rec[:, 2], rec[:, 3], rec[:, 4], rec[:, 5], rec[:, 6]
    spec = rec[:, HEAD:HEAD + NWIN * NSEMI].reshape(n, NWIN, NSEMI)
    o = HEAD + NWIN * NSEMI
    dets = rec[:, o:o + 3 * NP].reshape(n, 3, NP)
    on = rec[:, o + 3 * NP:o + 4 * NP]
    age = rec[:, o + 4 * NP:o + 5 * NP]
    flag = rec[:, o + 5 * NP:o + 6 * NP]
    loudL = np.log(loud + FLOOR_MAG)[:, None, None]
    rel = np.clip(spec - loudL, REL_LO, REL_HI)
    def back(x, d):
        return np.concatenate([np.repeat(x[:1], d, axis=0), x[:-d]], axis=0)
    delta = np.clip(spec - back(spec, 1), -5, 5)
    delta2 = np.clip(spec - back(spec, 2), -5, 5)
    delta3 = np.clip(spec - back(spec, 3), -5, 5)
    base = np.arange(NP) + (LO - SEMI_LO)
    cols = []  # per pitch, in the order notenet.go builds them
    for w in range(NWIN):
        for s in SHIFTS:
            cols.append(rel[:, w, base + s])
    for w in DELTA_WINS:
        for s in DELTA_SHIFTS:
            cols.append(delta[:, w, base + s])
    for w in (0, 1):
        for s in DELTA_SHIFTS:
            cols.append(delta2[:, w, base + s])
    for s in DELTA_SHIFTS:
        cols.append(delta3[:, 2, base + s])
    for d in range(3):
        cols.append(np.clip(np.log(dets[:, d, :] + FLOOR_MAG) - loudL[:, :, 0], REL_LO, REL_HI))
    cols.append(on)
    cols.append(flag)
    cols.append(np.log1p(age) / 3)
    # this pitch against the strongest pitch of the frame: at an onset every sounding pitch's
    # partials rise a little, the new note's most
    for w in (0, 1):
        d0 = delta[:, w, base]
        cols.append(d0 - d0.max(axis=1, keepdims=True))
        d2 = delta2[:, w, base]
        cols.append(d2 - d2.max(axis=1, keepdims=True))
    for w in (1, 2, 3):
        r0 = rel[:, w, base]
        cols.append(r0 - r0.max(axis=1, keepdims=True))
    g = np.ones((n, NP), dtype=np.float32)
    cols.append(g * ((np.arange(NP) + LO - 60) / 24.0)[None, :])
    # the frame's values, the same for every pitch
    att = np.where(attack > 0, np.clip(np.log(attack + FLOOR_MAG) - np.log(loud + FLOOR_MAG), REL_LO, REL_HI) / 3 + 1, 0)
    glob = [np.log(flux + 1e-4) / 3, onset, np.minimum(since, 10) / 10,
            np.clip(np.log(level + FLOOR_MAG) - np.log(loud + FLOOR_MAG), REL_LO, REL_HI) / 3, att]
    # how much the whole spectrum rose, so that a pitch's own rise can be told from everyone's
    for w in (0, 1, 2):
        glob.append(np.maximum(delta[:, w, :], 0).mean(axis=1))
    for v in glob:
        cols.append(g * v[:, None])
    X = np.stack(cols, axis=-1).astype(np.float32)
    fund = np.max(rel[:, 1:4, base], axis=1)  # fast, mid, long at the fundamental
    # ... and it must reach the quietest reportable note (MinNoteDB, -60 dBFS) in absolute terms:
    # in silence the loudness reference falls with the signal and everything is "loud"
    fund_abs = np.max(spec[:, 1:4, base], axis=1)
    gate = ((fund > GATE) & (fund_abs > ABS_GATE)) | (on > 0)
    return X, gate


def labels(gt, times):
    """active (frames, NP), care (frames, NP: 0 in release tails), onset (frames, NP)."""
    n = len(times)
    act = np.zeros((n, NP), np.float32)
    care = np.ones((n, NP), np.float32)
    ons = np.zeros((n, NP), np.float32)
    t = np.round(times * FPS) / FPS  # the scorer's frame of each record
    for nt in gt["notes"]:
        p = nt["pitch"] - LO
        if p < 0 or p >= NP:
            continue
        a, b = nt["onset"], nt["offset"]
        act[(t >= a) & (t < b), p] = 1
        care[(t >= b) & (t < b + score.RELEASE_GRACE_S) & (act[:, p] == 0), p] = 0
        ons[(t >= a - 0.004) & (t < a + 0.05), p] = 1
    care[act > 0] = 1
    return act, care, ons


class MLP:
    def __init__(self, nin, hidden, nout, rng):
        sizes = [nin] + hidden + [nout]
        self.W = [rng.normal(0, math.sqrt(2 / a), (a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
        self.b = [np.zeros(b, np.float32) for b in sizes[1:]]

    def forward(self, X):
        hs = [X]
        h = X
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            h = h @ W + b
            if i < len(self.W) - 1:
                h = np.maximum(h, 0)
            hs.append(h)
        return hs

    def predict(self, X):
        z = self.forward(X)[-1]
        return 1 / (1 + np.exp(-z))


def train(net, X, Y, Wt, epochs, lr, rng, batch=2048, l2=1e-5):
    params = net.W + net.b
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    n = len(X)
    for ep in range(epochs):
        perm = rng.permutation(n)
        tot = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            x, y, wt = X[idx], Y[idx], Wt[idx]
            hs = net.forward(x)
            z = hs[-1]
            p = 1 / (1 + np.exp(-z))
            tot += float(np.sum(wt * (np.logaddexp(0, z) - y * z)))
            g = wt * (p - y) / len(idx)
            grads_W, grads_b = [], []
            for li in range(len(net.W) - 1, -1, -1):
                grads_W.append(hs[li].T @ g + l2 * net.W[li])
                grads_b.append(g.sum(0))
                if li > 0:
                    g = (g @ net.W[li].T) * (hs[li] > 0)
            grads = grads_W[::-1] + grads_b[::-1]
            step += 1
            for j, (pp, gg) in enumerate(zip(params, grads)):
                m[j] = 0.9 * m[j] + 0.1 * gg
                v[j] = 0.999 * v[j] + 0.001 * gg * gg
                mh = m[j] / (1 - 0.9 ** step)
                vh = v[j] / (1 - 0.999 ** step)
                pp -= lr * mh / (np.sqrt(vh) + 1e-8)
        print("  epoch %d loss %.4f" % (ep, tot / n), flush=True)


def decode(pa, po, th, oldflag):
    """The decoder notenet.go runs: per frame, (sounding, onset) boolean arrays over the pitches."""
    n = pa.shape[0]
    on = np.zeros(NP, bool)
    low = np.zeros(NP, int)
    since = np.full(NP, 99)
    prev_po = np.zeros(NP)
    S = np.zeros((n, NP), bool)
    O = np.zeros((n, NP), bool)
    for k in range(n):
        a, o = pa[k], po[k]
        since += 1
        fire = (o >= th["onset"]) & (prev_po < th["onset"])
        born = ~on & (fire | (a >= th["birth"]) | (oldflag[k] & (a >= th["assist"])))
        if th.get("nms"):
            # a birth beside a more likely sounding neighbour (one semitone away) is the
            # neighbour's smear in the coarse windows, not a note
            left = np.concatenate([[-1.0], a[:-1]])
            right = np.concatenate([a[1:], [-1.0]])
            nb_on = np.concatenate([[False], on[:-1]]) | np.concatenate([on[1:], [False]])
            born &= ~(((left > a) | (right > a)) & (nb_on | np.concatenate([[False], born[:-1]]) | np.concatenate([born[1:], [False]])))
        weak = on & (a < th["off"])
        low = np.where(weak, low + 1, 0)
        dies = on & (low > th["hold"])
        refire = (o >= th["reonset"]) & (prev_po < th["reonset"])
        flag = on & ~dies & refire & (since >= th["reflag"])
        on = (on & ~dies) | born
        low[born] = 0
        since[born | flag] = 0
        S[k], O[k] = on, born | flag
        prev_po = o
    return S, O


def write_det(times, S, O, path):
    with open(path, "w") as f:
        for t, s, o in zip(times, S, O):
            ps = np.nonzero(s)[0]
            f.write(json.dumps({"t": round(float(t), 6), "notes": [{"midi": int(p + LO), "onset": bool(o[p])} for p in ps]}) + "\n")


def run_score(corpus, detdir):
    res = {}
    tot = score.defaultdict(float) if hasattr(score, "defaultdict") else None
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(notebench, "score.py"), "--gt", corpus, "--det", detdir,
                          "--json", os.path.join(detdir, "score.json")], capture_output=True, text=True, check=True)
    return out.stdout, json.load(open(os.path.join(detdir, "score.json")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dumps", required=True)
    ap.add_argument("--corpora", required=True)
    ap.add_argument("--train", nargs="+", default=["T"])
    ap.add_argument("--check", nargs="+", default=["V", "B"])
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 32])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--onset-weight", type=float, default=3.0)
    ap.add_argument("--save", default="/tmp/notenet-model.npz")
    ap.add_argument("--load", default="")
    ap.add_argument("--write", default="")
    ap.add_argument("--tune", nargs="+", default=None)
    ap.add_argument("--no-tune", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--screen-miss", type=float, default=0.02)
    ap.add_argument("--hard-weight", type=float, default=2.0)
    ap.add_argument("--cut-scale", type=float, default=1.0)
    ap.add_argument("--golden", nargs=2, metavar=("DUMP", "OUT"), help="write the logits for the parity test and stop")
    ap.add_argument("--nms", type=int, default=-1, help="0 turns off the neighbour check (notenet.go always runs it)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)

    def clips(s):
        d = os.path.join(args.dumps, "set-" + s)
        for fn in sorted(os.listdir(d)):
            cid = fn[:-4]
            gt = json.load(open(os.path.join(args.corpora, "set-" + s, cid + ".json")))
            yield cid, gt, load(os.path.join(d, fn))

    net = None
    if args.load:
        z = np.load(args.load)
        nl = len([k for k in z.files if k.startswith("W")])
        net = MLP(1, [1] * (nl - 1), 1, rng)
        net.W = [z["W%d" % i] for i in range(nl)]
        net.b = [z["b%d" % i] for i in range(nl)]
        net.screen = MLP(1, [], 1, rng)
        net.screen.W, net.screen.b, net.cut = [z["sW"]], [z["sb"]], float(z["cut"]) * args.cut_scale
    else:
        Xs, Ys, Ws = [], [], []
        cover = [0, 0]
        for s in args.train:
            for cid, gt, rec in clips(s):
                X, gate = features(rec)
                act, care, ons = labels(gt, rec[:, 0])
                cover[0] += int((act * gate).sum())
                cover[1] += int(act.sum())
                sel = gate
                Xs.append(X[sel])
                Ys.append(np.stack([act[sel], ons[sel]], -1))
                # negatives at onset frames are the hard ones: the pitches that sound on while another starts
                hard = 1 + args.hard_weight * rec[:, 4:5] * (1 - ons)
                Ws.append(np.stack([care[sel], (1 + (args.onset_weight - 1) * ons[sel]) * hard[sel]], -1))
        X = np.concatenate(Xs)
        Y = np.concatenate(Ys)
        Wt = np.concatenate(Ws).astype(np.float32)
        # the screen: a linear model that passes on only the pitches worth the net's time
        anyp = np.maximum(Y[:, 0], Y[:, 1])[:, None]
        screen = MLP(X.shape[1], [], 1, rng)
        print("screen:", flush=True)
        train(screen, X, anyp, 1 + 9 * anyp, 3, 3e-3, rng)
        ps = screen.predict(X)[:, 0]
        cut = float(min(np.quantile(ps[Y[:, 0] > 0], args.screen_miss), np.quantile(ps[Y[:, 1] > 0], args.screen_miss)))
        keep = ps >= cut
        print("screen cut %.4f passes %.1f %% of gated pitch-frames, %.2f %% of active, %.2f %% of onset" % (
            cut, 100 * keep.mean(), 100 * keep[Y[:, 0] > 0].mean(), 100 * keep[Y[:, 1] > 0].mean()), flush=True)
        X, Y, Wt = X[keep], Y[keep], Wt[keep]
        print("training examples %d (features %d); active frames inside the gate %.1f %%; positives %.1f %% active, %.2f %% onset"
              % (len(X), X.shape[1], 100 * cover[0] / max(1, cover[1]), 100 * Y[:, 0].mean(), 100 * Y[:, 1].mean()), flush=True)
        net = MLP(X.shape[1], args.hidden, 2, rng)
        train(net, X, Y, Wt, args.epochs, 2e-3, rng)
        train(net, X, Y, Wt, 2, 5e-4, rng)
        net.screen, net.cut = screen, cut
        np.savez(args.save, **{"W%d" % i: w for i, w in enumerate(net.W)}, **{"b%d" % i: b for i, b in enumerate(net.b)},
                 sW=screen.W[0], sb=screen.b[0], cut=cut)

    if args.golden:
        golden(net, args.golden[0], args.golden[1])
        return
    cache = {}
    stats = [0, 0, 0]

    def preds(sname):
        if sname not in cache:
            items = []
            for cid, gt, rec in clips(sname):
                X, gate = features(rec)
                P = np.zeros((len(rec), NP, 2), np.float32)
                sel = gate.copy()
                sel[gate] = net.screen.predict(X[gate])[:, 0] >= net.cut
                stats[0] += sel.sum()
                stats[1] += gate.sum()
                stats[2] += sel.size
                P[sel] = net.predict(X[sel])
                o = HEAD + NWIN * NSEMI
                items.append((cid, gt, rec[:, 0].copy(), P, rec[:, o + 5 * NP:o + 6 * NP] > 0))
            cache[sname] = items
        return cache[sname]

    th = {"onset": 0.5, "birth": 0.8, "off": 0.3, "hold": 2, "reflag": 6, "rel": 0.0, "reonset": 0.5, "assist": 1.01, "nms": 1}
    if args.load and os.path.exists(args.load + ".th.json"):
        th.update(json.load(open(args.load + ".th.json")))
    if args.nms >= 0:
        th["nms"] = args.nms
    tune = args.tune or args.train[:2]
    if not args.no_tune:
        grid = {"onset": [0.3, 0.4, 0.5, 0.6, 0.7], "birth": [0.6, 0.7, 0.8, 0.9, 0.97], "off": [0.15, 0.2, 0.3, 0.4, 0.5],
                "hold": [0, 1, 2, 3, 4], "reflag": [3, 4, 6, 8, 12], "reonset": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
                "assist": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.01]}
        best = objective(th, [preds(s) for s in tune])
        for rnd in range(2):
            for k, vals in grid.items():
                for v in vals:
                    t2 = dict(th)
                    t2[k] = v
                    o = objective(t2, [preds(s) for s in tune])
                    if o > best:
                        best, th = o, t2
                print("tuned", k, th, "objective %.4f" % best, flush=True)
    print("thresholds", th)

    for s in args.train + args.check:
        r = fast_score(preds(s), th)
        print("set %s fast: note F1 %.1f onset P %.1f R %.1f F1 %.1f" % (s, 100 * r["note_f1"], 100 * r["onset_p"], 100 * r["onset_r"], 100 * r["onset_f1"]), flush=True)
    if stats[2]:
        print("judged %.1f %% of pitch-frames, passed the screen %.1f %%" % (100 * stats[1] / stats[2], 100 * stats[0] / stats[2]))
    for s in args.check if args.full else []:
        tmp = tempfile.mkdtemp(prefix="notenet-%s-" % s)
        for cid, gt, times, P, fl in preds(s):
            write_det(times, *decode(P[:, :, 0], P[:, :, 1], th, fl), os.path.join(tmp, cid + ".jsonl"))
        out, js = run_score(os.path.join(args.corpora, "set-" + s), tmp)
        print("set %s (%s):\n%s" % (s, tmp, out), flush=True)
    json.dump(th, open((args.load or args.save) + ".th.json", "w"))
    if args.write:
        write_go(args.write, net, th, 'Trained on sets %s (%d), thresholds tuned on %s (see docs/benchmarks/analysis.md, "Note net").'
                 % (" ".join(args.train), len(args.train), " ".join(tune)))


def golden(net, dump, out):
    """The logits the net gives each pitch it judges, per frame, for analysis/notenet_test.go's
    parity test: the Go inference must reproduce them from the same audio."""
    rec = load(dump)
    X, gate = features(rec)
    sel = gate.copy()
    sel[gate] = net.screen.predict(X[gate])[:, 0] >= net.cut
    z = np.zeros((len(rec), NP, 2), np.float32)
    z[sel] = net.forward(X[sel])[-1]
    write_golden(z, sel, out, "per frame: [pitch index (MIDI - 28), logit sounding, logit starting] for each pitch "
                 "past the gate and screen")


def write_golden(z, sel, out, what):
    """Writes the logits z (frames, NP, 2) of the pitches sel judged, frame by frame, as the parity test reads them."""
    frames = [[[int(p), round(float(z[k, p, 0]), 5), round(float(z[k, p, 1]), 5)] for p in np.nonzero(sel[k])[0]]
              for k in range(len(z))]
    with open(out, "w") as f:
        json.dump({"what": what, "frames": frames}, f, separators=(",", ":"))


def go_array(v):
    """A Go composite literal of v's values, flattened."""
    return "{" + ", ".join("%.7g" % x for x in np.asarray(v).ravel()) + "}"


def go_matrix(m):
    """A Go composite literal of m's rows, one per line."""
    return "{\n" + "".join("\t" + go_array(row) + ",\n" for row in m) + "}"


def go_mlp(f, prefix, W, b, inputs):
    """Writes a two-hidden-layer MLP's weights as the Go arrays PREFIXW1 … PREFIXB3, sized by the
    Go constants PREFIXH1, PREFIXH2 and inputs."""
    assert len(W) == 3, "the Go inference runs two hidden layers"
    h1, h2 = prefix + "H1", prefix + "H2"
    f.write("// %sW1[j*%s+i] is input i's weight into hidden unit j.\n" % (prefix, inputs))
    f.write("var %sW1 = [%s * %s]float32%s\n\n" % (prefix, h1, inputs, go_array(W[0].T)))
    f.write("var %sB1 = [%s]float32%s\n\n" % (prefix, h1, go_array(b[0])))
    f.write("var %sW2 = [%s][%s]float32%s\n\n" % (prefix, h2, h1, go_matrix(W[1].T)))
    f.write("var %sB2 = [%s]float32%s\n\n" % (prefix, h2, go_array(b[1])))
    f.write("var %sW3 = [2][%s]float32%s\n\n" % (prefix, h2, go_matrix(W[2].T)))
    f.write("var %sB3 = [2]float32%s\n" % (prefix, go_array(b[2])))


def write_go(path, net, th, note, generator="testdata/notebench-train/notenet.py"):
    W, b = net.W, net.b
    arr = go_array
    h1, h2 = W[0].shape[1], W[1].shape[1]
    with open(path, "w") as f:
        f.write("// Code generated by %s; DO NOT EDIT.\n\n" % generator)
        f.write("package analysis\n\n")
        f.write("// %s\n\n" % note)
        f.write("const (\n\tnetH1 = %d\n\tnetH2 = %d\n" % (h1, h2))
        f.write("\tnetScreenCut = %.7g\n" % net.cut)
        for k, name in (("onset", "netOnsetP"), ("birth", "netBirthP"), ("off", "netOffP"), ("reonset", "netReonsetP"), ("assist", "netAssistP")):
            f.write("\t%s = %.7g\n" % (name, th[k]))
        f.write("\tnetHold = %d\n\tnetReflag = %d\n)\n\n" % (th["hold"], th["reflag"]))
        f.write("var netScreenW = [netIn]float32%s\n\n" % arr(net.screen.W[0][:, 0]))
        f.write("const netScreenB = %.7g\n\n" % net.screen.b[0][0])
        go_mlp(f, "net", W, b, "netIn")


def objective(th, sets):
    r = [fast_score(p, th) for p in sets]
    return sum(x["onset_f1"] + 0.5 * x["note_f1"] for x in r) / len(r)


def fast_score(items, th):
    """Onset and note F1 as score.py counts them, for pitches LO..HI, without files."""
    # one decoder run over the set: clips joined by silent gaps long enough to end every note
    gap = np.zeros((th["hold"] + 3, NP, 2), np.float32)
    P = np.concatenate([x for it in items for x in (it[3], gap)])
    F = np.concatenate([x for it in items for x in (it[4], np.zeros(gap.shape[:2], bool))])
    S, O = decode(P[:, :, 0], P[:, :, 1], th, F)
    c = dict(tp=0, fp=0, fn=0, otp=0, ofp=0, ofn=0)
    row = 0
    for cid, gt, times, Pc, _ in items:
        n = len(times)
        s, o = S[row:row + n], O[row:row + n]
        row += n + len(gap)
        nf = int(math.ceil(gt["duration"] * FPS - 1e-9))
        fr = np.round(times * FPS).astype(int)
        keep = fr < nf
        D = np.zeros((nf, NP), bool)
        D[fr[keep]] = s[keep]
        G = np.zeros((nf, NP), bool)
        R = np.zeros((nf, NP), bool)
        for nt in gt["notes"]:
            p = nt["pitch"] - LO
            if 0 <= p < NP:
                k0 = max(0, math.ceil(nt["onset"] * FPS - 1e-9))
                k1 = min(nf, math.ceil(nt["offset"] * FPS - 1e-9))
                G[k0:k1, p] = True
                r1 = min(nf, math.ceil((nt["offset"] + score.RELEASE_GRACE_S) * FPS - 1e-9))
                R[k1:r1, p] = True
        c["tp"] += int((D & G).sum())
        c["fp"] += int((D & ~G & ~R).sum())
        c["fn"] += int((G & ~D).sum())
        go = score.gt_onsets([nt for nt in gt["notes"] if LO <= nt["pitch"] <= HI])
        On = np.zeros((nf, NP), bool)
        On[fr[keep]] = o[keep]
        for p in range(NP):
            dt = list(np.nonzero(On[:, p])[0] / FPS)
            gts = [a for a, _ in go.get(p + LO, [])]
            m = score.match_count(gts, dt, 0.05)
            c["otp"] += m
            c["ofp"] += len(dt) - m
            c["ofn"] += len(gts) - m
    f = lambda tp, fp, fn: 2 * tp / max(1, 2 * tp + fp + fn)
    return {"note_f1": f(c["tp"], c["fp"], c["fn"]), "onset_f1": f(c["otp"], c["ofp"], c["ofn"]),
            "onset_p": c["otp"] / max(1, c["otp"] + c["ofp"]), "onset_r": c["otp"] / max(1, c["otp"] + c["ofn"])}


if __name__ == "__main__":
    main()

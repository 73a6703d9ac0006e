#!/usr/bin/python3
"""Generate held-out notebench sets for tuning ledbridge's analyser without touching set B.

notebench's gen_corpus.py knows only set B (seed 2002), whose real-music clips come from one half
of the real MIDI files (SPLIT_SEED 7, half 1). This wrapper imports gen_corpus.py unchanged from
../shared/notebench (beside the repo, or $NOTEBENCH), adds sets with other seeds, and makes them
take the other half of the real MIDI files, so no real-music excerpt is shared with set B:

  T  seed 3003  training set (features and thresholds are fitted on it)
  V  seed 4004  validation set (only scored, never fitted on)
  U W X Y C D E F G H  seeds 5005 … 14014 (step 1001)  more training audio for the note net (notenet.go)

Usage (Debian's python3, notebench's packages installed, see its README):
  /usr/bin/python3 testdata/notebench-train/gen_heldout.py --set T --out /work/nb/set-T --jobs 1
Clip ids start with the set's letter; the scorer reads the set as it reads set B. The generated
WAV files are not committed. Output is bit-identical on every run, as gen_corpus.py's is.
"""
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
notebench = os.environ.get("NOTEBENCH", os.path.join(here, "..", "..", "..", "shared", "notebench"))
sys.path.insert(0, os.path.abspath(notebench))
import gen_corpus  # noqa: E402  (imported from notebench, never copied)

HELD_OUT_SEEDS = {"T": 3003, "V": 4004, "U": 5005, "W": 6006, "X": 7007, "Y": 8008,
                  "C": 9009, "D": 10010, "E": 11011, "F": 12012, "G": 13013, "H": 14014}


def other_half_real_sources(set_name):
    """gen_corpus.real_sources with the half set B does not use (half 0 instead of 1)."""
    for f in gen_corpus.PLANETBLUPI + gen_corpus.MMA_FILES:
        if not os.path.exists(f):
            sys.exit("missing %s: apt-get install planetblupi-music-midi mma" % f)
    r = np.random.default_rng(gen_corpus.SPLIT_SEED)
    pb = list(np.array(gen_corpus.PLANETBLUPI)[r.permutation(len(gen_corpus.PLANETBLUPI))])
    mm = list(np.array(gen_corpus.MMA_FILES)[r.permutation(len(gen_corpus.MMA_FILES))])
    return pb[0::2], mm[0::2]


if __name__ == "__main__":
    if "--verify" in sys.argv:
        sys.exit("--verify reruns gen_corpus.py itself, which knows only set B; regenerate and compare md5s instead")
    gen_corpus.SEEDS.clear()
    gen_corpus.SEEDS.update(HELD_OUT_SEEDS)
    gen_corpus.real_sources = other_half_real_sources
    gen_corpus.main()

"""TrainPhotoz: train a k-nearest-neighbour photo-z estimator.

Usage: python3 -u train.py --train_catalog=IN.csv --model=OUT.json
           [--bands=u,g,r,i,z] [--k=5] [--use_magnitude | --no-use_magnitude]
           [--weighting=uniform|distance]
Features are the adjacent colours of `bands` (blue to red), plus the reddest band's
magnitude with --use_magnitude, each standardised to zero mean and unit variance
on the training set. The JSON model stores the settings, the standardisation and the
training features with their z_true; estimate.py averages the z_true of the k
nearest training galaxies. Exits 1 on bad arguments/data.
"""
import argparse
import csv
import json
import math
import os
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def features(row, bands, use_magnitude):
    mags = [float(row[b]) for b in bands]
    feats = [m1 - m2 for m1, m2 in zip(mags, mags[1:])]
    return feats + [mags[-1]] if use_magnitude else feats


def main():
    p = Parser(prog="train.py", description="Train a kNN photo-z model.")
    p.add_argument("--train_catalog", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--bands", type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
                   default=["u", "g", "r", "i", "z"])
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--use_magnitude", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--weighting", choices=["uniform", "distance"], default="uniform")
    a = p.parse_args()
    if a.k < 1:
        p.error("--k must be at least 1")
    if len(a.bands) < 2 and not a.use_magnitude:
        p.error("--bands needs at least two bands to form a colour")
    try:
        with open(a.train_catalog, newline="") as f:
            rows = list(csv.DictReader(f))
        if len(rows) < a.k:
            raise ValueError(f"{a.train_catalog}: {len(rows)} rows, fewer than k={a.k}")
        x = [features(r, a.bands, a.use_magnitude) for r in rows]
        z = [float(r["z_true"]) for r in rows]
    except KeyError as e:
        sys.exit(f"train.py: error: {a.train_catalog}: missing column {e}")
    except (OSError, ValueError, TypeError) as e:
        sys.exit(f"train.py: error: {e}")
    print(f"read {len(rows)} training galaxies, {len(x[0])} features, bands {','.join(a.bands)}")
    n = len(x)
    mean = [sum(col) / n for col in zip(*x)]
    std = [math.sqrt(sum((v - m) ** 2 for v in col) / n) for col, m in zip(zip(*x), mean)]
    if min(std) == 0:
        sys.exit("train.py: error: a feature is constant over the training set")
    model = {"method": "knn", "k": a.k, "weighting": a.weighting, "bands": a.bands,
             "use_magnitude": a.use_magnitude, "feature_mean": mean, "feature_std": std,
             "train_features": [[round((v - m) / s, 6) for v, m, s in zip(row, mean, std)]
                                for row in x],
             "train_z": z}
    if os.path.dirname(a.model):
        os.makedirs(os.path.dirname(a.model), exist_ok=True)
    with open(a.model, "w") as f:
        json.dump(model, f)
    print(f"z_true range {min(z):.3f}..{max(z):.3f}, mean {sum(z) / n:.3f}")
    print(f"wrote kNN model (k={a.k}, {a.weighting}) to {a.model}")


if __name__ == "__main__":
    main()

"""EstimatePhotoz: apply a kNN photo-z model (from train.py) to a catalogue.

Usage: python3 -u estimate.py --model=IN.json --catalog=IN.csv --photoz=OUT.csv
           [--z_max=3.0]
The catalogue needs `id` and the model's bands. Writes CSV id,z_phot (plus z_true
when the catalogue has it), z_phot clipped to [0, z_max]. Exits 1 on bad arguments/data.
"""
import argparse
import csv
import json
import os
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def predict(model, feats):
    """Mean (or inverse-distance weighted mean) z of the k nearest training galaxies."""
    x = [(v - m) / s for v, m, s in zip(feats, model["feature_mean"], model["feature_std"])]
    d2 = sorted((sum((a - b) ** 2 for a, b in zip(x, t)), z)
                for t, z in zip(model["train_features"], model["train_z"]))[:model["k"]]
    if model["weighting"] == "distance":
        w = [1 / (d ** 0.5 + 1e-6) for d, _ in d2]
    else:
        w = [1.0] * len(d2)
    return sum(wi * z for wi, (_, z) in zip(w, d2)) / sum(w)


def main():
    p = Parser(prog="estimate.py", description="Estimate photometric redshifts.")
    p.add_argument("--model", required=True)
    p.add_argument("--catalog", required=True)
    p.add_argument("--photoz", required=True)
    p.add_argument("--z_max", type=float, default=3.0)
    a = p.parse_args()
    if a.z_max <= 0:
        p.error("--z_max must be positive")
    try:
        with open(a.model) as f:
            try:
                model = json.load(f)
            except json.JSONDecodeError:
                raise ValueError(f"{a.model}: not valid JSON") from None
        if not isinstance(model, dict) or model.get("method") != "knn":
            raise ValueError(f"{a.model}: not a kNN photo-z model")
        bands = model["bands"]
        with open(a.catalog, newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
        cols = reader.fieldnames or []
        missing = [c for c in ["id"] + bands if c not in cols]
        if missing:
            raise ValueError(f"{a.catalog}: missing column(s) {', '.join(missing)}")
        if not rows:
            raise ValueError(f"{a.catalog}: no rows")
        print(f"read {len(rows)} galaxies from {a.catalog}; model k={model['k']}")
        has_z = "z_true" in cols
        out = []
        for r in rows:
            mags = [float(r[b]) for b in bands]
            feats = [m1 - m2 for m1, m2 in zip(mags, mags[1:])]
            if model["use_magnitude"]:
                feats.append(mags[-1])
            zp = min(max(predict(model, feats), 0.0), a.z_max)
            row = {"id": r["id"], "z_phot": f"{zp:.4f}"}
            if has_z:
                row["z_true"] = r["z_true"]
            out.append(row)
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"estimate.py: error: {e}")
    if os.path.dirname(a.photoz):
        os.makedirs(os.path.dirname(a.photoz), exist_ok=True)
    with open(a.photoz, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "z_phot"] + (["z_true"] if has_z else []))
        writer.writeheader()
        writer.writerows(out)
    zs = sorted(float(r["z_phot"]) for r in out)
    print(f"z_phot median {zs[len(zs) // 2]:.3f}, range {zs[0]:.3f}..{zs[-1]:.3f}")
    print(f"wrote {len(out)} photo-z to {a.photoz}")


if __name__ == "__main__":
    main()

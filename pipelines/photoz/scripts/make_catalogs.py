"""Generate the synthetic photo-z catalogues (not a pipeline stage; run by hand).

Usage: python3 make_catalogs.py [--outdir=DIR] [--seed=INT]
Writes DIR/sim/{spec,target}.csv and DIR/observed/{spec,target}.csv
(DIR defaults to <workspace>/data/photoz). Columns: id,u,g,r,i,z and, for spec, z_true.

Model: each adjacent colour is a smooth function of redshift (a slow slope plus a
logistic step as a 4000A-like break crosses the band pair), shifted by a galaxy-type
term, plus photometric noise (a floor and a magnitude-dependent term, capped at
0.5 mag). "sim" is clean and the spec and target samples share one redshift
distribution; "observed" has ~3x noisier photometry, a few blended outliers, a
brighter/low-z spec sample and a deeper target sample.
"""
import argparse
import csv
import math
import os
import random

BANDS = ["u", "g", "r", "i", "z"]
# (base, slope, break strength, break redshift, break width) for u-g, g-r, r-i, i-z
COLOURS = [(0.4, 0.2, 1.4, 0.20, 0.10), (0.3, 0.2, 1.2, 0.55, 0.12),
           (0.2, 0.2, 0.9, 0.95, 0.15), (0.1, 0.2, 0.7, 1.35, 0.18)]


def magnitudes(z, rng):
    """Noise-free u,g,r,i,z magnitudes for a galaxy at redshift z."""
    kind = rng.random()  # 0 = blue star-forming ... 1 = red passive
    col = [b + s * z + a / (1 + math.exp(-(z - zc) / w)) + 0.5 * kind
           for b, s, a, zc, w in COLOURS]
    r = 19.0 + 5.0 * math.log10(1 + 3 * z) + rng.gauss(0, 0.6)
    g = r + col[1]
    i = r - col[2]
    return [g + col[0], g, r, i, i - col[3]]


def catalogue(n, z_shape, z_scale, floor, noise, outlier_rate, with_z, rng):
    rows = []
    for idx in range(n):
        z = min(max(rng.gammavariate(z_shape, z_scale), 0.02), 2.0)
        mags = magnitudes(z, rng)
        obs = [m + rng.gauss(0, min(math.hypot(floor, noise * 10 ** (0.4 * (m - 24.0))), 0.5))
               for m in mags]
        if rng.random() < outlier_rate:  # blend: one band badly off
            obs[rng.randrange(5)] += rng.choice([-0.6, 0.6])
        row = {"id": idx + 1, **{b: f"{m:.4f}" for b, m in zip(BANDS, obs)}}
        if with_z:
            row["z_true"] = f"{z:.4f}"
        rows.append(row)
    return rows


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {path}")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--outdir", default=os.path.normpath(os.path.join(root, "data", "photoz")))
    p.add_argument("--seed", type=int, default=2024)
    a = p.parse_args()
    rng = random.Random(a.seed)
    # n, gamma shape and scale of z, noise floor, noise at mag 24, outlier rate
    sim, obs = (0.03, 0.05, 0.00), (0.08, 0.15, 0.05)
    sets = {"sim": {"spec": (400, 3.0, 0.20, *sim), "target": (300, 3.0, 0.20, *sim)},
            "observed": {"spec": (400, 2.5, 0.16, *obs), "target": (300, 3.5, 0.22, *obs)}}
    for name, cats in sets.items():
        for kind, pars in cats.items():
            write(os.path.join(a.outdir, name, f"{kind}.csv"),
                  catalogue(*pars, with_z=(kind == "spec"), rng=rng))


if __name__ == "__main__":
    main()

"""EvaluatePhotoz: photo-z quality metrics on a test set with known redshifts.

Usage: python3 -u evaluate.py --test_photoz=IN.csv --metrics=OUT.json
           [--outlier_threshold=0.15]
Input CSV needs z_phot and z_true. With dz = (z_phot - z_true) / (1 + z_true) writes
JSON {n, bias (median dz), mean_bias, sigma_nmad (1.4826 * median |dz - median dz|),
outlier_fraction (|dz| > outlier_threshold), outlier_threshold}. Exits 1 on bad data.
"""
import argparse
import csv
import json
import os
import statistics
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def main():
    p = Parser(prog="evaluate.py", description="Evaluate photo-z quality.")
    p.add_argument("--test_photoz", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--outlier_threshold", type=float, default=0.15)
    a = p.parse_args()
    if a.outlier_threshold <= 0:
        p.error("--outlier_threshold must be positive")
    try:
        with open(a.test_photoz, newline="") as f:
            dz = [(float(r["z_phot"]) - float(r["z_true"])) / (1 + float(r["z_true"]))
                  for r in csv.DictReader(f)]
        if not dz:
            raise ValueError(f"{a.test_photoz}: no rows")
    except KeyError as e:
        sys.exit(f"evaluate.py: error: {a.test_photoz}: missing column {e}")
    except (OSError, ValueError, TypeError) as e:
        sys.exit(f"evaluate.py: error: {e}")
    bias = statistics.median(dz)
    metrics = {"n": len(dz), "bias": round(bias, 5), "mean_bias": round(statistics.fmean(dz), 5),
               "sigma_nmad": round(1.4826 * statistics.median(abs(d - bias) for d in dz), 5),
               "outlier_fraction": round(sum(abs(d) > a.outlier_threshold for d in dz) / len(dz), 5),
               "outlier_threshold": a.outlier_threshold}
    if os.path.dirname(a.metrics):
        os.makedirs(os.path.dirname(a.metrics), exist_ok=True)
    with open(a.metrics, "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"evaluated {len(dz)} test galaxies")
    print(f"bias {metrics['bias']:+.4f}  sigma_NMAD {metrics['sigma_nmad']:.4f}  "
          f"outliers {100 * metrics['outlier_fraction']:.1f}%")
    print(f"wrote metrics to {a.metrics}")


if __name__ == "__main__":
    main()

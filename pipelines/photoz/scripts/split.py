"""SplitCatalog: split a spectroscopic catalogue into training and test sets.

Usage: python3 -u split.py --spec_catalog=IN.csv --train_catalog=OUT.csv
           --test_catalog=OUT.csv --seed=INT [--test_fraction=FLOAT]
The input CSV needs `id` and `z_true` columns. Rows are shuffled with `seed` and a
fraction `test_fraction` (0 < f < 1, default 0.3) goes to the test set; the rest to
the training set. Both outputs keep all input columns. Exits 1 on bad arguments/data.
"""
import argparse
import csv
import os
import random
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def read_csv(path, required):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    if not rows:
        raise ValueError(f"{path}: no rows")
    return reader.fieldnames, rows


def write_csv(path, fields, rows):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def main():
    p = Parser(prog="split.py", description="Split a spectroscopic catalogue.")
    p.add_argument("--spec_catalog", required=True)
    p.add_argument("--train_catalog", required=True)
    p.add_argument("--test_catalog", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--test_fraction", type=float, default=0.3)
    a = p.parse_args()
    if not 0 < a.test_fraction < 1:
        p.error(f"--test_fraction must be in (0, 1), got {a.test_fraction}")
    try:
        fields, rows = read_csv(a.spec_catalog, ["id", "z_true"])
        print(f"read {len(rows)} rows from {a.spec_catalog}")
        random.Random(a.seed).shuffle(rows)
        n_test = round(a.test_fraction * len(rows))
        if not 0 < n_test < len(rows):
            raise ValueError(f"{len(rows)} rows cannot be split with test_fraction={a.test_fraction}")
        write_csv(a.test_catalog, fields, rows[:n_test])
        write_csv(a.train_catalog, fields, rows[n_test:])
    except (OSError, ValueError) as e:
        sys.exit(f"split.py: error: {e}")
    print(f"train: {len(rows) - n_test} rows -> {a.train_catalog}")
    print(f"test:  {n_test} rows -> {a.test_catalog}")


if __name__ == "__main__":
    main()

"""Bin one half of a TOD into a ring map.

Usage: python3 -u make_map.py TOD.csv MAP.csv --split=0|1 [--nside=16] [--chunk=100]
TOD.csv has columns sample,pixel,value. Samples are grouped in chunks of `chunk`
consecutive samples; split 0 uses the even chunks, split 1 the odd ones. Each pixel's
value is the mean of its samples. Writes CSV pixel,value,hits for all nside**2 pixels
(value 0 where hits is 0) to MAP.csv (parent folders created). Exits 1 on bad args/data.
"""
import argparse
import csv
import os
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def main():
    p = Parser(prog="make_map.py", description="Bin half of a TOD into a map.")
    p.add_argument("tod", help="input TOD CSV")
    p.add_argument("map", help="output map CSV")
    p.add_argument("--split", type=int, choices=[0, 1], required=True)
    p.add_argument("--nside", type=int, default=16)
    p.add_argument("--chunk", type=int, default=100)
    a = p.parse_args()
    if a.nside < 1 or a.chunk < 1:
        p.error("--nside and --chunk must be positive")
    npix = a.nside ** 2
    total, hits, used = [0.0] * npix, [0] * npix, 0
    try:
        with open(a.tod, newline="") as f:
            for row in csv.DictReader(f):
                sample, pix = int(row["sample"]), int(row["pixel"])
                if not 0 <= pix < npix:
                    raise ValueError(f"{a.tod}: pixel {pix} outside 0..{npix - 1} (nside {a.nside})")
                if (sample // a.chunk) % 2 == a.split:
                    total[pix] += float(row["value"])
                    hits[pix] += 1
                    used += 1
        if not used:
            raise ValueError(f"{a.tod}: no samples in split {a.split}")
        if os.path.dirname(a.map):
            os.makedirs(os.path.dirname(a.map), exist_ok=True)
        with open(a.map, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["pixel", "value", "hits"])
            for pix in range(npix):
                w.writerow([pix, f"{total[pix] / hits[pix] if hits[pix] else 0.0:.6f}", hits[pix]])
    except KeyError as e:
        sys.exit(f"make_map.py: error: {a.tod}: missing column {e}")
    except (OSError, ValueError) as e:
        sys.exit(f"make_map.py: error: {e}")
    seen = sum(h > 0 for h in hits)
    print(f"split {a.split}: binned {used} samples into {seen}/{npix} pixels "
          f"(mean hits {used / max(seen, 1):.1f})")
    print(f"wrote map to {a.map}")


if __name__ == "__main__":
    main()

"""Auto and cross power spectra of two ring maps (pure-Python DFT).

Usage: python3 -u spectra.py MAP0.csv MAP1.csv CROSS.csv AUTO0.csv AUTO1.csv
           [--bin_width=4] [--lmax=N]
Maps are CSV pixel,value,hits over a 1-D ring of npix pixels. Each map has the mean
of its hit pixels removed (unhit pixels set to 0); a_ell = (1/npix) sum_p m_p
exp(-2 pi i ell p / npix) for 1 <= ell <= lmax (default npix/2 - 1). C_ell is
Re(a0 conj(a1)) for the cross spectrum and |a|^2 for the autos, divided by the
observed sky fraction, averaged in bins of bin_width multipoles. Writes CSV ell,C_ell
(ell = bin centre) to each output (parent folders created). Exits 1 on bad args/data.
"""
import argparse
import csv
import math
import os
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def read_map(path):
    with open(path, newline="") as f:
        rows = sorted((int(r["pixel"]), float(r["value"]), int(r["hits"])) for r in csv.DictReader(f))
    if not rows or [r[0] for r in rows] != list(range(len(rows))):
        raise ValueError(f"{path}: pixels must be 0..npix-1, each once")
    seen = [v for _, v, h in rows if h > 0]
    if not seen:
        raise ValueError(f"{path}: no observed pixels")
    mean = sum(seen) / len(seen)
    return [v - mean if h > 0 else 0.0 for _, v, h in rows], len(seen) / len(rows)


def dft(m, lmax):
    n = len(m)
    cos = [math.cos(2 * math.pi * k / n) for k in range(n)]
    sin = [math.sin(2 * math.pi * k / n) for k in range(n)]
    return [complex(sum(v * cos[ell * p % n] for p, v in enumerate(m)),
                    -sum(v * sin[ell * p % n] for p, v in enumerate(m))) / n
            for ell in range(lmax + 1)]


def write_spectrum(path, cl, bin_width):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ell", "C_ell"])
        for lo in range(1, len(cl), bin_width):
            ells = range(lo, min(lo + bin_width, len(cl)))
            w.writerow([f"{sum(ells) / len(ells):g}", f"{sum(cl[l] for l in ells) / len(ells):.6g}"])


def main():
    p = Parser(prog="spectra.py", description="Ring-map auto and cross spectra.")
    for name in ["map0", "map1", "cross", "auto0", "auto1"]:
        p.add_argument(name)
    p.add_argument("--bin_width", type=int, default=4)
    p.add_argument("--lmax", type=int, default=0, help="0 = npix/2 - 1")
    a = p.parse_args()
    if a.bin_width < 1 or a.lmax < 0:
        p.error("--bin_width must be positive and --lmax non-negative")
    try:
        (m0, f0), (m1, f1) = read_map(a.map0), read_map(a.map1)
        if len(m0) != len(m1):
            raise ValueError(f"maps have different sizes ({len(m0)} vs {len(m1)} pixels)")
        lmax = a.lmax or len(m0) // 2 - 1
        if lmax >= len(m0) // 2:
            raise ValueError(f"--lmax must be below npix/2 = {len(m0) // 2}")
        a0, a1 = dft(m0, lmax), dft(m1, lmax)
        print(f"{len(m0)} pixels, sky fractions {f0:.2f} and {f1:.2f}, lmax {lmax}")
        cross = [(x * y.conjugate()).real / math.sqrt(f0 * f1) for x, y in zip(a0, a1)]
        for path, cl in [(a.cross, cross), (a.auto0, [abs(x) ** 2 / f0 for x in a0]),
                         (a.auto1, [abs(y) ** 2 / f1 for y in a1])]:
            write_spectrum(path, cl, a.bin_width)
            print(f"wrote {path}: C_ell at ell=1 is {cl[1]:.4g}, at ell={lmax} {cl[lmax]:.4g}")
    except KeyError as e:
        sys.exit(f"spectra.py: error: missing column {e}")
    except (OSError, ValueError) as e:
        sys.exit(f"spectra.py: error: {e}")


if __name__ == "__main__":
    main()

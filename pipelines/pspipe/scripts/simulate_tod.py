"""Simulate a time-ordered data (TOD) stream scanning a 1-D ring sky.

Usage: python3 -u simulate_tod.py TOD.csv [--nside=16] [--nsamples=4000] [--seed=3]
           [--noise_sigma=5.0] [--with-noise]
The sky is a ring of npix = nside**2 pixels with a Gaussian random signal whose
power spectrum is C_ell = amplitude / (1 + (ell / 8)**2) (amplitude 10), for
1 <= ell < npix / 2. The scan visits pixel (sample mod npix); each sample records the
sky value plus, with --with-noise, white noise of rms noise_sigma.
Writes CSV sample,pixel,value to TOD.csv (parent folders created). Exits 1 on bad args.
"""
import argparse
import csv
import math
import os
import random
import sys

AMPLITUDE, ELL_KNEE = 10.0, 8.0


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one-line message on stderr, non-zero exit
        sys.exit(f"{self.prog}: error: {message}")


def main():
    p = Parser(prog="simulate_tod.py", description="Simulate a ring-scan TOD.")
    p.add_argument("tod", help="output CSV path")
    p.add_argument("--nside", type=int, default=16)
    p.add_argument("--nsamples", type=int, default=4000)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--noise_sigma", type=float, default=5.0)
    p.add_argument("--with-noise", action="store_true")
    a = p.parse_args()
    npix = a.nside ** 2
    if not 2 <= a.nside <= 64:
        p.error("--nside must be between 2 and 64")
    if a.nsamples < npix:
        p.error(f"--nsamples must be at least npix = {npix}")
    if a.noise_sigma < 0:
        p.error("--noise_sigma must be non-negative")
    rng = random.Random(a.seed)
    # Fourier modes a_ell with <|a_ell|^2> = C_ell; the real sky is sum 2 Re(a_ell e^{i ell phi}).
    sky = [0.0] * npix
    for ell in range(1, (npix + 1) // 2):
        c_ell = AMPLITUDE / (1 + (ell / ELL_KNEE) ** 2)
        re, im = (math.sqrt(c_ell / 2) * rng.gauss(0, 1) for _ in range(2))
        for pix in range(npix):
            phase = 2 * math.pi * ell * pix / npix
            sky[pix] += 2 * (re * math.cos(phase) - im * math.sin(phase))
    print(f"sky: {npix} pixels, rms {math.sqrt(sum(s * s for s in sky) / npix):.3f}")
    sigma = a.noise_sigma if a.with_noise else 0.0
    try:
        if os.path.dirname(a.tod):
            os.makedirs(os.path.dirname(a.tod), exist_ok=True)
        with open(a.tod, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["sample", "pixel", "value"])
            for t in range(a.nsamples):
                pix = t % npix
                w.writerow([t, pix, f"{sky[pix] + (rng.gauss(0, sigma) if sigma else 0.0):.6f}"])
    except OSError as e:
        sys.exit(f"simulate_tod.py: error: {e}")
    print(f"wrote {a.nsamples} samples (noise rms {sigma}) to {a.tod}")


if __name__ == "__main__":
    main()

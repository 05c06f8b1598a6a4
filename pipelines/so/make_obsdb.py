#!/usr/bin/env python3
"""Write data/so/obsdb.sqlite: synthetic observations in sotodlib's obsdb layout (table obs).

Deterministic (seeded): 300 observations over 60 days from 2025-03-01, LAT-like scans rising
(az ~120), setting (az ~240) and a few at az 180, elevations 40-60 deg, PWV 0.3-3.5 mm,
on LAT tubes i1 and i2, each on 1-3 of a tube's wafers ws0..ws2.
"""
import os
import random
import sqlite3

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "so", "obsdb.sqlite")
rng = random.Random(20250301)
start = 1740787200  # 2025-03-01T00:00:00Z
if os.path.exists(out):
    os.remove(out)
db = sqlite3.connect(out)
db.execute(
    "CREATE TABLE obs (obs_id TEXT PRIMARY KEY, timestamp REAL, start_time REAL, stop_time REAL, duration REAL,"
    " az_center REAL, el_center REAL, pwv REAL, wafer_slots_list TEXT, tube_slot TEXT, n_samples INTEGER, type TEXT)"
)
t = start
for i in range(300):
    t += rng.uniform(3, 6) * 3600
    duration = rng.uniform(0.5, 1.5) * 3600
    kind = rng.random()
    az = 180.0 if kind < 0.05 else rng.uniform(100, 140) if kind < 0.55 else rng.uniform(220, 260)
    wafers = sorted(rng.sample([f"ws{k}" for k in range(3)], rng.randint(1, 3)))
    obs_id = f"obs_{int(t)}_lati{1 + i % 2}_111"
    db.execute(
        "INSERT INTO obs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (obs_id, t, t, t + duration, duration, round(az, 3), round(rng.uniform(40, 60), 3), round(rng.uniform(0.3, 3.5), 3),
         ",".join(wafers), f"i{1 + i % 2}", int(duration * 200), "obs"),
    )
db.commit()
db.close()
print(f"wrote {os.path.relpath(out)}: 300 observations")

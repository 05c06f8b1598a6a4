"""The dimension universe of the stand-ins, a simplified daf_butler one: instrument, band,
physical_filter, detector, visit, exposure, skymap, tract, patch (in the universe's order).

Simplifications: one snap per visit, so visit == exposure, and each implies the other (a raw's
data ID carries both); no dimension-record tables, so a data ID's implied values (band and
physical_filter of a visit) are stored with each dataset, as given at ingest or carried from a
task's inputs. A data ID's keys are ordered as DataCoordinate orders them: the required
dimensions, then the implied ones, each in the universe's order."""
import json

UNIVERSE = ["instrument", "band", "physical_filter", "detector", "visit", "exposure", "skymap", "tract", "patch"]
REQUIRES = {"physical_filter": ["instrument"], "detector": ["instrument"], "visit": ["instrument"], "exposure": ["instrument"], "tract": ["skymap"], "patch": ["skymap", "tract"]}
IMPLIES = {"physical_filter": ["band"], "visit": ["physical_filter", "exposure"], "exposure": ["physical_filter", "visit"]}
INTEGER = {"detector", "visit", "exposure", "tract", "patch"}
# Dimensions the stack sorts tables by first (spatial or temporal ones), with their requirements.
EARLY = {"visit", "exposure", "tract", "patch"}


def ordered(names):
    return [d for d in UNIVERSE if d in set(names)]


def unknown(names):
    return [n for n in names if n not in UNIVERSE]


def group(declared):
    """(required, implied) of a dimension group declared by `declared`."""
    required, todo = set(), list(declared)
    while todo:
        d = todo.pop()
        if d not in required:
            required.add(d)
            todo += REQUIRES.get(d, [])
    implied, todo = set(), [i for d in required for i in IMPLIES.get(d, [])]
    while todo:
        d = todo.pop()
        if d not in required and d not in implied:
            implied.add(d)
            todo += IMPLIES.get(d, []) + REQUIRES.get(d, [])
    implied -= required
    return ordered(required), ordered(implied)


def keys(declared):
    required, implied = group(declared)
    return required + implied


def coerce(name, value):
    """A data ID value as the registry holds it: an integer for the integer dimensions."""
    if name in INTEGER:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"Dimension {name!r} takes integer values, not {value!r}.")
    return str(value)


def complete(data_id):
    """Visit and exposure are the same number here: each data ID with one gets the other."""
    out = dict(data_id)
    if "exposure" in out and "visit" not in out:
        out["visit"] = out["exposure"]
    if "visit" in out and "exposure" not in out:
        out["exposure"] = out["visit"]
    return out


def project(data_id, declared):
    """The data ID restricted to a dimension group, with the implied values it has."""
    d = complete(data_id)
    return {k: d[k] for k in keys(declared) if k in d}


def covers(data_id, declared):
    """Whether the data ID has every required dimension of the group."""
    d = complete(data_id)
    return all(k in d for k in group(declared)[0])


def agree(a, b):
    """Two data IDs agree when their common keys have the same values."""
    a, b = complete(a), complete(b)
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def key(data_id, declared):
    """The registry's identity of a data ID in a group: its required values."""
    d = complete(data_id)
    return json.dumps([d.get(k) for k in group(declared)[0]])


def text(data_id, declared):
    """A data ID as DataCoordinate prints it: {instrument: 'DECam', detector: 1, visit: 1000, ...}."""
    d = complete(data_id)
    return "{" + ", ".join(f"{k}: {d[k]!r}" for k in keys(declared) if k in d) + "}"

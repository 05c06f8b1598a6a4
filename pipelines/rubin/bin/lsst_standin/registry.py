"""A small butler repository: <repo>/butler.yaml names the registry, <repo>/gen3.sqlite3 holds
dataset types (name, storage class, dimensions), collections (RUN or CHAINED, a chain's children
in order) and datasets (uuid, type, run, data ID as JSON, file path); dataset files live under
<repo>/<run>/<datasetType>/<datasetType>_<key>-<value>_....json as the stack's file template
puts them. SQLite in WAL mode with a busy timeout: several processes write at once (pipetask -j,
bps jobs). Simplified: no dimension records, no TAGGED or CALIBRATION collections, no
datastore records apart from each dataset's path."""
import fnmatch
import json
import os
import re
import sqlite3
import uuid

from . import dimensions
from .cli import StackError
from . import miniyaml

EXC = "lsst.daf.butler._exceptions"
SCHEMA = """
CREATE TABLE IF NOT EXISTS dataset_type (name TEXT PRIMARY KEY, storage_class TEXT NOT NULL, dimensions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collection (name TEXT PRIMARY KEY, type TEXT NOT NULL CHECK (type IN ('RUN', 'CHAINED')));
CREATE TABLE IF NOT EXISTS collection_chain (parent TEXT NOT NULL, position INTEGER NOT NULL, child TEXT NOT NULL, PRIMARY KEY (parent, position));
CREATE TABLE IF NOT EXISTS dataset (id TEXT PRIMARY KEY, dataset_type TEXT NOT NULL, run TEXT NOT NULL, data_id TEXT NOT NULL, data_key TEXT NOT NULL, path TEXT, UNIQUE (dataset_type, run, data_key));
CREATE INDEX IF NOT EXISTS dataset_by_type ON dataset (dataset_type, run);
"""
BUTLER_YAML = """# A stand-in butler repository (pipelines/rubin/bin/butler); the real stack cannot read it.
datastore:
  root: <butlerRoot>
registry:
  db: sqlite:///<butlerRoot>/gen3.sqlite3
"""


def missing_collection(name):
    return StackError(f"{EXC}.MissingCollectionError", f"No collection with name '{name}' found.")


def has_glob(text):
    return any(c in text for c in "*?[")


class Repo:
    def __init__(self, path, create=False):
        root = os.path.abspath(path)
        if root.endswith(".yaml") and os.path.isfile(root):
            root = os.path.dirname(root)
        self.root = root
        config = os.path.join(root, "butler.yaml")
        if create:
            if os.path.exists(config):
                raise StackError("FileExistsError", f"Cannot create repository at {path!r}: a butler.yaml file already exists there.")
            os.makedirs(root, exist_ok=True)
            with open(config, "w") as f:
                f.write(BUTLER_YAML)
        elif not os.path.isfile(config):
            raise StackError("FileNotFoundError", f"Unable to locate a butler configuration at {path!r} (no butler.yaml there).")
        with open(config) as f:
            db = str(((miniyaml.load(f.read()) or {}).get("registry") or {}).get("db", "sqlite:///<butlerRoot>/gen3.sqlite3"))
        db = db.replace("sqlite:///", "", 1).replace("<butlerRoot>", root)
        if not create and not os.path.isfile(db):
            raise StackError("FileNotFoundError", f"The registry database {db} of {path!r} does not exist.")
        self.db = sqlite3.connect(db, timeout=120, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 120000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        if create:
            self.db.executescript(SCHEMA)

    def transaction(self):
        return Transaction(self.db)

    # dataset types
    def register_type(self, name, storage_class, dims):
        if unknown := dimensions.unknown(dims):
            raise StackError("KeyError", f"'Dimension(s) {unknown} not found in the universe.'")
        dims = dimensions.ordered(dims)
        existing = self.get_type(name)
        if existing is None:
            self.db.execute("INSERT OR IGNORE INTO dataset_type VALUES (?, ?, ?)", (name, storage_class, json.dumps(dims)))
            return True
        if existing != (storage_class, dims) and not (storage_class == "" and existing[1] == dims):
            raise StackError(f"{EXC}.ConflictingDefinitionError", f"Given dataset type DatasetType({name!r}, {dims}, {storage_class}) is inconsistent with database definition DatasetType({name!r}, {existing[1]}, {existing[0]}).")
        return False

    def get_type(self, name):
        row = self.db.execute("SELECT storage_class, dimensions FROM dataset_type WHERE name = ?", (name,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def require_type(self, name):
        t = self.get_type(name)
        if t is None:
            raise StackError(f"{EXC}.MissingDatasetTypeError", f"Dataset type {name!r} has not been registered.")
        return t

    def types(self, globs=()):
        rows = [(n, s, json.loads(d)) for n, s, d in self.db.execute("SELECT name, storage_class, dimensions FROM dataset_type ORDER BY name")]
        return [r for r in rows if not globs or any(fnmatch.fnmatchcase(r[0], g) for g in globs)]

    # collections
    def collection_type(self, name):
        row = self.db.execute("SELECT type FROM collection WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def children(self, name):
        return [r[0] for r in self.db.execute("SELECT child FROM collection_chain WHERE parent = ? ORDER BY position", (name,))]

    def collections(self, globs=()):
        """(name, type) of the collections the globs match, sorted; a plain name not there is an error."""
        rows = list(self.db.execute("SELECT name, type FROM collection ORDER BY name"))
        if not globs:
            return rows
        for g in globs:
            if not has_glob(g) and self.collection_type(g) is None:
                raise missing_collection(g)
        return [r for r in rows if any(fnmatch.fnmatchcase(r[0], g) for g in globs)]

    def register_run(self, name):
        kind = self.collection_type(name)
        if kind is None:
            self.db.execute("INSERT OR IGNORE INTO collection VALUES (?, 'RUN')", (name,))
            return True
        if kind != "RUN":
            raise StackError("TypeError", f"Collection '{name}' exists but has type {kind}, not RUN.")
        return False

    def set_chain(self, parent, children):
        kind = self.collection_type(parent)
        if kind not in (None, "CHAINED"):
            raise StackError(f"{EXC}.CollectionTypeError", f"Collection '{parent}' has type {kind}, not CHAINED.")
        for c in children:
            if self.collection_type(c) is None:
                raise missing_collection(c)
            if c == parent or (self.collection_type(c) == "CHAINED" and parent in self.flatten([c], include_chains=True)):
                raise StackError(f"{EXC}.CollectionCycleError", f"Cycle in collection chaining when defining '{parent}'.")
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO collection VALUES (?, 'CHAINED')", (parent,))
            self.db.execute("DELETE FROM collection_chain WHERE parent = ?", (parent,))
            self.db.executemany("INSERT INTO collection_chain VALUES (?, ?, ?)", [(parent, i, c) for i, c in enumerate(dict.fromkeys(children))])

    def flatten(self, names, include_chains=False):
        """The collections searched for `names`, in order, chains expanded (the first of each kept)."""
        out = []

        def walk(name, path):
            kind = self.collection_type(name)
            if kind is None:
                raise missing_collection(name)
            if kind == "CHAINED":
                if include_chains and name not in out:
                    out.append(name)
                if name not in path:
                    for child in self.children(name):
                        walk(child, path | {name})
            elif name not in out:
                out.append(name)

        for n in names:
            walk(n, set())
        return out

    def search_path(self, exprs):
        """RUN collections to search for the collection expressions (globs allowed; default all)."""
        names = [n for n, _ in self.collections(exprs or ["*"])] if not exprs or any(has_glob(e) for e in exprs) else list(exprs)
        return self.flatten(names)

    def parents(self, name):
        return [r[0] for r in self.db.execute("SELECT DISTINCT parent FROM collection_chain WHERE child = ? ORDER BY parent", (name,))]

    def remove_run(self, name):
        with self.transaction():
            self.db.execute("DELETE FROM dataset WHERE run = ?", (name,))
            self.db.execute("DELETE FROM collection_chain WHERE child = ?", (name,))
            self.db.execute("DELETE FROM collection WHERE name = ?", (name,))

    # datasets
    def file_path(self, run, type_name, data_id, dims):
        parts = [f"{k}-{data_id[k]}" for k in dimensions.group(dims)[0] if k in data_id]
        name = "_".join([type_name] + [re.sub(r"[^A-Za-z0-9.=+-]+", "-", p) for p in parts])
        return os.path.join(self.root, run, type_name, name + ".json")

    def insert(self, type_name, run, data_id, path, ds_id=None, replace=False):
        _, dims = self.require_type(type_name)
        if not dimensions.covers(data_id, dims):
            raise StackError("KeyError", f"Data ID {data_id} lacks the dimensions {dimensions.group(dims)[0]} of dataset type {type_name!r}.")
        did = dimensions.project(data_id, dims)
        row = (ds_id or str(uuid.uuid4()), type_name, run, json.dumps(did), dimensions.key(did, dims), path)
        try:
            self.db.execute(f"INSERT {'OR REPLACE' if replace else ''} INTO dataset VALUES (?, ?, ?, ?, ?, ?)", row)
        except sqlite3.IntegrityError:
            raise StackError(f"{EXC}.ConflictingDefinitionError", f"A dataset of type {type_name} with data ID {dimensions.text(did, dims)} already exists in run {run!r}.")
        return row[0]

    def find(self, type_name, runs, find_first=True):
        """Datasets of a type in the RUN collections, in search order (the first per data ID)."""
        found, order = {}, {r: i for i, r in enumerate(runs)}
        marks = ",".join("?" * len(runs))
        if not runs:
            return []
        rows = self.db.execute(f"SELECT id, run, data_id, data_key, path FROM dataset WHERE dataset_type = ? AND run IN ({marks})", [type_name, *runs]).fetchall()
        rows.sort(key=lambda r: order[r[1]])
        out = []
        for ds_id, run, data_id, key, path in rows:
            if find_first and key in found:
                continue
            found[key] = True
            out.append({"id": ds_id, "type": type_name, "run": run, "dataId": json.loads(data_id), "path": path})
        return out

    def exists(self, type_name, run, data_id):
        t = self.get_type(type_name)
        if t is None:
            return None
        row = self.db.execute("SELECT id FROM dataset WHERE dataset_type = ? AND run = ? AND data_key = ?", (type_name, run, dimensions.key(data_id, t[1]))).fetchone()
        return row[0] if row else None

    def count(self, run):
        return dict(self.db.execute("SELECT dataset_type, COUNT(*) FROM dataset WHERE run = ? GROUP BY dataset_type ORDER BY dataset_type", (run,)).fetchall())


class Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, *_):
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def write_json(path, content):
    """A dataset file, written whole (to a temporary name, then renamed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(content, f, sort_keys=True)
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

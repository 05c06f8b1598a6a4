"""A tiny butler repository: butler.yaml, a SQLite registry (dataset types, RUN and CHAINED
collections, datasets with their data IDs) and dataset files under <repo>/<run>/<type>/."""
import json
import os
import sqlite3
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS dataset_types (name TEXT PRIMARY KEY, storage_class TEXT NOT NULL, dimensions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, type TEXT NOT NULL, children TEXT);
CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, type TEXT NOT NULL, run TEXT NOT NULL, data_id TEXT NOT NULL, key TEXT NOT NULL, path TEXT, UNIQUE (type, run, key));
CREATE INDEX IF NOT EXISTS datasets_run ON datasets (run, type);
"""


class MissingCollectionError(Exception):
    pass


def key_of(data_id, dims):
    return json.dumps({d: data_id[d] for d in sorted(dims) if d in data_id}, sort_keys=True)


class Repo:
    def __init__(self, root, create=False):
        self.root = os.path.abspath(root[:-len("/butler.yaml")] if root.endswith("butler.yaml") else root)
        if create:
            os.makedirs(self.root, exist_ok=True)
            with open(os.path.join(self.root, "butler.yaml"), "w") as f:
                f.write("# stand-in butler repository\nregistry:\n  db: sqlite:///gen3.sqlite3\ndatastore:\n  root: <butlerRoot>\n")
        elif not os.path.isfile(os.path.join(self.root, "butler.yaml")):
            raise FileNotFoundError(f"FileNotFoundError: No such file or directory: '{os.path.join(self.root, 'butler.yaml')}' (not a butler repository)")
        self.db = sqlite3.connect(os.path.join(self.root, "gen3.sqlite3"), timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    # dataset types
    def register_type(self, name, storage_class, dims):
        row = self.db.execute("SELECT dimensions FROM dataset_types WHERE name = ?", (name,)).fetchone()
        if row and json.loads(row[0]) != sorted(dims):
            raise ValueError(f"ConflictingDefinitionError: dataset type {name} has dimensions {json.loads(row[0])}, not {sorted(dims)}")
        self.db.execute("INSERT OR IGNORE INTO dataset_types VALUES (?, ?, ?)", (name, storage_class, json.dumps(sorted(dims))))

    def type_dims(self, name):
        row = self.db.execute("SELECT dimensions FROM dataset_types WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def types(self):
        return [(n, s, json.loads(d)) for n, s, d in self.db.execute("SELECT name, storage_class, dimensions FROM dataset_types ORDER BY name")]

    # collections
    def collection(self, name):
        row = self.db.execute("SELECT type, children FROM collections WHERE name = ?", (name,)).fetchone()
        return (row[0], json.loads(row[1]) if row[1] else []) if row else None

    def collections(self):
        return [(n, t, json.loads(c) if c else []) for n, t, c in self.db.execute("SELECT name, type, children FROM collections ORDER BY name")]

    def make_run(self, name):
        existing = self.collection(name)
        if existing and existing[0] != "RUN":
            raise ValueError(f"Collection {name!r} exists and is {existing[0]}, not RUN")
        self.db.execute("INSERT OR IGNORE INTO collections VALUES (?, 'RUN', NULL)", (name,))

    def set_chain(self, name, children):
        for c in children:
            if not self.collection(c):
                raise MissingCollectionError(f"MissingCollectionError: No collection with name '{c}' found.")
        existing = self.collection(name)
        if existing and existing[0] != "CHAINED":
            raise ValueError(f"Collection {name!r} exists and is {existing[0]}, not CHAINED")
        self.db.execute("INSERT OR REPLACE INTO collections VALUES (?, 'CHAINED', ?)", (name, json.dumps(children)))

    def resolve(self, names):
        """RUN collections in search order, chains flattened; a missing one is an error."""
        out = []

        def walk(n, seen):
            c = self.collection(n)
            if not c:
                raise MissingCollectionError(f"MissingCollectionError: No collection with name '{n}' found.")
            if c[0] == "RUN":
                if n not in out:
                    out.append(n)
            elif n not in seen:
                for child in c[1]:
                    walk(child, seen | {n})

        for n in names:
            walk(n, set())
        return out

    # datasets
    def add(self, type_name, run, data_id, path=None):
        dims = self.type_dims(type_name)
        if dims is None:
            raise ValueError(f"MissingDatasetTypeError: Dataset type {type_name!r} is not registered.")
        ds_id = str(uuid.uuid4())
        self.db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?)", (ds_id, type_name, run, json.dumps(data_id, sort_keys=True), key_of(data_id, dims), path))
        return ds_id

    def find(self, type_names, collections):
        """Datasets of the types in the collections (resolved in order, the first of each data ID)."""
        runs = self.resolve(collections)
        found = {}
        for run in runs:
            for t in type_names:
                for ds_id, data_id, key, path in self.db.execute("SELECT id, data_id, key, path FROM datasets WHERE run = ? AND type = ?", (run, t)):
                    found.setdefault((t, key), {"id": ds_id, "type": t, "run": run, "dataId": json.loads(data_id), "path": path})
        return list(found.values())

    def file_for(self, run, type_name, data_id):
        parts = "_".join(f"{k}-{v}" for k, v in sorted(data_id.items()) if k != "instrument")
        return os.path.join(self.root, run, type_name, f"{type_name}_{parts or 'all'}.json")

    def put(self, type_name, run, data_id, content):
        path = self.file_for(run, type_name, data_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(content, f)
        os.replace(path + ".tmp", path)
        return self.add(type_name, run, data_id, path)

    def read(self, dataset):
        path = dataset.get("path")
        if not path or not os.path.isfile(path):
            return {}
        with open(path) as f:
            try:
                return json.load(f)
            except ValueError:
                return {}

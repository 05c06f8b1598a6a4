"""The butler subcommands (daf_butler's cli/cmd and script/): what each prints, as the real one
prints it (astropy tables: query-data-ids, query-datasets, query-collections, query-dataset-types)."""
import csv
import fnmatch
import json
import os
import shutil
import sys

from . import dimensions as dims
from . import qgraph, query
from .cli import ClickError, StackError, table
from .registry import EXC, Repo, has_glob, missing_collection

NO_RESULTS = "No results. Try --help for more information."


def out(lines):
    for line in lines:
        print(line)


def create(a, log):
    Repo(a.repo, create=True)


def register_dataset_type(a, log):
    inserted = Repo(a.repo).register_type(a.dataset_type, a.storage_class, a.dimensions)
    print("Dataset type successfully registered." if inserted else "Dataset type already existed in identical form.")


def read_table(path):
    """Rows of a CSV or ECSV table file: (column names, rows)."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    delimiter = ","
    if lines and lines[0].startswith("# %ECSV"):
        delimiter = " "
        for line in lines:
            if line.startswith("# delimiter:"):
                delimiter = line.split(":", 1)[1].strip().strip("'\"") or " "
        lines = [l for l in lines if not l.startswith("#")]
    rows = [r for r in csv.reader([l for l in lines if l.strip()], delimiter=delimiter, skipinitialspace=True)]
    if not rows:
        raise StackError("ValueError", f"{path}: the table has no rows")
    return [c.strip() for c in rows[0]], rows[1:]


def ingest_files(a, log):
    repo = Repo(a.repo)
    _, type_dims = repo.require_type(a.dataset_type)
    header, rows = read_table(a.table_file)
    fixed = {}
    for item in a.data_id:
        k, eq, v = item.partition("=")
        if not eq:
            raise ClickError(f"Invalid value for '--data-id': {item!r} is not key=value")
        fixed[k.strip()] = v.strip()
    if bad := dims.unknown(list(header[1:]) + list(fixed)):
        raise StackError("KeyError", f"'Dimension(s) {bad} not found in the universe; the columns after the file are data ID keys.'")
    entries = []
    for row in rows:
        did = {k: dims.coerce(k, v) for k, v in {**dict(zip(header[1:], row[1:])), **fixed}.items()}
        src = row[0] if os.path.isabs(row[0]) else os.path.join(a.prefix or os.getcwd(), row[0])
        if not os.path.isfile(src):
            raise StackError("FileNotFoundError", f"File {src} does not exist.")
        entries.append((src, did))
    log.info("lsst.daf.butler.script.ingest_files", f"Ingesting {len(entries)} dataset ref(s) from {len({e[0] for e in entries})} file(s)")
    with repo.transaction():
        repo.register_run(a.run)
        for src, did in entries:
            path = transfer(repo, a.transfer, src, repo.file_path(a.run, a.dataset_type, did, type_dims))
            repo.insert(a.dataset_type, a.run, did, path)


def transfer(repo, mode, src, dest):
    src = os.path.abspath(src)
    if mode == "direct" or (mode == "auto" and src.startswith(repo.root + os.sep)):
        return src
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if mode in ("copy", "auto"):
        shutil.copyfile(src, dest)
    elif mode == "move":
        shutil.move(src, dest)
    elif mode in ("link", "hardlink"):
        os.link(src, dest)
    elif mode == "symlink":
        os.symlink(src, dest)
    else:  # relsymlink
        os.symlink(os.path.relpath(src, os.path.dirname(dest)), dest)
    return dest


def query_collections(a, log):
    repo = Repo(a.repo)
    kinds = {k.upper() for k in a.collection_type}
    top = [(n, t) for n, t in repo.collections(a.glob) if not kinds or t in kinds]
    mode = a.chains.upper()
    if mode in ("TREE", "INVERSE-TREE"):
        rows = []

        def add(name, kind, level, seen):
            rows.append(["  " * level + name, kind])
            relatives = repo.children(name) if mode == "TREE" and kind == "CHAINED" else (repo.parents(name) if mode == "INVERSE-TREE" else [])
            for r in relatives:
                if r not in seen:
                    add(r, repo.collection_type(r), level + 1, seen | {name})

        for n, t in top:
            add(n, t, 0, set())
        columns = ["Name", "Type"]
    elif mode in ("TABLE", "INVERSE-TABLE"):
        column = "Children" if mode == "TABLE" else "Parents"
        rows = []
        for n, t in top:
            relatives = repo.children(n) if mode == "TABLE" else repo.parents(n)
            rows += [[n, t, relatives[0] if relatives else ""]] + [["", "", r] for r in relatives[1:]]
        columns = ["Name", "Type", column]
        if not any(r[2] for r in rows):
            columns, rows = columns[:2], [r[:2] for r in rows]
    else:
        names = repo.flatten([n for n, _ in top]) if mode == "FLATTEN" else [n for n, _ in top]
        rows = [[n, repo.collection_type(n)] for n in names]
        columns = ["Name", "Type"]
    if rows:
        out(table(columns, rows, align="<"))


def query_dataset_types(a, log):
    repo = Repo(a.repo)
    types = repo.types(a.glob)
    if a.collections:
        runs = repo.search_path(a.collections)
        types = [t for t in types if repo.find(t[0], runs)]
    if not types:
        print(NO_RESULTS)
    elif a.verbose:
        out(table(["name", "dimensions", "storage class"], [[n, str(dims.ordered(dims.keys(d))), s] for n, s, d in types], align="<"))
    else:
        out(table(["name"], [[n] for n, _, _ in types], align="<"))


def sort_rows(columns, rows, first=0, ignore=()):
    """The stack's default order (sortAstropyTable): the given first columns, then spatial and
    temporal dimensions with what they require, then the other dimensions; the columns in
    `ignore` (query-datasets' id and URI) are not sort keys, as the stack ignores them."""
    rest = [c for c in columns[first:] if c not in ignore]
    early = [r for c in rest if c in dims.EARLY for r in dims.group([c])[0]]
    keys = list(dict.fromkeys(columns[:first] + [c for c in early if c in columns] + rest))
    idx = [columns.index(k) for k in keys]
    rows.sort(key=lambda r: [(0, r[i], "") if isinstance(r[i], int) else (1, 0, str(r[i])) for i in idx])


def order_rows(columns, rows, order_by):
    for term in reversed(order_by):
        name = term.lstrip("-")
        if name not in columns:
            raise StackError(f"{EXC}.InvalidQueryError", f"Unrecognized identifier {name!r}.")
        i = columns.index(name)
        rows.sort(key=lambda r: (isinstance(r[i], str), r[i]), reverse=term.startswith("-"))


def limited(rows, limit, log, logger, message):
    if limit > 0:
        return rows[:limit]
    if limit < 0 and len(rows) > -limit:
        log.warning(logger, message % -limit)
        return rows[:-limit]
    return rows


def query_data_ids(a, log):
    repo = Repo(a.repo)
    if a.offset:
        raise StackError("NotImplementedError", "--offset is no longer supported.  It will be removed after v28.")
    tree = query.parse(a.where)
    if bad := dims.unknown(a.dimensions):
        raise StackError("KeyError", f"'Dimension(s) {bad} not found in the universe.'")
    wanted = list(a.dimensions)
    if a.datasets:
        types = [n for n, _, _ in repo.types([a.datasets])]
        if not types and not has_glob(a.datasets):
            raise StackError(f"{EXC}.MissingDatasetTypeError", f"Dataset type {a.datasets!r} does not exist.")
        if not wanted and a.collections:
            common = None
            for t in types:
                d = set(dims.keys(repo.get_type(t)[1]))
                common = d if common is None else common & d
            if not common:
                print(f"No dimensions in common for specified dataset types ({types})")
                print(NO_RESULTS)
                return
            wanted = dims.group(common)[0]
        runs = repo.search_path(a.collections)
        found = [ds for t in types for ds in repo.find(t, runs, find_first=False)]
        if not found:
            print(f"No datasets of type {a.datasets!r} existed in the specified collections {','.join(runs)}.")
    else:
        found = [{"dataId": json.loads(r[0])} for r in repo.db.execute("SELECT DISTINCT data_id FROM dataset")]
    if not wanted:
        print("No results. Try requesting some dimensions or datasets, see --help for more information.")
        return
    columns = dims.keys(wanted)
    rows = {}
    for ds in found:
        if dims.covers(ds["dataId"], wanted) and query.matches(tree, ds["dataId"]):
            did = dims.project(ds["dataId"], wanted)
            rows.setdefault(tuple(did.get(c, "") for c in columns), True)
    rows = [list(r) for r in rows]
    order_rows(columns, rows, a.order_by) if a.order_by else sort_rows(columns, rows)
    rows = limited(rows, a.limit, log, "lsst.daf.butler.script.queryDataIds", "More data IDs are available than the request limit of %d")
    if rows:
        out(table(columns, rows))
    else:
        print(NO_RESULTS)


def query_datasets(a, log):
    repo = Repo(a.repo)
    if not a.collections:
        print("FutureWarning: No --collections specified.  The --collections argument will become mandatory after v28.", file=sys.stderr)
    globs = a.glob or ["*"]
    if not a.glob:
        print("FutureWarning: No dataset types specified.  Explicitly specifying dataset types will become mandatory after v28. Specify '*' to match the current behavior of querying all dataset types.", file=sys.stderr)
    if a.order_by and (len(globs) > 1 or has_glob(globs[0])):
        raise StackError("NotImplementedError", "--order-by is only supported for queries with a single dataset type.")
    if a.find_first and (not a.collections or any(has_glob(c) for c in a.collections)):
        raise StackError(f"{EXC}.InvalidQueryError", "Can not use wildcards in collections when find_first=True.")
    tree = query.parse(a.where)
    runs = repo.search_path(a.collections)
    types = [n for n, _, _ in repo.types(globs)]
    for g in globs:
        if not has_glob(g) and g not in types:
            log.info("lsst.daf.butler.script.queryDatasets", f"Dataset type {g!r} does not exist.")
            print("")
            return
    total, cap = 0, abs(a.limit) if a.limit else None
    for t in types:
        found = [ds for ds in repo.find(t, runs, find_first=a.find_first) if query.matches(tree, ds["dataId"])]
        if not found:
            continue
        type_dims = repo.get_type(t)[1]
        columns = ["type", "run", "id"] + dims.keys(type_dims)
        rows = [[t, ds["run"], ds["id"]] + [dims.complete(ds["dataId"]).get(c, "") for c in columns[3:]] + ([f"file://{ds['path']}"] if a.show_uri else []) for ds in found]
        if a.show_uri:
            columns = columns + ["URI"]
        order_rows(columns, rows, a.order_by) if a.order_by else sort_rows(columns, rows, first=2, ignore=("id", "URI"))
        if cap is not None and total + len(rows) > cap:
            rows = rows[: cap - total]
            if a.limit < 0:
                log.warning("lsst.daf.butler.script.queryDatasets", f"Requested limit of {cap} hit for number of datasets returned. Use --limit to increase this limit.")
        total += len(rows)
        if rows:
            print("")
            out(table(columns, rows))
        if cap is not None and total >= cap:
            break
    print("")


def collection_chain(a, log):
    repo = Repo(a.repo)
    if not a.children and a.mode != "pop":
        raise StackError("RuntimeError", f"Must provide children when defining a collection chain in mode {a.mode}.")
    kind = repo.collection_type(a.parent)
    if kind is None and a.mode not in ("redefine", "extend", "prepend"):
        raise StackError("RuntimeError", f"Mode '{a.mode}' requires that the collection exists but collection '{a.parent}' is not known to this registry")
    children = repo.flatten(a.children) if a.flatten else a.children
    for c in children:
        if repo.collection_type(c) is None:
            raise missing_collection(c)
    old = repo.children(a.parent) if kind else []
    if a.mode == "pop":
        idx = [int(i) if int(i) >= 0 else len(old) + int(i) for i in (a.children or ["0"])]
        for i in idx:
            if i >= len(old):
                raise StackError("IndexError", f"Index {i} is out of range.  Parent collection {a.parent} has {len(old)} children.")
        new = [c for i, c in enumerate(old) if i not in idx]
    else:
        new = {"redefine": children, "extend": [c for c in old if c not in children] + children, "prepend": children + [c for c in old if c not in children],
               "remove": [c for c in old if c not in children]}[a.mode]
    repo.set_chain(a.parent, new)
    print(f"[{', '.join(new)}]")


def remove_runs(a, log):
    repo = Repo(a.repo)
    runs = [n for n, t in repo.db.execute("SELECT name, type FROM collection ORDER BY name") if t == "RUN" and fnmatch.fnmatchcase(n, a.collection)]
    if not runs:
        print("No RUN collections were found.")
        return
    parents = {r: repo.parents(r) for r in runs}
    counts = {}
    for r in runs:
        for t, n in repo.count(r).items():
            counts[t] = counts.get(t, 0) + n

    def listing(will):
        print("The following RUN collections will be removed:" if will else "The following RUN collections were removed:")
        for r in runs:
            quoted = ", ".join(f'"{p}"' for p in parents[r])
            print(f"{r}: {'will be unlinked from' if will else 'was removed and unlinked from'} {quoted}" if parents[r] else r)
        print("\nThe following datasets will be removed:" if will else "The following datasets were removed:")
        print(", ".join(f"{t}({n})" for t, n in sorted(counts.items())))
        print("Total number of datasets to remove: ", sum(counts.values()))

    if a.confirm:
        listing(True)
        sys.stdout.write("Continue? [y/N]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            print("\nAborted!", file=sys.stderr)
            return 1
        if answer.strip().lower() not in ("y", "yes"):
            print("Aborted.")
            return 0
        delete_runs(repo, runs)
        print("Removed collections")
        return 0
    if any(parents.values()) and not a.force:
        print("Removing runs that are in parent CHAINED collections requires confirmation. \nTry again without --no-confirm to confirm removal of RUN collections from parents, or add the --force flag to skip confirmation.")
        for r in runs:
            if parents[r]:
                print(f"{r}: must be unlinked from {', '.join(chr(34) + p + chr(34) for p in parents[r])}")
        return 1
    delete_runs(repo, runs)
    listing(False)


def delete_runs(repo, runs):
    for r in runs:
        paths = [p for (p,) in repo.db.execute("SELECT path FROM dataset WHERE run = ?", (r,)) if p]
        repo.remove_run(r)
        run_dir = os.path.join(repo.root, r)
        for p in paths:
            if os.path.abspath(p).startswith(run_dir + os.sep) and os.path.isfile(p):
                os.remove(p)
        for d, _, _ in sorted(os.walk(run_dir), key=lambda x: -len(x[0])) if os.path.isdir(run_dir) else []:
            try:
                os.rmdir(d)
            except OSError:
                pass


def aggregate_graph(a, log):
    """pipe_base's `butler aggregate-graph` (BPS's final job): the outputs the graph's quanta wrote
    registered in the repository, the output run put first in the output chain."""
    from .mpexec import register_types

    graph = qgraph.load(a.predicted_graph)
    repo = Repo(a.repo)
    h = graph["header"]
    register_types(repo, graph, a.register_dataset_types)
    written = missing = 0
    with repo.transaction():
        repo.register_run(h["outputRun"])
        for q in graph["quanta"]:
            for o in q["outputs"]:
                if not os.path.isfile(o["path"]):
                    missing += 1
                elif not repo.db.execute("SELECT 1 FROM dataset WHERE id = ?", (o["id"],)).fetchone():
                    repo.insert(o["type"], o["run"], o["dataId"], o["path"], o["id"], replace=True)
                    written += 1
    log.info("lsst.pipe.base.quantum_graph.aggregator", f"Ingested {written} datasets into {h['outputRun']}; {missing} predicted outputs were not written.")
    if a.update_output_chain and h.get("output"):
        kind = repo.collection_type(h["output"])
        old = repo.flatten(repo.children(h["output"]) if kind else h.get("inputs") or [])
        if old[:1] != [h["outputRun"]]:
            repo.set_chain(h["output"], [h["outputRun"]] + [c for c in old if c != h["outputRun"]])
            log.info("lsst.pipe.base.quantum_graph.aggregator", f"Prepended {h['outputRun']} to the output chain {h['output']}.")

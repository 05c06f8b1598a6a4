"""pipetask's subcommands (ctrl_mpexec's script/ functions): the collections a command reads and
writes (ButlerFactory's rules), qgraph, run, run-qbb, pre-exec-init-qbb, update-graph-run and
build --show pipeline."""
import json
import uuid

from . import executor, pipeline as pipe, qgraph
from .cli import ClickError, StackError
from .registry import EXC, Repo


def collections_for(repo, inputs, output, output_run, extend_run, writeable):
    """What ButlerFactory works out: the RUN collections to search, the output run, the output
    chain's new definition and the flattened inputs."""
    kind = repo.collection_type(output) if output else None
    if kind not in (None, "CHAINED"):
        raise StackError("TypeError", f"Collection '{output}' exists but has type {kind}, not CHAINED.")
    chain = repo.children(output) if kind else []
    if output_run is None:
        if output is None:
            if writeable:
                raise StackError("ValueError", "Cannot write without at least one of (--output, --output-run).")
        elif extend_run:
            if not chain:
                raise StackError("ValueError", "Cannot use --extend-run option with non-existing or empty output chain")
            output_run = chain[0]
        else:
            output_run = f"{output}/{qgraph.timestamp()}"
    flat_inputs = repo.flatten(inputs) if inputs else []
    if flat_inputs and kind:
        flat_chain = repo.flatten(chain)
        if not any(flat_chain[n:n + len(flat_inputs)] == flat_inputs for n in range(len(flat_chain) - len(flat_inputs) + 1)):
            raise StackError("ValueError", f"Output CHAINED collection {output!r} exists and does not include the same sequence of (flattened) input collections {tuple(flat_inputs)} as a contiguous subsequence. "
                             "Use --rebase to ignore this problem and reset the output collection, but note that this may obfuscate what inputs were actually used to produce these outputs.")
    exists = output_run is not None and repo.collection_type(output_run) is not None
    if extend_run and not exists:
        raise StackError("ValueError", f"Cannot --extend-run; output collection '{output_run}' does not exist.")
    if not extend_run and exists:
        raise StackError("ValueError", f"Output run '{output_run}' already exists, but --extend-run was not given.")
    search = [output] if kind else list(inputs)
    if extend_run:
        search.insert(0, output_run)
    definition = None
    if output:
        definition = repo.flatten(chain if kind else inputs)
        if not extend_run:
            definition.insert(0, output_run)
    return {"runs": repo.flatten(search), "run": output_run, "chain": definition, "inputs": flat_inputs}


def make_graph(a, log, repo, writeable):
    """The graph of qgraph and run -p (saved with --save-qgraph), or None when it is empty."""
    p = pipe.load(a.pipeline)
    for label in a.delete or []:
        p["tasks"] = [t for t in p["tasks"] if t["label"] != label]
    pipe.apply_overrides(p, getattr(a, "pipeline_actions", None) or [])
    c = collections_for(repo, a.input, a.output, a.output_run, a.extend_run, writeable)
    skip = list(a.skip_existing_in) + ([c["run"]] if (a.skip_existing or a.extend_run) and c["run"] else [])
    graph = qgraph.build(repo, p, c["runs"], c["run"], a.output, a.data_query, log, a.dataset_query_constraint, skip, a.clobber_outputs, c["inputs"])
    if a.save_qgraph:
        qgraph.save(graph, a.save_qgraph)
    return graph if qgraph.summary(graph, log) else None


def qgraph_command(a, log):
    repo = Repo(a.butler_config)
    if a.qgraph:
        graph = qgraph.load(a.qgraph)
        if a.pipeline:
            raise StackError("ValueError", "Pipeline must not be given when quantum graph is read from file: True")
        if a.save_qgraph:
            qgraph.save(graph, a.save_qgraph)
        n = qgraph.summary(graph, log)
    else:
        if not a.pipeline:
            raise StackError("ValueError", "Pipeline must be given when quantum graph is not read from file.")
        n = make_graph(a, log, repo, writeable=False) is not None
    if not n:
        raise ClickError("QuantumGraph was empty; ERROR logs above should provide details.")


def run_command(a, log):
    repo = Repo(a.butler_config)
    if a.qgraph:
        if a.pipeline:
            raise StackError("ValueError", "Pipeline must not be given when quantum graph is read from file: True")
        graph = qgraph.load(a.qgraph)
        run = graph["header"]["outputRun"]
        if a.output_run and a.output_run != run:
            raise StackError("ValueError", f"Output run defined on command line ({a.output_run}) has to be identical to graph metadata ({run}). To update graph metadata run `pipetask update-graph-run` command.")
        if not qgraph.summary(graph, log):
            raise ClickError("QuantumGraph was empty; ERROR logs above should provide details.")
    else:
        if not a.pipeline:
            raise StackError("ValueError", "Pipeline must be given when quantum graph is not read from file.")
        graph = make_graph(a, log, repo, writeable=True)
        if graph is None:
            raise ClickError("QuantumGraph was empty; ERROR logs above should provide details.")
        run = graph["header"]["outputRun"]
    inputs = a.input or (graph["header"]["inputs"] if not a.output or not repo.collection_type(a.output) else [])
    c = collections_for(repo, inputs, a.output, run, a.extend_run, writeable=True)
    register_types(repo, graph, a.register_dataset_types)
    with repo.transaction():
        repo.register_run(run)
    if c["chain"] is not None:
        repo.set_chain(a.output, c["chain"])
    if a.init_only:
        return
    executor.run_graph(graph, a.processes, log, repo.root, clobber=a.clobber_outputs)


def register_types(repo, graph, register):
    """The graph's output dataset types in the registry (pre-exec-init)."""
    outputs = {o["type"] for q in graph["quanta"] for o in q["outputs"]}
    missing = []
    for name in sorted(outputs):
        spec = graph["datasetTypes"][name]
        existing = repo.get_type(name)
        if existing is None and not register:
            missing.append(name)
        elif existing is None:
            repo.register_type(name, spec["storageClass"], spec["dimensions"])
        elif existing[1] != spec["dimensions"]:
            raise StackError(f"{EXC}.ConflictingDefinitionError", f"DatasetType definition in registry has changed since the pipeline graph was resolved: {name} {spec['dimensions']} (graph) != {existing[1]} (registry).")
    if missing:
        raise StackError(f"{EXC}.MissingDatasetTypeError", f"Missing dataset type definition{'s' if len(missing) != 1 else ''}: {', '.join(missing)}. Dataset types have to be registered in advance "
                         "(on the command-line, either via `butler register-dataset-type` or the `--register-dataset-types` option to `pipetask run`.")


def run_qbb_command(a, log):
    """Quanta of a saved graph run against a quantum-backed butler: files written, no registry."""
    Repo(a.repo)
    graph = qgraph.load(a.qgraph)
    wanted = set(a.qgraph_node_id)
    unknown = wanted - {q["id"] for q in graph["quanta"]}
    if unknown:
        raise StackError("KeyError", f"Quantum node id(s) {sorted(unknown)} not found in the quantum graph {a.qgraph}.")
    if wanted:
        graph = {**graph, "quanta": [q for q in graph["quanta"] if q["id"] in wanted]}
    executor.run_graph(graph, a.processes, log, None)


def pre_exec_init_qbb_command(a, log):
    Repo(a.repo)
    graph = qgraph.load(a.qgraph)
    log.verbose("lsst.pipe.base.pre_exec_init", f"Stand-in init of {len(graph['tasks'])} tasks for run {graph['header']['outputRun']}: nothing to write.")


def update_graph_run_command(a, log):
    graph = qgraph.update_run(qgraph.load(a.qgraph), a.run)
    if a.update_graph_id:
        graph["header"]["graphId"] = str(uuid.uuid4())
    qgraph.save(graph, a.output_qgraph)


def build_command(a, log):
    if not a.pipeline:
        raise StackError("ValueError", "Pipeline must be given.")
    p = pipe.apply_overrides(pipe.load(a.pipeline), getattr(a, "pipeline_actions", None) or [])
    text = pipeline_yaml(p)
    if "pipeline" in (a.show or []):
        print(text, end="")
    if a.save_pipeline:
        with open(a.save_pipeline, "w") as f:
            f.write(text)


def pipeline_yaml(p):
    """The expanded pipeline as YAML (scalars written as JSON, which YAML reads)."""
    lines = [f"description: {json.dumps(p.get('description') or '')}"]
    if p.get("instrument"):
        lines.append(f"instrument: {json.dumps(p['instrument'])}")
    lines.append("tasks:")
    for t in p["tasks"]:
        lines += [f"  {t['label']}:", f"    class: {t['class']}"]
        if t["config"]:
            lines.append("    config:")
            lines += [f"    - {json.dumps(k)}: {json.dumps(v)}" for k, v in t["config"].items()]
    if p.get("subsets"):
        lines.append("subsets:")
        lines += [f"  {name}: {json.dumps(labels)}" for name, labels in p["subsets"].items()]
    return "\n".join(lines) + "\n"


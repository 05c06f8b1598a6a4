"""BPS submit files resolved as ctrl_bps's BpsConfig resolves them: its defaults
(etc/bps_defaults.yaml: the values the stand-in uses), then includeConfigs (later files over
earlier, relative to the including file, ${ENV} expanded), then the file, then the command line.
A key is searched in the current values, then the sections bps_cmdline, payload, cluster.<label>,
pipetask.<label>, site.<computeSite>, cloud, bps_defined, then the root; a string value has
${ENV} and $ENV expanded (an unset one is kept) and {key} replaced by that key's value (an
undefined one by nothing), recursively."""
import copy
import os
import re

from . import miniyaml

ORDER = ["bps_cmdline", "payload", "cluster", "pipetask", "site", "cloud", "bps_defined"]
PRE = "{defaultPreCmdOpts}"
DEFAULTS = {
    "defaultPreCmdOpts": "--long-log --log-level=VERBOSE",
    "qgraphPreCmdOpts": PRE, "initPreCmdOpts": PRE, "runPreCmdOpts": PRE, "updateQgraphPreCmdOpts": PRE,
    "payload": {"runInit": True, "output": "u/{operator}/{payloadName}", "outputRun": "{output}/{timestamp}"},
    "pipetaskOutput": "-o {output}",
    "pipetaskInput": "-i {inCollection}",
    "pipetaskDataQuery": '-d "{dataQuery}"',
    "fileDistributionEndPoint": "",
    "pipetask": {"pipetaskInit": {"runQuantumCommand": "${CTRL_MPEXEC_DIR}/bin/pipetask {initPreCmdOpts} pre-exec-init-qbb {butlerConfig} {fileDistributionEndPoint}{qgraphFile} {extraInitOptions}"}},
    "whenSaveJobQgraph": "NEVER",
    "createQuantumGraph": "${CTRL_MPEXEC_DIR}/bin/pipetask {qgraphPreCmdOpts} qgraph --butler-config {butlerConfig} {pipetaskInput} {pipetaskOutput} --output-run {outputRun} "
                          "--pipeline {pipelineYaml} --save-qgraph {qgraphFile} --qgraph-datastore-records {pipetaskDataQuery} {extraQgraphOptions}",
    "runQuantumCommand": "${CTRL_MPEXEC_DIR}/bin/pipetask {runPreCmdOpts} run-qbb {butlerConfig} {fileDistributionEndPoint}{qgraphFile} --qgraph-node-id {qgraphNodeId} {extraRunQuantumOptions}",
    "updateQuantumGraph": "${CTRL_MPEXEC_DIR}/bin/pipetask {updateQgraphPreCmdOpts} update-graph-run {inputQgraphFile} {outputRun} {qgraphFile} {extraUpdateQgraphOptions}",
    "requestMemory": 2048, "requestCpus": 1, "numberOfRetries": 5, "retryUnlessExit": [1, 2], "memoryMultiplier": 2, "memoryLimit": 491520,
    "wmsServiceClass": "lsst.ctrl.bps.htcondor.HTCondorService",
    "submitPath": "${PWD}/submit/{outputRun}",
    "qgraphFileTemplate": "{uniqProcName}.qg",
    "extraAggregateOptions": "",
    "finalJob": {
        "retryUnlessExit": 2, "updateOutputChain": "--update-output-chain", "whenSetup": "NEVER", "whenRun": "ALWAYS", "implementation": "JOB",
        "finalPreCmdOpts": PRE, "requestCpus": 16, "requestMemory": 32768,
        "command1": "${DAF_BUTLER_DIR}/bin/butler {finalPreCmdOpts} aggregate-graph {fileDistributionEndPoint}{qgraphFile} {butlerConfig} -j {requestCpus} "
                    "--register-dataset-types {updateOutputChain} {extraAggregateOptions}",
    },
    "makeIdLink": False, "idLinkPath": "${PWD}/bps_links",
}


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def read(path, seen=()):
    """A submit file over its includeConfigs (each over those before it)."""
    data = miniyaml.load_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise miniyaml.YamlError(f"{path}:1: a BPS config is a mapping")
    out = {}
    includes = data.get("includeConfigs") or []
    for inc in [includes] if isinstance(includes, str) else includes:
        p = os.path.expandvars(str(inc))
        p = p if os.path.isabs(p) else os.path.join(os.path.dirname(os.path.abspath(path)), p)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"includeConfigs of {path}: {p} does not exist")
        if p in seen:
            raise ValueError(f"includeConfigs of {path}: {p} includes itself")
        out = merge(out, read(p, seen + (p,)))
    return merge(out, {k: v for k, v in data.items() if k != "includeConfigs"})


class BpsConfig:
    def __init__(self, path, cmdline=None):
        self.data = merge(DEFAULTS, read(path))
        self.data["bps_cmdline"] = {k: v for k, v in (cmdline or {}).items() if v}
        self.data.setdefault("bps_defined", {})

    def defined(self, key, value):
        self.data["bps_defined"][key] = value

    def __contains__(self, key):
        return self.lookup(key, {})[0]

    def lookup(self, key, curvals, searchobj=None):
        if key in curvals:
            return True, curvals[key]
        if isinstance(searchobj, dict) and key in searchobj:
            return True, searchobj[key]
        for sect in ORDER:
            s = self.data.get(sect)
            current = curvals.get(f"curr_{sect}") or (self.data.get("computeSite") if sect == "site" else None)
            if sect in ("cluster", "pipetask", "site", "cloud"):
                s = s.get(current) if isinstance(s, dict) and current in s else None
            if isinstance(s, dict) and key in s:
                return True, s[key]
        if key in self.data:
            return True, self.data[key]
        return False, None

    def search(self, key, curvals=None, default="", searchobj=None, depth=0):
        """The value of key, with ${ENV} and {key} in a string replaced."""
        curvals = curvals or {}
        found, value = self.lookup(key, curvals, searchobj)
        if not found:
            return default
        if isinstance(value, str):
            value = self.expand(value, curvals, searchobj, depth)
        return value

    def expand(self, value, curvals, searchobj=None, depth=0):
        if depth > 20:
            raise ValueError(f"{value!r}: {{key}} replacements do not end (a key refers to itself)")
        value = os.path.expandvars(value)

        def sub(m):
            v = self.search(m.group(1), curvals, "", searchobj, depth + 1)
            return "" if v is None else str(v)

        return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, value)

    def dump(self):
        """The resolved config (every value searched) as YAML-readable JSON."""
        import json

        return json.dumps(self.data, indent=2, default=str) + "\n"

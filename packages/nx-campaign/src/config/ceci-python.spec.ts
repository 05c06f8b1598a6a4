import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../testing/fixture';
import { consulting } from '../util/consulted';
import { readCeciModules, type CeciClass, type CeciModules } from './ceci-python';
import { CampaignError } from '../format/errors';

/** A TXPipe-like package: stages across modules, file types from ceci (not installed here). */
const SHOP: Record<string, string> = {
  'shop/__init__.py': 'from .base_stage import PipelineStage\nfrom . import selection\nfrom .calibrate import Calibrate\n',
  'shop/data_types.py': `from ceci.file_types import HDFFile, TextFile, YamlFile

class ShearCatalog(HDFFile):
    pass

class TomographyCatalog(ShearCatalog):
    """Inherits hdf5 from ceci's HDFFile through ShearCatalog."""

class MapsFile(HDFFile):
    suffix = "hsp"
`,
  'shop/types.py': 'from .data_types import *\n',
  'shop/base_stage.py': `from ceci import PipelineStage as PipelineStageBase

class PipelineStage(PipelineStageBase):
    name = "BaseStageDoNotRunDirectly"
    inputs = []
    outputs = []
    config_options = {}

    def run(self):
        pass
`,
  'shop/selection.py': `from .base_stage import PipelineStage
from .types import *
from ceci.config import StageParameter
import numpy as np

class SelectorBase(PipelineStage):
    name = "SelectorBase"
    inputs = [("shear_catalog", ShearCatalog), ("notes", TextFile)]
    outputs = [("tomography_catalog", TomographyCatalog)]
    config_options = {
        "bands": StageParameter(list, ["r", "i"], msg="Bands to select on"),
        "T_cut": StageParameter(float, required=True, msg="Size cut"),
        "chunk_rows": StageParameter(int, 10000),
        "verbose": False,
        "max_rows": 0,
        "zbin_edges": [float],
        "seed": int,
        "mystery": None,
        "radius": np.inf,
    }

class SimpleSelector(SelectorBase):
    name = "SimpleSelector"
    parallel = False
    config_options = SelectorBase.config_options.copy()
    config_options.update({"true_z": True})
    config_options.update(scale=StageParameter(dtype=float, default=1.5, msg="Scale"))
    inputs = SelectorBase.inputs + [("maps", MapsFile)]
    outputs = [*SelectorBase.outputs, ("log", TextFile)]
`,
  'shop/calibrate.py': `from .selection import SimpleSelector
from . import data_types as dt

class Calibrate(SimpleSelector):
    outputs = [("calibrated", dt.ShearCatalog)]
    config_options = {**SimpleSelector.config_options, "extra": "x"} | dict(flip=True)
`,
};

function readShop(): { answer: CeciModules; root: string } {
  const root = fixture(SHOP);
  return { answer: readCeciModules([root], ['shop']), root };
}

function byClass(answer: CeciModules, className: string): CeciClass {
  const found = answer.classes.find((c) => c.class_name === className);
  if (!found) throw new Error(`no class ${className} among ${answer.classes.map((c) => c.class_name).join(', ')}`);
  return found;
}

const files = (c: CeciClass, kind: 'inputs' | 'outputs') => c[kind].map((f) => `${f.tag}:${f.type}.${f.suffix}`);

describe('readCeciModules: what ceci would register, read without importing', () => {
  it('finds every complete stage the package imports, in import order, under its registry name', () => {
    const { answer, root } = readShop();
    expect(answer.errors).toEqual([]);
    expect(answer.modules).toEqual([{ name: 'shop', found: true, file: join(root, 'shop/__init__.py'), searched: [join(root, 'shop/__init__.py')] }]);
    // `from . import selection` imports the submodule; Calibrate inherits its parent's name,
    // as ceci sets `name` on every stage class it sees, so it clashes with SimpleSelector.
    expect(answer.classes.map((c) => [c.name, c.class_name, c.module])).toEqual([
      ['BaseStageDoNotRunDirectly', 'PipelineStage', 'shop.base_stage'],
      ['SelectorBase', 'SelectorBase', 'shop.selection'],
      ['SimpleSelector', 'SimpleSelector', 'shop.selection'],
      ['SimpleSelector', 'Calibrate', 'shop.calibrate'],
    ]);
    const selector = byClass(answer, 'SimpleSelector');
    expect(selector).toMatchObject({ top_package: 'shop', namespace: false, file: join(root, 'shop/selection.py'), line: 22, parallel: false });
    expect(selector.error).toBeUndefined();
  });

  it('reads tags in order with suffixes inherited through file types, ceci\'s own included', () => {
    const selector = byClass(readShop().answer, 'SimpleSelector');
    expect(files(selector, 'inputs')).toEqual(['shear_catalog:ShearCatalog.hdf5', 'notes:TextFile.txt', 'maps:MapsFile.hsp']);
    expect(files(selector, 'outputs')).toEqual(['tomography_catalog:TomographyCatalog.hdf5', 'log:TextFile.txt']);
  });

  it('reads config_options: literals, bare types, [float], None, StageParameter, and non-literal defaults', () => {
    const base = byClass(readShop().answer, 'SelectorBase');
    expect(base.config).toEqual({
      bands: { type: 'list', default: ['r', 'i'], required: false, help: 'Bands to select on', item: 'str' },
      T_cut: { type: 'float', required: true, help: 'Size cut' },
      chunk_rows: { type: 'int', default: 10000, required: false },
      verbose: { type: 'bool', default: false, required: false },
      max_rows: { type: 'int', default: 0, required: false },
      zbin_edges: { type: 'list', item: 'float', required: false },
      seed: { type: 'int', required: true },
      mystery: { type: 'any', required: true },
      radius: { type: 'any', default: { expr: 'np.inf' }, required: false },
    });
    expect(base.parallel).toBe(true);
  });

  it('follows .copy() then .update(), and {**Base.config_options} | dict(...) across modules', () => {
    const { answer } = readShop();
    const selector = byClass(answer, 'SimpleSelector');
    expect(Object.keys(selector.config)).toEqual(['bands', 'T_cut', 'chunk_rows', 'verbose', 'max_rows', 'zbin_edges', 'seed', 'mystery', 'radius', 'true_z', 'scale']);
    expect(selector.config.scale).toEqual({ type: 'float', default: 1.5, required: false, help: 'Scale' });
    const calibrate = byClass(answer, 'Calibrate');
    expect(Object.keys(calibrate.config).slice(-3)).toEqual(['scale', 'extra', 'flip']);
    expect(calibrate.config.flip).toEqual({ type: 'bool', default: true, required: false });
    expect(files(calibrate, 'inputs')).toEqual(files(selector, 'inputs'));
    expect(files(calibrate, 'outputs')).toEqual(['calibrated:ShearCatalog.hdf5']);
    expect(calibrate.parallel).toBe(false);
  });

  it('reports a name registered twice as ceci\'s DuplicateStageName, unless the later class sets allow_reload', () => {
    const calibrate = byClass(readShop().answer, 'Calibrate');
    expect(calibrate.error).toMatch(/^DuplicateStageName: stage name SimpleSelector is already used by class SimpleSelector \(.*shop\/selection\.py:22\)/);

    const root = fixture({
      ...SHOP,
      'shop/calibrate.py': 'from .selection import SimpleSelector\n\nclass Calibrate(SimpleSelector):\n    allow_reload = True\n',
    });
    const answer = readCeciModules([root], ['shop']);
    expect(answer.classes.filter((c) => c.name === 'SimpleSelector').map((c) => [c.class_name, c.error])).toEqual([['Calibrate', undefined]]);
  });

  it('leaves out classes ceci would not register: abstract run, no inputs or outputs, not stages', () => {
    const root = fixture({
      'pz/__init__.py': `from ceci import PipelineStage
from abc import abstractmethod

class NoOutputs(PipelineStage):
    inputs = []
    def run(self):
        pass

class Abstract(PipelineStage):
    inputs = []
    outputs = []
    @abstractmethod
    def run(self):
        pass

class Concrete(Abstract):
    def run(self):
        pass

class Helper:
    inputs = []
    outputs = []
    def run(self):
        pass
`,
    });
    const answer = readCeciModules([root], ['pz']);
    // Concrete is named after Abstract: ceci names incomplete stage classes too.
    expect(answer.classes.map((c) => [c.name, c.class_name])).toEqual([['Abstract', 'Concrete']]);
  });

  it('marks a class of a namespace package (no __init__.py), combining its folders across the search path', () => {
    const first = fixture({ 'rail/estimation/stages.py': 'from ceci import PipelineStage\nfrom rail.core.data import TableHandle\n\nclass Estimate(PipelineStage):\n    inputs = []\n    outputs = [("output", TableHandle)]\n    def run(self):\n        pass\n' });
    const second = fixture({ 'rail/core/data.py': 'class DataHandle:\n    suffix = ""\n\nclass TableHandle(DataHandle):\n    suffix = "pq"\n' });
    const answer = readCeciModules([first, second], ['rail.estimation.stages']);
    const estimate = byClass(answer, 'Estimate');
    expect(estimate).toMatchObject({ name: 'Estimate', module: 'rail.estimation.stages', top_package: 'rail', namespace: true, outputs: [{ tag: 'output', type: 'TableHandle', suffix: 'pq' }] });
    expect(estimate.error).toBeUndefined();
    expect(answer.files).toContain(join(second, 'rail/core/data.py'));
  });

  it('gives a class whose inputs are built at run time an error naming the line, and still reads the rest', () => {
    const root = fixture({
      'dyn.py': `from ceci import PipelineStage
from ceci.file_types import TextFile

def make_inputs():
    return [("a", TextFile)]

class Dynamic(PipelineStage):
    inputs = make_inputs()
    outputs = [("b", TextFile)]
    def run(self):
        pass
`,
    });
    const dynamic = byClass(readCeciModules([root], ['dyn']), 'Dynamic');
    expect(dynamic.error).toBe('`inputs` cannot be read statically: line 8: `make_inputs()` is a call, computed when the module runs');
    expect(dynamic.inputs).toEqual([]);
    expect(files(dynamic, 'outputs')).toEqual(['b:TextFile.txt']);
  });

  it('errs for an output whose file type has no readable suffix, and for a base outside the search path', () => {
    const root = fixture({
      'odd.py': `from ceci import PipelineStage
from rail.core.stage import RailStage
import h5py

class Blob(h5py.File):
    pass

class NoSuffix(PipelineStage):
    inputs = [("in", Blob)]
    outputs = [("out", Blob)]
    def run(self):
        pass

class Railish(RailStage):
    inputs = []
    outputs = []
`,
    });
    const answer = readCeciModules([root], ['odd']);
    expect(byClass(answer, 'NoSuffix').error).toBe('output out: file type Blob: the suffix cannot be read: line 5: base h5py.File comes from a module not on the search path');
    expect(byClass(answer, 'NoSuffix').inputs).toEqual([{ tag: 'in', type: 'Blob', suffix: null }]);
    expect(byClass(answer, 'Railish').error).toBe('cannot tell whether it is a ceci stage: base rail.core.stage.RailStage comes from a module not on the search path');
  });

  it('reports a syntax error with its file and line, and reads the other modules', () => {
    const root = fixture({ ...SHOP, 'shop/__init__.py': `${SHOP['shop/__init__.py']}from . import broken\n`, 'shop/broken.py': 'x = 1\ndef f(:\n' });
    const answer = readCeciModules([root], ['shop']);
    expect(answer.errors).toEqual([{ module: 'shop.broken', file: join(root, 'shop/broken.py'), line: 2, message: 'syntax error: invalid syntax' }]);
    expect(answer.classes).toHaveLength(4);
  });

  it('says which candidates were looked at for a module not found', () => {
    const a = fixture({ 'other.py': '' });
    const b = fixture({ 'missing/readme.txt': 'not a package' });
    const answer = readCeciModules([a, b], ['missing.stages']);
    expect(answer.modules).toEqual([
      { name: 'missing.stages', found: false, searched: [join(a, 'missing/__init__.py'), join(a, 'missing.py'), join(b, 'missing/__init__.py'), join(b, 'missing.py'), join(b, 'missing/stages/__init__.py'), join(b, 'missing/stages.py')] },
    ]);
    expect(answer.classes).toEqual([]);
  });

  it('lists every file read and every absent candidate, and notes them for the run cache', () => {
    const root = fixture(SHOP);
    const { result, files: noted } = consulting(() => readCeciModules([root], ['shop']));
    const read = ['__init__', 'base_stage', 'selection', 'types', 'data_types', 'calibrate'].map((m) => join(root, `shop/${m}.py`));
    expect(result.files.slice(0, read.length)).toEqual(read);
    // ceci and numpy are looked for on the search path: if either appears, the answer changes.
    expect(result.files).toEqual(expect.arrayContaining([join(root, 'ceci/__init__.py'), join(root, 'ceci.py'), join(root, 'numpy/__init__.py'), join(root, 'shop/selection/__init__.py')]));
    expect(noted).toEqual(result.files);
  });
});

describe('readCeciModules: failures of python itself', () => {
  const saved = process.env.NX_CAMPAIGN_PYTHON;
  afterEach(() => {
    if (saved === undefined) delete process.env.NX_CAMPAIGN_PYTHON;
    else process.env.NX_CAMPAIGN_PYTHON = saved;
  });

  function failure(python: string): CampaignError {
    process.env.NX_CAMPAIGN_PYTHON = python;
    try {
      readCeciModules(['/nowhere'], ['pz']);
    } catch (e) {
      if (e instanceof CampaignError) return e;
      throw e;
    }
    throw new Error('expected a CampaignError');
  }

  function script(body: string): string {
    const path = join(fixture({}), 'python');
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it('says how to get a python when it is missing', () => {
    const e = failure('/nowhere/python3');
    expect(e.message).toBe('reading the ceci stage modules pz: cannot run /nowhere/python3: not found\n  fix: install Python 3.9 or later as python3, or set NX_CAMPAIGN_PYTHON to one');
  });

  it('shows the last line of stderr when python fails', () => {
    const e = failure(script('echo "Traceback (most recent call last):" >&2\necho "SyntaxError: invalid syntax" >&2\nexit 1'));
    expect(e.message).toMatch(/^reading the ceci stage modules pz: .* exited with status 1: SyntaxError: invalid syntax\n {2}fix: /);
    expect(e.message.split('\n')).toHaveLength(2);
  });

  it('refuses an answer that is not the expected JSON', () => {
    expect(failure(script('echo "{\\"modules\\": []}"')).message).toMatch(/printed an answer that is not the expected JSON\n {2}fix: /);
    expect(failure(script('echo hello')).message).toMatch(/printed an answer that is not the expected JSON/);
  });
});

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Run } from '../model/run';
import { fromSnapshot, runNameOf, toSnapshot, type RunSnapshot } from '../model/run';
import { consulting } from '../util/consulted';
import { fileStamp, stateDir, writeFileAtomic } from './stage-state';

// Bumped with any change to what loading a run produces.
const FORMAT = `${(require('../../package.json') as { version: string }).version}.5`;

interface CacheEntry {
  format: string;
  /** Every file loading looked at (present or not) -> its stamp then. */
  files: Record<string, string>;
  run: RunSnapshot;
  fingerprints: [string, string][];
}

export interface LoadedRun {
  run: Run;
  fingerprints: Map<string, string>;
}

/**
 * Load a run and its stage fingerprints, reusing the last result while none of the files
 * it was made from changed. Nx builds the project graph on every command and the batch
 * executor loads the run again: this keeps YAML parsing and validation (and their
 * modules) off that path.
 */
export async function loadRunCached(wsRoot: string, file: string, workspaceDataDir: string): Promise<LoadedRun> {
  const cacheFile = join(stateDir(workspaceDataDir, runNameOf(file)), 'run.json');
  try {
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheEntry;
    if (entry.format === FORMAT && entry.run.file === file && Object.entries(entry.files).every(([f, stamp]) => fileStamp(resolve(wsRoot, f)) === stamp)) {
      return { run: fromSnapshot(entry.run), fingerprints: new Map(entry.fingerprints) };
    }
  } catch {
    // no usable cache: load
  }
  // Loaded on demand: yaml and zod are most of this plugin's start-up time.
  const [{ loadRun }, { stageFingerprints }] = await Promise.all([import('../config/run.js'), import('../graph/fingerprint.js')]);
  const { result, files } = consulting(() => {
    const run = loadRun(wsRoot, file);
    return { run, fingerprints: stageFingerprints(wsRoot, run) };
  });
  const entry: CacheEntry = {
    format: FORMAT,
    files: Object.fromEntries(files.map((f) => [f, fileStamp(resolve(wsRoot, f))])),
    run: toSnapshot(result.run),
    fingerprints: [...result.fingerprints],
  };
  writeFileAtomic(cacheFile, JSON.stringify(entry));
  return result;
}

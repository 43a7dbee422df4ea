/**
 * Issue 11 leftovers, item 1: a long CLI command that ends cancelled says so and exits 1.
 * Ctrl-C is sent as a terminal sends it: SIGINT to the whole process group (the CLI and the job
 * processes it forked), so a job that died of the signal instead of stopping politely shows up.
 * `runs cancel` from a second CLI process must stop a `train` running in the first. Ctrl-C during
 * `export` and `animate` leaves no file under the final name. Real CLI processes, real jobs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let out: ReturnType<typeof tempDir>;
let datasetId: string;
/** a sample whose recipe asks for 1000 steps: animating it takes a while */
let longSample: string;
const EXPORT_COUNT = 400;
const TRAIN_FLAGS = ['--steps', '3000', '--checkpoint-every', '1000', '--batch', '4', '--base-channels', '8', '--channel-mults', '1,2', '--attention', '8', '--groups', '4', '--workers', '1', '--seed', '3'];

interface Cli {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** resolves once stderr matches `re` (rejects after `ms`) */
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  exit: Promise<number | null>;
  /** Ctrl-C at a terminal: SIGINT to the CLI's process group */
  ctrlC: () => void;
  kill: () => void;
}

const started: Cli[] = [];

function cli(args: string[]): Cli {
  // detached: its own process group, like a shell job, so the group can be signalled as a terminal does
  const proc = spawn(process.execPath, [CLI, '--data-dir', lib.dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) if (w.re.test(stderr)) w.resolve();
  });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  let exited = false;
  void exit.then(() => (exited = true));
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // already gone
    }
  };
  const c: Cli = {
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (re, ms = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stderr)) return resolve();
        const t = setTimeout(() => reject(new Error(`no ${re} on stderr within ${ms} ms; stderr so far:\n${stderr}`)), ms);
        waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
        void exit.then(() => setTimeout(() => reject(new Error(`exited before ${re}; stderr:\n${stderr}`)), 50));
      }),
    exit,
    ctrlC: () => group('SIGINT'),
    kill: () => {
      if (!exited) group('SIGKILL');
    },
  };
  started.push(c);
  return c;
}

/** The exit code, or a failure (and the process group killed) when it does not end within `ms`. */
async function exitWithin(c: Cli, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const r = await Promise.race([c.exit, late]);
  clearTimeout(timer);
  if (r === 'late') {
    c.kill();
    throw new Error(`the command did not end within ${ms} ms after it was cancelled; stderr:\n${c.stderr()}`);
  }
  return r;
}

const NO_STACK = /TypeError|ReferenceError|\n\s+at .+:\d+:\d+|unexpected error/;

beforeAll(async () => {
  lib = tempDir('sfumato-cancel-');
  out = tempDir('sfumato-cancel-out-');
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  try {
    datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
    const run = await (await s.startRun({ datasetId, seed: 1, config: { ...TINY_CONFIG, steps: 2, workers: 1 } })).done;
    expect(run.status).toBe('completed');
    const made = await s.generate({ runId: run.id, count: 2, seed: 7, steps: 2, sampler: 'ddim' });
    const [a, b] = made.samples;
    longSample = b!.id;
    await s.store.db.run('UPDATE samples SET steps = 1000 WHERE id = ?', [longSample]);
    // Many gallery rows, each with its own real PNG: an export long enough to interrupt.
    const cols = (await s.store.db.all<{ name: string }>('PRAGMA table_info(samples)')).map((c) => c.name);
    const pick = cols.map((c) => (c === 'id' ? "'smp_copy' || k.i" : c === 'file' ? "'samples/copy-' || k.i || '.png'" : `s.${c}`)).join(', ');
    await s.store.db.run(
      `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?) INSERT INTO samples (${cols.join(', ')}) SELECT ${pick} FROM samples s, k WHERE s.id = ?`,
      [EXPORT_COUNT, a!.id],
    );
    for (let i = 0; i < EXPORT_COUNT; i++) copyFileSync(join(lib.dir, a!.file), join(lib.dir, 'samples', `copy-${i}.png`));
  } finally {
    await s.close();
  }
}, 180_000);

afterAll(() => {
  for (const c of started) c.kill();
  lib?.cleanup();
  out?.cleanup();
});

async function runStatus(id: string): Promise<string> {
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  try {
    return (await s.store.runs.get(id))!.status;
  } finally {
    await s.close();
  }
}

describe('train that ends cancelled', () => {
  it('Ctrl-C: a "cancelled" line, exit 1, the run recorded cancelled', { timeout: 120_000 }, async () => {
    const c = cli(['--json', 'train', '--dataset', datasetId, ...TRAIN_FLAGS]);
    await c.waitFor(/\[train\] [1-9]\d*\/3000/);
    c.ctrlC();
    const code = await exitWithin(c, 60_000);
    expect(c.stderr()).not.toMatch(NO_STACK);
    const run = (JSON.parse(c.stdout().trim()) as { run: { id: string; status: string } }).run;
    expect(run.status).toBe('cancelled');
    expect(c.stderr()).toMatch(new RegExp(`sfumato: cancelled: run ${run.id} stopped at step \\d+ of 3000`));
    expect(code).toBe(1);
    expect(await runStatus(run.id)).toBe('cancelled');
    // the line says truthfully whether there is anything to sample or resume
    const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
    const kept = await s.store.checkpoints.count(run.id).finally(() => s.close());
    expect(c.stderr()).toMatch(kept > 0 ? new RegExp(`its ${kept} checkpoint\\(s\\) are kept`) : /no checkpoint had been written yet/);
  });

  it('`runs cancel` from another process: the training command stops, says "cancelled" and exits 1', { timeout: 150_000 }, async () => {
    const c = cli(['train', '--dataset', datasetId, ...TRAIN_FLAGS]);
    await c.waitFor(/\[train\] [1-9]\d*\/3000/);
    const id = /run (run_[0-9a-z]+) started/.exec(c.stderr())![1]!;
    const other = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, '--data-dir', lib.dir, '--json', 'runs', 'cancel', id], (e, o) => resolve({ code: e ? ((e as { code?: number }).code ?? -1) : 0, out: o })),
    );
    expect(other.code).toBe(0);
    const code = await exitWithin(c, 60_000);
    expect(c.stderr()).not.toMatch(NO_STACK);
    expect(c.stderr()).toMatch(new RegExp(`sfumato: cancelled: run ${id} stopped at step \\d+ of 3000`));
    expect(c.stdout()).toMatch(new RegExp(`${id}\\s+cancelled`));
    expect(code).toBe(1);
    expect(await runStatus(id)).toBe('cancelled');
  });
});

describe('Ctrl-C during export and animate', () => {
  it('export to a zip: a "cancelled" line, exit 1, no zip and no temp file left', { timeout: 120_000 }, async () => {
    const zip = join(out.dir, 'all.zip');
    const c = cli(['export', '--samples', 'all', '--to', zip, '--format', 'webp', '--contact-sheet']);
    await c.waitFor(/\[export\] [1-9]\d*\//);
    c.ctrlC();
    const code = await exitWithin(c, 60_000);
    expect(c.stderr()).not.toMatch(NO_STACK);
    expect(c.stderr()).toMatch(/^sfumato: cancelled: The export was cancelled/m);
    expect(code).toBe(1);
    expect(c.stdout()).toBe('');
    expect(readdirSync(out.dir)).toEqual([]);
  });

  it('export to a folder: a "cancelled" line, exit 1, no folder under the final name', { timeout: 120_000 }, async () => {
    const dir = join(out.dir, 'picked');
    const c = cli(['export', '--samples', 'all', '--to', dir, '--format', 'webp']);
    await c.waitFor(/\[export\] [1-9]\d*\//);
    c.ctrlC();
    const code = await exitWithin(c, 60_000);
    expect(c.stderr()).not.toMatch(NO_STACK);
    expect(c.stderr()).toMatch(/^sfumato: cancelled: The export was cancelled/m);
    expect(code).toBe(1);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(out.dir)).toEqual([]);
  });

  it('animate: a "cancelled" line that names the output, exit 1, no output file', { timeout: 120_000 }, async () => {
    const gif = join(out.dir, 'denoise.gif');
    const c = cli(['animate', longSample, '--out', gif]);
    await c.waitFor(/\[sample\] [1-9]\d*\/1000/);
    c.ctrlC();
    const code = await exitWithin(c, 60_000);
    expect(c.stderr()).not.toMatch(NO_STACK);
    expect(c.stderr()).toMatch(new RegExp(`^sfumato: cancelled: The animation was cancelled; nothing was written to ${gif.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'm'));
    expect(code).toBe(1);
    expect(readdirSync(out.dir)).toEqual([]);
  });
});

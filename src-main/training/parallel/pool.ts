/**
 * A pool of data-parallel gradient workers (worker_threads), one tfjs replica each.
 *
 * Memory layout (no per-step copies of the parameters through postMessage): one SharedArrayBuffer
 * holds all parameters flat in the order of UNet.variables(), written by the coordinator
 * (writeWeights) before a step; each worker has its own SharedArrayBuffer for its gradients. A
 * step posts each worker its shard (a few hundred KB of inputs), each worker answers with its
 * share of the loss, and the coordinator sums the gradient buffers in worker order (so results
 * are deterministic for a given worker count).
 *
 * Threads start once, in the constructor; `ready` settles when every replica is built. While a
 * step is in flight the workers are ref'd (the process stays alive); idle workers are unref'd so
 * a forgotten pool cannot keep a CLI process from exiting. A worker that throws or exits rejects
 * the pending step (and every later one) with an error naming it: a crash never hangs a step.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UNetConfig } from '../../network/config';
import { unetParamSpecs } from '../../network/architecture';
import type { FromWorker, StepMsg, ToWorker, WorkerBackend } from './protocol';
import type { Shard } from './shards';

export interface PoolOptions {
  size: number;
  backend: WorkerBackend;
  config: UNetConfig;
}

export interface PoolStepResult {
  /** Σ of the shards' losses (= the batch loss) */
  loss: number;
  /** Σ of the workers' gradients, flat in parameter order (a fresh array the caller owns) */
  grads: Float32Array;
  /** each worker's compute time in ms (inside the worker, from receiving its shard to posting) */
  computeMs: number[];
  /** per-kernel ms summed over workers, when profiled */
  kernelMs?: Record<string, number>;
}

/** How to start the worker module: from the TypeScript sources through tsx, or a built entry. */
export function gradWorkerEntry(): { file: URL; workerData?: Record<string, unknown> } {
  const override = process.env.SFUMATO_GRAD_WORKER;
  if (override) return { file: new URL(override, 'file://') };
  const self = import.meta.url;
  if (/\.ts$/.test(new URL(self).pathname)) {
    // dev, CLI, tests, forked job processes: the .ts sources, loaded through tsx in the thread
    return { file: new URL('./boot.mjs', self), workerData: { entry: new URL('./grad-worker.ts', self).href } };
  }
  // a bundle (electron-vite: out/main/grad-worker.js; this code may sit in out/main/chunks/)
  for (const rel of ['./grad-worker.js', '../grad-worker.js']) {
    const u = new URL(rel, self);
    if (existsSync(fileURLToPath(u))) return { file: u };
  }
  throw new Error(`gradient worker entry grad-worker.js not found next to ${self}; build it (electron.vite.config.ts input 'grad-worker') or set SFUMATO_GRAD_WORKER`);
}

interface Pending {
  resolve: (m: Extract<FromWorker, { type: 'done' }>) => void;
  reject: (e: Error) => void;
}

export class GradientPool {
  readonly size: number;
  readonly params: number;
  /** the shared weights, flat in parameter order (write with writeWeights) */
  readonly weights: Float32Array;
  readonly ready: Promise<void>;
  private readonly workers: Worker[] = [];
  private readonly gradViews: Float32Array[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly alive = new Set<number>();
  private readonly exited: Promise<void>[] = [];
  private failure: Error | undefined;
  private disposed = false;
  private isReady = false;
  private nextId = 1;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(opts: PoolOptions) {
    if (!(opts.size >= 1)) throw new Error(`a gradient pool needs at least one worker (got ${opts.size})`);
    this.size = opts.size;
    this.params = unetParamSpecs(opts.config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const weightsBuf = new SharedArrayBuffer(this.params * 4);
    this.weights = new Float32Array(weightsBuf);
    const entry = gradWorkerEntry();
    const readies: Promise<void>[] = [];
    for (let i = 0; i < opts.size; i++) {
      const gradsBuf = new SharedArrayBuffer(this.params * 4);
      this.gradViews.push(new Float32Array(gradsBuf));
      const w = new Worker(entry.file, { workerData: entry.workerData, name: `sfumato-grad-${i}` });
      this.workers.push(w);
      this.alive.add(i);
      readies.push(
        new Promise<void>((resolve, reject) => {
          this.readyWaiters.push({ resolve, reject });
        }),
      );
      this.exited.push(new Promise<void>((resolve) => w.once('exit', () => resolve())));
      w.on('message', (m: FromWorker) => this.onMessage(i, m));
      w.on('error', (e: Error) => this.fail(new Error(`gradient worker ${i} failed: ${e.message}`)));
      w.on('exit', (code) => {
        this.alive.delete(i);
        if (!this.disposed) this.fail(new Error(`gradient worker ${i} exited unexpectedly (exit code ${code})`));
      });
      const init: ToWorker = { type: 'init', backend: opts.backend, config: structuredClone(opts.config), weights: weightsBuf, grads: gradsBuf };
      w.postMessage(init);
    }
    this.ready = Promise.all(readies).then(() => {
      this.isReady = true;
      for (const w of this.workers) w.unref();
    });
    // a failure before anyone awaits `ready` must not become an unhandled rejection
    this.ready.catch(() => {});
  }

  /** Worker threads still running. */
  get liveWorkers(): number {
    return this.alive.size;
  }

  /** Thread ids of the workers (for diagnostics and tests). */
  get threadIds(): number[] {
    return this.workers.map((w) => w.threadId);
  }

  /** Copies the parameters (in parameter order) into the shared weights buffer. */
  writeWeights(arrays: readonly ArrayLike<number>[]): void {
    let off = 0;
    for (const a of arrays) {
      this.weights.set(a, off);
      off += a.length;
    }
    if (off !== this.params) throw new Error(`writeWeights: ${off} values for ${this.params} parameters`);
  }

  /**
   * Computes `shards.length` (≤ size) shards on workers 0.. and returns the summed loss and
   * gradients. Weights must have been written for this step.
   */
  step(shards: readonly Shard[], fullBatch: number, dropoutSeeds: readonly number[], opts: { profile?: boolean } = {}): Promise<PoolStepResult> {
    // Post synchronously when ready, so a caller that computes a shard itself right after this
    // call overlaps with the workers.
    if (!this.isReady) return this.ready.then(() => this.step(shards, fullBatch, dropoutSeeds, opts));
    if (this.failure) return Promise.reject(this.failure);
    if (this.disposed) return Promise.reject(new Error('the gradient pool was disposed'));
    if (shards.length < 1 || shards.length > this.size) return Promise.reject(new Error(`${shards.length} shards for ${this.size} workers`));
    for (const w of this.workers) w.ref();
    const replies = shards.map((s, i) => {
      const id = this.nextId++;
      const msg: StepMsg = { type: 'step', id, rows: s.rows, fullBatch, dropoutSeed: dropoutSeeds[i], xIn: s.xIn, time: s.time, target: s.target, weight: s.weight, ...(s.labels ? { labels: s.labels } : {}), augment: s.augment, profile: opts.profile };
      return new Promise<Extract<FromWorker, { type: 'done' }>>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.workers[i].postMessage(msg);
      });
    });
    return Promise.all(replies)
      .then((rs) => this.combine(rs))
      .finally(() => {
        if (!this.disposed) for (const w of this.workers) w.unref();
      });
  }

  private combine(replies: Extract<FromWorker, { type: 'done' }>[]): PoolStepResult {
    const grads = new Float32Array(this.params);
    let loss = 0;
    let kernelMs: Record<string, number> | undefined;
    replies.forEach((r, i) => {
      loss += r.loss;
      const g = this.gradViews[i];
      if (i === 0) grads.set(g);
      else for (let j = 0; j < grads.length; j++) grads[j] += g[j];
      if (r.kernelMs) {
        kernelMs ??= {};
        for (const [k, v] of Object.entries(r.kernelMs)) kernelMs[k] = (kernelMs[k] ?? 0) + v;
      }
    });
    return { loss, grads, computeMs: replies.map((r) => r.computeMs), kernelMs };
  }

  /** Test hook: make worker `i` end abruptly (as a crash would). */
  crashWorkerForTest(i: number, code = 3): void {
    this.workers[i].postMessage({ type: 'crash', code } satisfies ToWorker);
  }

  /** Terminates every worker; resolves when all threads have exited. Idempotent. */
  async dispose(): Promise<void> {
    if (!this.disposed) {
      this.disposed = true;
      this.rejectAll(new Error('the gradient pool was disposed'));
      for (const w of this.workers) void w.terminate();
    }
    await Promise.all(this.exited);
  }

  private onMessage(i: number, m: FromWorker): void {
    if (m.type === 'ready') {
      this.readyWaiters[i].resolve();
      return;
    }
    const id = m.id;
    if (id === null) {
      if (m.type === 'error') this.fail(new Error(`gradient worker ${i} failed to start: ${m.message}`));
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (m.type === 'done') p.resolve(m);
    else {
      const e = new Error(`gradient worker ${i}: ${m.message}`);
      if (m.stack) e.stack = `${e.message}\n(worker stack) ${m.stack}`;
      p.reject(e);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.rejectAll(this.failure);
  }

  private rejectAll(e: Error): void {
    for (const w of this.readyWaiters) w.reject(e);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

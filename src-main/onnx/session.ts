/**
 * ONNX Runtime sessions: the one module that loads onnxruntime-node, chooses an execution provider
 * (with fallback and a logged reason), creates and shares sessions, validates inputs and runs them
 * through one choke point (transformers.js backends/onnx.js habit), and adapts a UNet session to
 * the diffusion core's NetworkFn.
 *
 * Training and sampling choose their provider by probing (providers.ts: WebGPU, CUDA, DirectML,
 * CoreML, then CPU, each checked against the CPU provider) and open their sessions here with that
 * provider and `strict`. `provider: 'auto'` here probes nothing:
 *   Linux   cuda (only when the CUDA add-on's libonnxruntime_providers_cuda.so is installed) -> cpu
 *   Windows dml -> cpu          macOS coreml -> cpu
 * (WebGPU never unprobed: ORT's WebGPU EP accepts software adapters, ~10x slower than the CPU EP;
 * docs/design-notes.md §ONNX Runtime providers). An explicit provider that fails falls back to cpu
 * with a logged reason, unless `strict` (then an OrtError PROVIDER_UNAVAILABLE says what is available).
 *
 * Runs of WebGPU sessions are serialised process-wide: two WebGPU sessions running at once can
 * crash on Linux/Vulkan (onnxruntime issue 32561).
 *
 * ORT is loaded lazily (dynamic import), so a machine where its native binding cannot load still
 * runs the app (tfjs fallback): createOrtSession then throws OrtError ORT_UNAVAILABLE.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, platform as osPlatform } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { NetworkFn } from '../diffusion/parameterisation';
import type { Shape } from '../diffusion/types';
import { ONNX_INPUT_CLASS, ONNX_INPUT_SAMPLE, ONNX_INPUT_TIMESTEP } from './export';
import { DomainError } from '../api/errors';
import type { ApiErrorCode } from '../api/types';

export const ORT_PROVIDERS = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type OrtProvider = (typeof ORT_PROVIDERS)[number];

export type OrtErrorCode = 'ORT_UNAVAILABLE' | 'PROVIDER_UNAVAILABLE' | 'SESSION_CREATE' | 'BAD_INPUT' | 'RUN_FAILED' | 'DISPOSED';

/** Errors of this module; `code` says which; survives JSON/IPC. */
export class OrtError extends DomainError {
  /** ONNX Runtime or a provider missing: unavailable; a bad input: bad_request; else a bug */
  get apiCode(): ApiErrorCode {
    return this.code === 'ORT_UNAVAILABLE' || this.code === 'PROVIDER_UNAVAILABLE' ? 'unavailable' : this.code === 'BAD_INPUT' ? 'bad_request' : 'internal';
  }
  override apiDetails(): { reason: string } {
    return { reason: this.code };
  }
  constructor(
    readonly code: OrtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OrtError';
  }
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

// ------------------------------------------------------------------ runtime loading

let ortModule: Promise<typeof Ort> | undefined;

/** onnxruntime-node, loaded once; OrtError ORT_UNAVAILABLE when its native binding cannot load. */
export function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: typeof Ort }).default?.InferenceSession ? (m as { default: typeof Ort }).default : m),
    (e: unknown) => {
      ortModule = undefined;
      throw new OrtError('ORT_UNAVAILABLE', `ONNX Runtime (onnxruntime-node) could not be loaded: ${(e as Error).message}; sampling falls back to tfjs`);
    },
  );
  return ortModule;
}

/** Where the native binding lives (bin/napi-v6/<platform>/<arch>), or undefined when unknown. */
function bindingDir(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const root = dirname(req.resolve('onnxruntime-node/package.json'));
    return join(root, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Whether the optional CUDA provider library (downloaded by onnxruntime-node's install script) is present. */
export function cudaAddonInstalled(dir = bindingDir()): boolean {
  return dir !== undefined && existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
}

/**
 * Physical CPU cores (hyper-threads counted once), bounded by the cores this process may use.
 * Linux: distinct (physical id, core id) pairs of /proc/cpuinfo; elsewhere availableParallelism().
 */
export function physicalCoreCount(): number {
  const avail = availableParallelism();
  if (osPlatform() !== 'linux') return avail;
  try {
    const cores = new Set<string>();
    let phys = '0';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [k, v] = line.split(':').map((s) => s?.trim());
      if (k === 'physical id') phys = v;
      else if (k === 'core id') cores.add(`${phys}/${v}`);
    }
    return cores.size > 0 ? Math.max(1, Math.min(cores.size, avail)) : avail;
  } catch {
    return avail;
  }
}

// ------------------------------------------------------------------ provider choice

export interface ProviderPlanInput {
  requested: OrtProvider | 'auto';
  platform: NodeJS.Platform;
  /** names from onnxruntime-node's listSupportedBackends() */
  backends: readonly string[];
  cudaInstalled: boolean;
}

export interface ProviderPlan {
  /** providers to try, in order */
  order: OrtProvider[];
  /** why providers were left out of `order` */
  skipped: { provider: OrtProvider; reason: string }[];
}

const NATIVE_GPU: Partial<Record<NodeJS.Platform, OrtProvider>> = { linux: 'cuda', win32: 'dml', darwin: 'coreml' };

/** Pure: which providers to try for a request on a platform (see the header). */
export function providerPlan({ requested, platform, backends, cudaInstalled }: ProviderPlanInput): ProviderPlan {
  const skipped: ProviderPlan['skipped'] = [];
  const usable = (p: OrtProvider): boolean => {
    if (p === 'cpu') return true;
    if (!backends.includes(p)) {
      skipped.push({ provider: p, reason: `not built into onnxruntime-node for ${platform} (available: ${backends.join(', ')})` });
      return false;
    }
    if (p === 'cuda' && !cudaInstalled) {
      skipped.push({ provider: p, reason: 'the CUDA add-on is not installed (see README: "NVIDIA GPUs on Linux")' });
      return false;
    }
    return true;
  };
  if (requested === 'auto') {
    const gpu = NATIVE_GPU[platform];
    const order: OrtProvider[] = [];
    if (gpu && usable(gpu)) order.push(gpu);
    if (backends.includes('webgpu')) skipped.push({ provider: 'webgpu', reason: 'not tried automatically (it may pick a slow software adapter); ask for provider "webgpu"' });
    order.push('cpu');
    return { order, skipped };
  }
  if (!ORT_PROVIDERS.includes(requested)) throw new OrtError('PROVIDER_UNAVAILABLE', `unknown provider ${JSON.stringify(requested)}; use one of auto, ${ORT_PROVIDERS.join(', ')}`);
  return { order: usable(requested) ? (requested === 'cpu' ? ['cpu'] : [requested, 'cpu']) : ['cpu'], skipped };
}

// ------------------------------------------------------------------ sessions

export interface OrtSessionOptions {
  /** execution provider; default 'auto' (header) */
  provider?: OrtProvider | 'auto';
  /** an explicit provider must work: no fallback to cpu (default false) */
  strict?: boolean;
  /** intra-op threads; default physicalCoreCount() */
  intraOpThreads?: number;
  /** default 'all' (includes the NCHWc layout transformer on CPU) */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** receives provider decisions and fallbacks; default: a line on stderr */
  log?: (message: string) => void;
  /** Let idle intra-op threads spin-wait for work (ORT's default, true): fastest on a quiet
   *  machine; false yields the cores between ops, which measured faster on a busy one. */
  spin?: boolean;
  /** share a session with other callers for the same model and options (default true) */
  reuse?: boolean;
  /** ORT's profiler: writes `<prefix>_<time>.json` (Chrome trace events) on endProfiling(); implies reuse false */
  profilePrefix?: string;
  /** ORT's log severity (0 verbose .. 4 fatal; default 3). At 0 ORT prints, among much else, each
   *  node's provider ("All nodes placed on [...]"), through a buffered stream that can be lost when
   *  the process ends (tests read placement from the profile instead: tests/helpers/webgpu-check.ts). */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
}

export interface OrtValueMeta {
  name: string;
  /** 'float32', 'int64', ... */
  type: string;
  /** numbers are fixed, strings symbolic */
  shape: (number | string)[];
}

interface Core {
  key: string;
  session: Ort.InferenceSession;
  ort: typeof Ort;
  provider: OrtProvider;
  attempts: { provider: OrtProvider; ok: boolean; reason: string }[];
  threads: number;
  inputs: OrtValueMeta[];
  outputs: OrtValueMeta[];
  refs: number;
  released: boolean;
}

/** shared sessions by reuse key; `core` is set once the session exists */
const cache = new Map<string, { pending: Promise<Core>; core?: Core }>();

const defaultLog = (m: string): void => {
  process.stderr.write(`[sfumato:onnx] ${m}\n`);
};

function metaOf(session: Ort.InferenceSession, which: 'input' | 'output'): OrtValueMeta[] {
  const names = which === 'input' ? session.inputNames : session.outputNames;
  const metas = (which === 'input' ? session.inputMetadata : session.outputMetadata) as readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[] | undefined;
  return names.map((name, i) => {
    const m = metas?.[i];
    return { name, type: m?.isTensor ? String(m.type) : 'non-tensor', shape: m?.isTensor && m.shape ? [...m.shape] : [] };
  });
}

async function openCore(model: Uint8Array, key: string, opts: OrtSessionOptions): Promise<Core> {
  const ort = await loadOrt();
  const log = opts.log ?? defaultLog;
  const requested = opts.provider ?? 'auto';
  const backends = ort.listSupportedBackends().map((b) => b.name);
  const plan = providerPlan({ requested, platform: process.platform, backends, cudaInstalled: cudaAddonInstalled() });
  const attempts: Core['attempts'] = plan.skipped.map((s) => ({ ...s, ok: false }));
  if (opts.strict && requested !== 'auto' && plan.order[0] !== requested) {
    throw new OrtError('PROVIDER_UNAVAILABLE', `provider ${requested} is unavailable: ${plan.skipped.map((s) => s.reason).join('; ')}`);
  }
  const threads = opts.intraOpThreads ?? physicalCoreCount();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new OrtError('SESSION_CREATE', `intraOpThreads must be a positive integer, got ${threads}`);
  for (const provider of plan.order) {
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        enableCpuMemArena: true,
        enableMemPattern: true,
        logSeverityLevel: opts.logSeverity ?? 3,
        ...(opts.logSeverity === 0 ? { logVerbosityLevel: 0 } : {}),
        ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
        ...(opts.spin === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
      });
      attempts.push({ provider, ok: true, reason: provider === plan.order[0] ? `first choice for ${requested} on ${process.platform}` : 'fallback' });
      const others = attempts.filter((a) => !a.ok).map((a) => `${a.provider}: ${a.reason}`);
      log(`using ${provider} with ${threads} intra-op threads${others.length ? ` (${others.join('; ')})` : ''}`);
      return { key, session, ort, provider, attempts, threads, inputs: metaOf(session, 'input'), outputs: metaOf(session, 'output'), refs: 0, released: false };
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      attempts.push({ provider, ok: false, reason });
      if (provider === 'cpu' || (opts.strict && provider === requested)) {
        const code = provider === 'cpu' ? 'SESSION_CREATE' : 'PROVIDER_UNAVAILABLE';
        throw new OrtError(code, `ONNX Runtime could not create a ${provider} session: ${reason}`);
      }
      log(`${provider} failed (${reason}); falling back`);
    }
  }
  throw new OrtError('SESSION_CREATE', 'no execution provider to try (internal error)');
}

let webGpuQueue: Promise<unknown> = Promise.resolve();

/** Runs `f` after every WebGPU run queued before it (onnxruntime issue 32561; header). */
function serialisedWebGpu<T>(f: () => Promise<T>): Promise<T> {
  const next = webGpuQueue.then(f, f);
  webGpuQueue = next.catch(() => undefined);
  return next;
}

/** A handle on a (possibly shared) ORT session. dispose() releases it when its last handle goes. */
export class OrtSession {
  private disposed = false;
  constructor(private readonly core: Core) {
    core.refs++;
  }
  /** sha256 of the model bytes + options: the reuse key */
  get key(): string { return this.core.key; }
  get provider(): OrtProvider { return this.core.provider; }
  /** every provider considered, with why it was or was not used */
  get attempts(): readonly { provider: OrtProvider; ok: boolean; reason: string }[] { return this.core.attempts; }
  get intraOpThreads(): number { return this.core.threads; }
  get inputs(): readonly OrtValueMeta[] { return this.core.inputs; }
  get outputs(): readonly OrtValueMeta[] { return this.core.outputs; }
  get ort(): typeof Ort { return this.core.ort; }

  /** Checks feeds against the session's input names, types and shapes (symbolic dims must agree). */
  validate(feeds: Record<string, Ort.Tensor>): void {
    const expected = this.core.inputs.map((i) => i.name);
    const missing = expected.filter((n) => !(n in feeds));
    const extra = Object.keys(feeds).filter((n) => !expected.includes(n));
    if (missing.length || extra.length) {
      throw new OrtError('BAD_INPUT', `the model takes inputs ${expected.join(', ')}; ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? ', ' : ''}${extra.length ? `unexpected ${extra.join(', ')}` : ''}`);
    }
    const symbols = new Map<string, number>();
    for (const m of this.core.inputs) {
      const t = feeds[m.name];
      if (t.type !== m.type) throw new OrtError('BAD_INPUT', `input ${m.name} must be ${m.type}, got ${t.type}`);
      const dims = t.dims;
      if (dims.length !== m.shape.length) throw new OrtError('BAD_INPUT', `input ${m.name} must have rank ${m.shape.length} [${m.shape.join(', ')}], got [${dims.join(', ')}]`);
      m.shape.forEach((d, i) => {
        if (typeof d === 'number' && d >= 0 && dims[i] !== d) throw new OrtError('BAD_INPUT', `input ${m.name} must have shape [${m.shape.join(', ')}], got [${dims.join(', ')}]`);
        if (typeof d === 'string' && d !== '') {
          const seen = symbols.get(d);
          if (seen !== undefined && seen !== dims[i]) throw new OrtError('BAD_INPUT', `dimension ${d} is ${seen} in one input and ${dims[i]} in ${m.name}`);
          symbols.set(d, dims[i]);
        }
      });
    }
  }

  /** The one place a session runs. `fetches` may hold preallocated output tensors. */
  async run(feeds: Record<string, Ort.Tensor>, fetches?: Record<string, Ort.Tensor>): Promise<Record<string, Ort.Tensor>> {
    if (this.disposed || this.core.released) throw new OrtError('DISPOSED', 'ONNX session used after dispose()');
    this.validate(feeds);
    try {
      const go = () => (fetches ? this.core.session.run(feeds, fetches) : this.core.session.run(feeds));
      const out = this.core.provider === 'webgpu' ? await serialisedWebGpu(go) : await go();
      return out as Record<string, Ort.Tensor>;
    } catch (e) {
      throw new OrtError('RUN_FAILED', `ONNX Runtime run failed on ${this.core.provider}: ${(e as Error).message}`);
    }
  }

  /** Stops ORT's profiler (sessions opened with profilePrefix) and writes its trace file. */
  endProfiling(): void {
    this.core.session.endProfiling();
  }

  /** Releases this handle; the session itself goes with its last handle. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (--this.core.refs > 0) return;
    if (cache.get(this.core.key)?.core === this.core) cache.delete(this.core.key);
    if (!this.core.released) {
      this.core.released = true;
      await this.core.session.release();
    }
  }
}

/** Reuse key: model bytes hash + provider request + options that change the session. */
export function sessionKey(model: Uint8Array, opts: OrtSessionOptions): string {
  const hash = createHash('sha256').update(model).digest('hex');
  return `${hash}|${opts.provider ?? 'auto'}|${opts.strict ? 'strict' : 'fallback'}|${opts.intraOpThreads ?? physicalCoreCount()}|${opts.graphOptimizationLevel ?? 'all'}|${opts.spin === false ? 'nospin' : 'spin'}|${opts.logSeverity ?? 3}`;
}

/** Creates (or shares) a session for the model bytes. */
export async function createOrtSession(model: Uint8Array, opts: OrtSessionOptions = {}): Promise<OrtSession> {
  const key = sessionKey(model, opts);
  if (opts.reuse === false || opts.profilePrefix) return new OrtSession(await openCore(model, key + '|private', opts));
  for (;;) {
    let entry = cache.get(key);
    if (!entry) {
      const fresh: { pending: Promise<Core>; core?: Core } = { pending: openCore(model, key, opts) };
      fresh.pending.then(
        (core) => (fresh.core = core),
        () => {
          if (cache.get(key) === fresh) cache.delete(key);
        },
      );
      cache.set(key, fresh);
      entry = fresh;
    }
    const core = await entry.pending;
    // its last handle may have been disposed while we waited: open a fresh one then
    if (!core.released) return new OrtSession(core);
    if (cache.get(key) === entry) cache.delete(key);
  }
}

/** Releases every shared session now (app or job shutdown); their handles then throw DISPOSED. */
export async function releaseAllOrtSessions(): Promise<void> {
  const cores = await Promise.allSettled([...cache.values()].map((e) => e.pending));
  cache.clear();
  for (const c of cores) {
    if (c.status === 'fulfilled' && !c.value.released) {
      c.value.released = true;
      await c.value.session.release();
    }
  }
}

/** Number of shared sessions alive (for tests and diagnostics). */
export function sharedSessionCount(): number {
  return cache.size;
}

// ------------------------------------------------------------------ NetworkFn adapter

export interface OrtNetworkOptions {
  /** dtype of the timestep input; 'auto' (default) reads it from the session. int types get
   *  round(t): fractional timesteps (e.g. from sigma -> t interpolation) go to the nearest step. */
  timestepType?: 'auto' | 'float32' | 'float64' | 'int64' | 'int32';
  /** rank of the timestep input: scalar [], [B], or 'auto' (default, from the session) */
  timestepRank?: 'auto' | 0 | 1;
  /** Write outputs into buffers preallocated per batch size and return them: the array returned
   *  by one call is overwritten by the next call with the same batch size. The diffusion adapters
   *  (denoiserFromNetwork, edmDenoiser) consume it at once, so they may use this. Default false. */
  reuseOutput?: boolean;
}

function timestepTensor(ort: typeof Ort, type: string, rank: number, n: number, t: number): Ort.Tensor {
  const dims = rank === 0 ? [] : [n];
  const len = rank === 0 ? 1 : n;
  if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(len).fill(BigInt(Math.round(t))), dims);
  if (type === 'int32') return new ort.Tensor('int32', new Int32Array(len).fill(Math.round(t)), dims);
  if (type === 'float64') return new ort.Tensor('float64', new Float64Array(len).fill(t), dims);
  return new ort.Tensor('float32', new Float32Array(len).fill(t), dims);
}

/**
 * A UNet session (inputs `sample` [B,C,H,W] float32 + `timestep`, one output of the sample's shape)
 * as the diffusion core's NetworkFn over NCHW Float32Arrays, so every sampler runs over ORT.
 * A model with a fixed batch size b0 is run in chunks of b0 (the last one zero-padded).
 */
export function ortNetwork(session: OrtSession, opts: OrtNetworkOptions = {}): NetworkFn {
  const sampleMeta = session.inputs.find((i) => i.name === ONNX_INPUT_SAMPLE);
  const tMeta = session.inputs.find((i) => i.name === ONNX_INPUT_TIMESTEP);
  // class-conditional UNets have a third input, class_label int64 [B] (export.ts)
  const classMeta = session.inputs.find((i) => i.name === ONNX_INPUT_CLASS);
  if (!sampleMeta || !tMeta || session.inputs.length !== (classMeta ? 3 : 2) || session.outputs.length !== 1) {
    throw new OrtError('BAD_INPUT', `a UNet session needs inputs ${ONNX_INPUT_SAMPLE}, ${ONNX_INPUT_TIMESTEP} (and ${ONNX_INPUT_CLASS} when class-conditional) and one output; this one has inputs ${session.inputs.map((i) => i.name).join(', ')} and ${session.outputs.length} outputs`);
  }
  const outName = session.outputs[0].name;
  const tType = opts.timestepType && opts.timestepType !== 'auto' ? opts.timestepType : tMeta.type;
  const tRank = opts.timestepRank !== undefined && opts.timestepRank !== 'auto' ? opts.timestepRank : tMeta.shape.length;
  const fixedBatch = typeof sampleMeta.shape[0] === 'number' && sampleMeta.shape[0] > 0 ? sampleMeta.shape[0] : undefined;
  // a [1]-shaped timestep (fixed 1) is fed as [1] whatever the batch
  const tFixedOne = tRank === 1 && tMeta.shape[0] === 1;
  const buffers = new Map<string, { tensor: Ort.Tensor; data: Float32Array }>();
  const ort = session.ort;

  const runChunk = async (x: Float32Array, dims: number[], t: number, reuse: boolean, labels?: Int32Array): Promise<Float32Array> => {
    const feeds: Record<string, Ort.Tensor> = {
      [ONNX_INPUT_SAMPLE]: new ort.Tensor('float32', x, dims),
      [ONNX_INPUT_TIMESTEP]: timestepTensor(ort, tType, tRank, tFixedOne ? 1 : dims[0], t),
    };
    if (classMeta) {
      if (!labels || labels.length !== dims[0]) throw new OrtError('BAD_INPUT', `this UNet is class-conditional: give ${dims[0]} class labels (input ${ONNX_INPUT_CLASS})`);
      feeds[ONNX_INPUT_CLASS] = new ort.Tensor('int64', BigInt64Array.from(labels, (l) => BigInt(l)), [dims[0]]);
    } else if (labels) throw new OrtError('BAD_INPUT', 'class labels given to an unconditional UNet');
    if (reuse) {
      const k = dims.join('x');
      let buf = buffers.get(k);
      if (!buf) {
        const data = new Float32Array(x.length);
        buf = { tensor: new ort.Tensor('float32', data, dims), data };
        buffers.set(k, buf);
      }
      await session.run(feeds, { [outName]: buf.tensor });
      return buf.data;
    }
    const out = (await session.run(feeds))[outName];
    if (out.type !== 'float32') throw new OrtError('RUN_FAILED', `the model's output ${outName} is ${out.type}, expected float32`);
    return out.data as Float32Array;
  };

  return async (xIn: Float32Array, shape: Shape, t: number, labels?: Int32Array): Promise<Float32Array> => {
    if (shape.length !== 4) throw new OrtError('BAD_INPUT', `sample must be NCHW [B, C, H, W], got [${shape.join(', ')}]`);
    const [B, C, H, W] = shape;
    const per = C * H * W;
    if (xIn.length !== B * per) throw new OrtError('BAD_INPUT', `sample has ${xIn.length} values for shape [${shape.join(', ')}]`);
    if (!fixedBatch || fixedBatch === B) {
      const out = await runChunk(xIn, [B, C, H, W], t, opts.reuseOutput ?? false, labels);
      if (out.length !== xIn.length) throw new OrtError('RUN_FAILED', `the model returned ${out.length} values for a sample of ${xIn.length}`);
      return out;
    }
    const result = new Float32Array(B * per);
    for (let start = 0; start < B; start += fixedBatch) {
      const n = Math.min(fixedBatch, B - start);
      const chunk = new Float32Array(fixedBatch * per);
      chunk.set(xIn.subarray(start * per, (start + n) * per));
      let chunkLabels: Int32Array | undefined;
      if (labels) {
        chunkLabels = new Int32Array(fixedBatch).fill(labels[labels.length - 1]);
        chunkLabels.set(labels.subarray(start, start + n));
      }
      const out = await runChunk(chunk, [fixedBatch, C, H, W], t, true, chunkLabels);
      result.set(out.subarray(0, n * per), start * per);
    }
    return result;
  };
}

/**
 * Which ONNX Runtime execution provider a training or sampling session runs on, chosen by probing.
 *
 * Candidates, best first (docs/design-notes.md §ONNX Runtime providers): WebGPU (bundled in
 * onnxruntime-node on Linux and Windows: Dawn over Vulkan / D3D12), CUDA (Linux, only when the
 * opt-in provider library is installed), DirectML (Windows), CoreML (macOS), then CPU.
 *
 * Each available candidate is probed with a real workload that the caller supplies (a tiny
 * training step for training, a denoiser run for sampling): it must
 *   1. create a session and run the workload,
 *   2. agree with the CPU provider on every output within the workload's tolerance, and
 *   3. (automatic choice only; checked first, as it is the quick way out on CPU-only machines)
 *      beat the CPU provider on a compute-bound probe (two 512x512 MatMuls, best of 3 runs). A software adapter (SwiftShader, llvmpipe: Dawn accepts both) runs it ~10-50x
 *      slower than the CPU provider, and so does a GPU too weak to help; either way the CPU path
 *      is the faster one, so the candidate is skipped with the two timings as the reason.
 * The first candidate that passes is selected; every other one gets a one-line `why`.
 *
 * A provider forced by the user (`--provider X`) is probed for 1 and 2 only, and a failure is an
 * OrtError PROVIDER_UNAVAILABLE naming the reason (no silent fallback).
 *
 * Test hook: SFUMATO_TEST_FAIL_PROVIDER=webgpu (comma list) makes those providers' probes fail
 * (read in forcedFailure() only), so tests can check the fallback and its recorded reason.
 */
import type * as Ort from 'onnxruntime-node';
import { DataType, encodeModel } from './proto';
import { GraphBuilder, valueInfo } from './graph';
import { inspectOnnxUNet } from './inspect';
import { cudaAddonInstalled, createOrtSession, loadOrt, OrtError, type OrtProvider, type OrtSession } from './session';

/** The automatic order (header). */
export const AUTO_PROVIDER_ORDER: readonly OrtProvider[] = ['webgpu', 'cuda', 'dml', 'coreml', 'cpu'];

/** Environment variable of the test hook (header). */
export const FAIL_PROVIDER_ENV = 'SFUMATO_TEST_FAIL_PROVIDER';

export interface ProviderStatus {
  provider: OrtProvider;
  /** onnxruntime-node has it on this machine (built in, or its opt-in library installed) */
  available: boolean;
  /** the sessions of this kind run on it */
  selected: boolean;
  /** one line: why it is (not) selected */
  why: string;
}

export interface ProviderChoice {
  provider: OrtProvider;
  /** every provider of AUTO_PROVIDER_ORDER, with available / selected / why */
  table: ProviderStatus[];
}

/** A probe: a small model, its feeds, and how close every output must be to the CPU's. */
export interface ProbeWorkload {
  /** 'training step' / 'denoiser run': used in reasons */
  label: string;
  model: Uint8Array;
  feeds: Record<string, { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int64'; data: BigInt64Array; dims: number[] }>;
  /** max |candidate - cpu| / max |cpu| allowed, per output */
  rtol: number;
}

export interface ProviderFacts {
  platform: NodeJS.Platform;
  /** names from onnxruntime-node's listSupportedBackends() with bundled true, plus cuda when installed */
  backends: readonly string[];
  cudaInstalled: boolean;
}

/** Pure: whether each provider can be tried here, and why not. */
export function providerAvailability({ platform, backends, cudaInstalled }: ProviderFacts): { provider: OrtProvider; available: boolean; why: string }[] {
  return AUTO_PROVIDER_ORDER.map((provider) => {
    if (provider === 'cpu') return { provider, available: true, why: 'always available' };
    if (provider === 'dml' && platform !== 'win32') return { provider, available: false, why: 'DirectML is Windows only' };
    if (provider === 'coreml' && platform !== 'darwin') return { provider, available: false, why: 'CoreML is macOS only' };
    if (provider === 'cuda' && platform !== 'linux') return { provider, available: false, why: 'onnxruntime-node ships CUDA for Linux only' };
    if (provider === 'cuda' && !cudaInstalled) return { provider, available: false, why: 'the CUDA add-on is not installed (see README: "NVIDIA GPUs on Linux")' };
    if (!backends.includes(provider)) return { provider, available: false, why: `not built into onnxruntime-node for ${platform} (it has ${backends.join(', ')})` };
    return { provider, available: true, why: 'available' };
  });
}

/** The test hook (header): the reason a provider's probe is made to fail, or undefined. */
export function forcedFailure(provider: OrtProvider, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const list = (env[FAIL_PROVIDER_ENV] ?? '').split(',').map((s) => s.trim().toLowerCase());
  return list.includes(provider) ? `made to fail by ${FAIL_PROVIDER_ENV} (test hook)` : undefined;
}

/** The provider facts of this machine. */
export async function machineProviderFacts(): Promise<ProviderFacts> {
  const ort = await loadOrt();
  return { platform: process.platform, backends: ort.listSupportedBackends().filter((b) => b.bundled || b.name === 'cuda').map((b) => b.name), cudaInstalled: cudaAddonInstalled() };
}

function feedsOf(ort: typeof Ort, w: ProbeWorkload): Record<string, Ort.Tensor> {
  const out: Record<string, Ort.Tensor> = {};
  for (const [name, f] of Object.entries(w.feeds)) out[name] = f.type === 'int64' ? new ort.Tensor('int64', f.data.slice(), f.dims) : new ort.Tensor('float32', f.data.slice(), f.dims);
  return out;
}

/** Runs once (warm-up, its outputs returned), then up to `repeats` timed runs, stopping early once a run takes over `stopAboveMs`. */
async function runOn(provider: OrtProvider, model: Uint8Array, feeds: (ort: typeof Ort) => Record<string, Ort.Tensor>, repeats = 0, stopAboveMs = Infinity): Promise<{ out: Record<string, Float32Array>; bestMs: number }> {
  const session: OrtSession = await createOrtSession(model, { provider, strict: true, reuse: false, log: () => {} });
  try {
    const first = await session.run(feeds(session.ort));
    const out: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(first)) out[k] = t.data as Float32Array;
    let bestMs = Infinity;
    for (let r = 0; r < repeats; r++) {
      const f = feeds(session.ort);
      const t0 = performance.now();
      await session.run(f);
      const ms = performance.now() - t0;
      bestMs = Math.min(bestMs, ms);
      if (ms > stopAboveMs) break;
    }
    return { out, bestMs };
  } finally {
    await session.dispose();
  }
}

/** Largest per-output relative difference max|a-b| / max|b| (b the CPU reference), and its output. */
export function worstRelativeDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): { rel: number; output: string } {
  let worst = { rel: 0, output: '' };
  for (const [name, ref] of Object.entries(b)) {
    const got = a[name];
    if (!got || got.length !== ref.length) return { rel: Infinity, output: name };
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(got[i] - ref[i]);
      if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    const rel = diff === 0 ? 0 : diff / Math.max(scale, 1e-30);
    if (rel > worst.rel || !worst.output) worst = { rel, output: name };
  }
  return worst;
}

const SPEED_N = 512;
const SPEED_DEPTH = 2;
let speedModel: Uint8Array | undefined;

/** The compute-bound probe: x [512,512] through 2 MatMuls by a constant matrix (0.5 GFLOP). */
function speedProbeModel(): Uint8Array {
  if (speedModel) return speedModel;
  const g = new GraphBuilder();
  const x = g.fresh('x');
  const w = new Float32Array(SPEED_N * SPEED_N);
  // a scaled permutation-like pattern keeps values bounded through the chain
  for (let i = 0; i < SPEED_N; i++) w[i * SPEED_N + ((i * 7 + 3) % SPEED_N)] = 1;
  const wName = g.floatInit('w', [SPEED_N, SPEED_N], w);
  let y = x;
  for (let k = 0; k < SPEED_DEPTH; k++) y = g.op('MatMul', [y, wName], {}, `y${k}`);
  speedModel = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'sfumato-provider-probe',
    graph: g.graph('provider_speed_probe', [valueInfo(x, DataType.FLOAT, [SPEED_N, SPEED_N])], [valueInfo(y, DataType.FLOAT, [SPEED_N, SPEED_N])]),
  });
  return speedModel;
}

function speedFeeds(ort: typeof Ort): Record<string, Ort.Tensor> {
  const x = new Float32Array(SPEED_N * SPEED_N);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return { x: new ort.Tensor('float32', x, [SPEED_N, SPEED_N]) };
}

/** Best-of-3 milliseconds of the speed probe on a provider (after a warm-up run); it stops
 *  after the first timed run that takes over `stopAboveMs` (a software adapter: seconds a run). */
export async function speedProbeMs(provider: OrtProvider, stopAboveMs = Infinity): Promise<number> {
  return (await runOn(provider, speedProbeModel(), speedFeeds, 3, stopAboveMs)).bestMs;
}

/** speed probe results of this process (a provider's speed does not depend on the workload) */
const speeds = new Map<OrtProvider, Promise<number>>();

function speedOf(provider: OrtProvider, stopAboveMs = Infinity): Promise<number> {
  let p = speeds.get(provider);
  if (!p) {
    p = speedProbeMs(provider, stopAboveMs);
    speeds.set(provider, p);
    p.catch(() => speeds.delete(provider));
  }
  return p;
}

/**
 * Probes one candidate against the CPU reference; resolves to a one-line success note or rejects
 * with the one-line reason. `speed` adds the compute-bound comparison (header, step 3).
 */
async function probeCandidate(provider: OrtProvider, w: ProbeWorkload, cpu: () => Promise<Record<string, Float32Array>>, speed: boolean): Promise<string> {
  const hook = forcedFailure(provider);
  if (hook) throw new Error(hook);
  // speed first: on a CPU-only machine it rejects the software adapter in a few seconds
  let fast = '';
  if (speed) {
    const ref = await speedOf('cpu');
    const mine = await speedOf(provider, 4 * ref);
    if (!(mine < ref)) {
      throw new Error(`slower than the CPU provider on a ${((2 * SPEED_N ** 3 * SPEED_DEPTH) / 1e9).toFixed(1)} GFLOP MatMul probe (${mine.toFixed(1)} ms vs ${ref.toFixed(1)} ms): a software adapter (SwiftShader, llvmpipe) or a GPU too weak to help`);
    }
    fast = `; ${(ref / mine).toFixed(1)}x the CPU provider on the MatMul probe`;
  }
  let got: Record<string, Float32Array>;
  try {
    got = (await runOn(provider, w.model, (ort) => feedsOf(ort, w))).out;
  } catch (e) {
    throw new Error(`the probe ${w.label} failed: ${(e as Error).message.split('\n')[0]}`);
  }
  const { rel, output } = worstRelativeDiff(got, await cpu());
  if (!(rel <= w.rtol)) throw new Error(`the probe ${w.label} disagrees with the CPU provider (${output}: relative difference ${rel.toExponential(2)} > ${w.rtol})`);
  return `the probe ${w.label} matches the CPU provider (relative difference ${rel.toExponential(1)})${fast}`;
}

/** The first line of an ORT error, without its source location and failed-check preamble. */
export function shortReason(message: string): string {
  return message.split('\n')[0].replace(/\/onnxruntime_src\/\S+:\d+ .*? was false\. /, '').replace(/\/onnxruntime_src\/\S+:\d+ \S+ /, '');
}

/** Memoises an async thunk. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

export interface ChooseProviderOptions {
  requested: OrtProvider | 'auto';
  workload: ProbeWorkload;
  /** probe every available candidate, not only up to the first that passes (the info table) */
  exhaustive?: boolean;
  facts?: ProviderFacts;
  /** one line per decision */
  log?: (message: string) => void;
}

/** Chooses the provider (header); rejects with OrtError PROVIDER_UNAVAILABLE for a forced provider that fails. */
export async function chooseProvider(opts: ChooseProviderOptions): Promise<ProviderChoice> {
  const { requested, workload } = opts;
  const log = opts.log ?? (() => {});
  if (requested !== 'auto' && !AUTO_PROVIDER_ORDER.includes(requested)) {
    throw new OrtError('PROVIDER_UNAVAILABLE', `unknown provider ${JSON.stringify(requested)}; use one of auto, ${AUTO_PROVIDER_ORDER.join(', ')}`);
  }
  const facts = opts.facts ?? (await machineProviderFacts());
  const cpu = once(async () => (await runOn('cpu', workload.model, (ort) => feedsOf(ort, workload))).out);
  const table: ProviderStatus[] = [];
  let selected: OrtProvider | undefined;
  for (const a of providerAvailability(facts)) {
    const row: ProviderStatus = { provider: a.provider, available: a.available, selected: false, why: a.why };
    table.push(row);
    if (!a.available) continue;
    if (a.provider === 'cpu') {
      if (requested === 'cpu') [row.selected, row.why] = [true, 'asked for (--provider cpu)'];
      else if (requested !== 'auto') row.why = `the probe's reference only (--provider ${requested})`;
      else if (!selected) [row.selected, row.why] = [true, 'no GPU provider passed its probe'];
      else row.why = `available; ${selected} comes first`;
      if (row.selected) selected = 'cpu';
      continue;
    }
    if (requested !== 'auto' && requested !== a.provider) {
      row.why = `not tried: --provider ${requested}`;
      continue;
    }
    if (selected && !opts.exhaustive) {
      row.why = `not probed: ${selected} was chosen first`;
      continue;
    }
    try {
      const note = await probeCandidate(a.provider, workload, cpu, requested === 'auto');
      if (selected) row.why = `passes its probe (${note}) but ${selected} comes first`;
      else {
        [row.selected, row.why] = [true, requested === 'auto' ? note : `asked for (--provider ${requested}); ${note}`];
        selected = a.provider;
      }
    } catch (e) {
      row.why = shortReason((e as Error).message);
      if (requested === a.provider) throw new OrtError('PROVIDER_UNAVAILABLE', `provider ${requested} was asked for but cannot be used: ${row.why}`);
    }
  }
  if (requested !== 'auto' && !selected) {
    throw new OrtError('PROVIDER_UNAVAILABLE', `provider ${requested} is unavailable: ${table.find((r) => r.provider === requested)?.why ?? 'unknown'}`);
  }
  for (const r of table) if (!r.selected && r.available) log(`provider ${r.provider} skipped: ${r.why}`);
  const chosen = table.find((r) => r.selected)!;
  log(`provider ${chosen.provider} selected: ${chosen.why}`);
  return { provider: chosen.provider, table };
}

/** One line per provider for logs and the CLI. */
export function formatProviderTable(table: readonly ProviderStatus[]): string[] {
  return table.map((r) => `${r.selected ? '*' : ' '} ${r.provider.padEnd(7)} ${r.available ? 'available  ' : 'unavailable'}  ${r.why}`);
}

/**
 * The sampling probe: one run of the UNet itself (batch 1, or its fixed batch) on a fixed smooth
 * input at a mid timestep; `size` is the image size when the model leaves H/W symbolic.
 */
export function denoiserProbeWorkload(model: Uint8Array, size?: number): ProbeWorkload {
  const sig = inspectOnnxUNet(model);
  const H = sig.height ?? size;
  const W = sig.width ?? size;
  if (!H || !W) throw new OrtError('BAD_INPUT', 'the denoiser probe needs the image size of a model with symbolic height/width');
  const B = sig.batch ?? 1;
  const C = sig.channels;
  const x = new Float32Array(B * C * H * W);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.8;
  const t = 500;
  const tDims = sig.timestep.rank === 0 ? [] : [sig.timestep.dims[0] === 1 ? 1 : B];
  const n = sig.timestep.rank === 0 ? 1 : tDims[0];
  const timestep: ProbeWorkload['feeds'][string] =
    sig.timestep.dtype === 'int64' ? { type: 'int64', data: new BigInt64Array(n).fill(BigInt(t)), dims: tDims } : { type: 'float32', data: new Float32Array(n).fill(t), dims: tDims };
  if (sig.timestep.dtype === 'int32' || sig.timestep.dtype === 'float64') throw new OrtError('BAD_INPUT', `the denoiser probe feeds float32 or int64 timesteps; this model takes ${sig.timestep.dtype}`);
  return { label: 'denoiser run', model, feeds: { [sig.sample.name]: { type: 'float32', data: x, dims: [B, C, H, W] }, [sig.timestep.name]: timestep }, rtol: 1e-3 };
}

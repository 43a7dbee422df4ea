/**
 * ORT sessions (session.ts): provider choice with fallback and logged reasons, reuse and dispose,
 * input validation at the one run choke point, and the NetworkFn adapter under every sampler.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNoise, ddim, epsDenoiserDiscrete, x0DenoiserDiscrete, makeProcess, planSampler, runSampler, SAMPLER_NAMES, startState, validateSamplerSettings, type DiscreteSchedule, type SamplerSettings } from '../../../src-main/diffusion/index';
import { exportUNetToOnnx } from '../../../src-main/onnx/export';
import {
  createOrtSession,
  cudaAddonInstalled,
  ortNetwork,
  OrtError,
  physicalCoreCount,
  providerPlan,
  releaseAllOrtSessions,
  sharedSessionCount,
  type OrtSession,
} from '../../../src-main/onnx/session';
import type { UNet } from '../../../src-main/network/unet';
import { toRgbBytes } from '../../../src-main/gallery/png';
import { tfjsNetwork } from '../../../src-main/network/tfjs-network';
import { DataType } from '../../../src-main/onnx/proto';
import { maxAbs, maxAbsDiff, randomUNet, TINY, toyUNetBytes } from './helpers';

const silent = () => {};
const opened: OrtSession[] = [];
async function open(bytes: Uint8Array, opts: Parameters<typeof createOrtSession>[1] = {}): Promise<OrtSession> {
  const s = await createOrtSession(bytes, { log: silent, intraOpThreads: 1, ...opts });
  opened.push(s);
  return s;
}
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  for (const s of opened) await s.dispose();
});

async function rejection(p: Promise<unknown>): Promise<OrtError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OrtError);
    return e as OrtError;
  }
  throw new Error('did not throw');
}

describe('providerPlan (pure)', () => {
  const all = ['cpu', 'webgpu', 'cuda', 'tensorrt'];
  it('auto: the OS GPU provider first, then cpu; webgpu only on request', () => {
    expect(providerPlan({ requested: 'auto', platform: 'linux', backends: all, cudaInstalled: true }).order).toEqual(['cuda', 'cpu']);
    const noCuda = providerPlan({ requested: 'auto', platform: 'linux', backends: all, cudaInstalled: false });
    expect(noCuda.order).toEqual(['cpu']);
    expect(noCuda.skipped.map((s) => s.provider)).toEqual(['cuda', 'webgpu']);
    expect(noCuda.skipped[0].reason).toMatch(/CUDA add-on is not installed/);
    expect(providerPlan({ requested: 'auto', platform: 'win32', backends: ['cpu', 'dml', 'webgpu'], cudaInstalled: false }).order).toEqual(['dml', 'cpu']);
    expect(providerPlan({ requested: 'auto', platform: 'darwin', backends: ['cpu', 'coreml', 'webgpu'], cudaInstalled: false }).order).toEqual(['coreml', 'cpu']);
    expect(providerPlan({ requested: 'auto', platform: 'freebsd', backends: ['cpu'], cudaInstalled: false })).toEqual({ order: ['cpu'], skipped: [] });
  });
  it('explicit providers: tried first with cpu as fallback, or skipped with a reason', () => {
    expect(providerPlan({ requested: 'webgpu', platform: 'linux', backends: all, cudaInstalled: false }).order).toEqual(['webgpu', 'cpu']);
    expect(providerPlan({ requested: 'cpu', platform: 'linux', backends: all, cudaInstalled: false }).order).toEqual(['cpu']);
    const dml = providerPlan({ requested: 'dml', platform: 'linux', backends: all, cudaInstalled: false });
    expect(dml.order).toEqual(['cpu']);
    expect(dml.skipped[0].reason).toMatch(/not built into onnxruntime-node for linux/);
    expect(() => providerPlan({ requested: 'tpu' as never, platform: 'linux', backends: all, cudaInstalled: false })).toThrow(/unknown provider "tpu"/);
  });
});

describe('sessions', () => {
  const bytes = toyUNetBytes();

  it('auto on this machine: cpu, with the reasons logged, threads = physical cores', async () => {
    const lines: string[] = [];
    const s = await open(bytes, { log: (m) => lines.push(m), intraOpThreads: undefined, reuse: false });
    if (!cudaAddonInstalled()) expect(s.provider).toBe('cpu');
    expect(s.intraOpThreads).toBe(physicalCoreCount());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^using ${s.provider} with \\d+ intra-op threads`));
    if (process.platform === 'linux' && !cudaAddonInstalled()) expect(lines[0]).toMatch(/cuda: the CUDA add-on is not installed/);
    expect(s.inputs).toEqual([
      { name: 'sample', type: 'float32', shape: ['batch', 3, 8, 8] },
      { name: 'timestep', type: 'int64', shape: [] },
    ]);
    expect(s.outputs).toEqual([{ name: 'out_sample', type: 'float32', shape: ['batch', 3, 8, 8] }]);
  });

  it('a provider that cannot start falls back to cpu with a logged reason; strict makes it an error', async () => {
    const lines: string[] = [];
    const s = await open(bytes, { provider: 'webgpu', log: (m) => lines.push(m), reuse: false });
    if (s.provider === 'cpu') {
      // no WebGPU adapter here (CPU-only machine): the failure and the fallback are both logged
      expect(lines.join('\n')).toMatch(/webgpu failed \(.+\); falling back/);
      expect(s.attempts.find((a) => a.provider === 'webgpu')?.ok).toBe(false);
    } else expect(s.provider).toBe('webgpu');
    if (process.platform !== 'win32') {
      const err = await rejection(open(bytes, { provider: 'dml', strict: true }));
      expect(err.code).toBe('PROVIDER_UNAVAILABLE');
      expect(err.message).toMatch(/provider dml is unavailable: not built into onnxruntime-node/);
      const fallback = await open(bytes, { provider: 'dml', reuse: false });
      expect(fallback.provider).toBe('cpu');
    }
  });

  it('reuse: one session per model bytes + options, released with its last handle', async () => {
    const before = sharedSessionCount();
    const a = await createOrtSession(bytes, { log: silent, intraOpThreads: 1 });
    const b = await createOrtSession(Uint8Array.from(bytes), { log: silent, intraOpThreads: 1 });
    const c = await createOrtSession(bytes, { log: silent, intraOpThreads: 2 });
    expect(b.key).toBe(a.key);
    expect(c.key).not.toBe(a.key);
    expect(sharedSessionCount()).toBe(before + 2);
    await a.dispose();
    await a.dispose(); // idempotent
    const x = new Float32Array(3 * 64).fill(1);
    const out = await b.run({ sample: new b.ort.Tensor('float32', x, [1, 3, 8, 8]), timestep: new b.ort.Tensor('int64', new BigInt64Array([0n]), []) });
    expect(out.out_sample.dims).toEqual([1, 3, 8, 8]);
    await b.dispose();
    await c.dispose();
    expect(sharedSessionCount()).toBe(before);
    expect((await rejection(b.run({}))).code).toBe('DISPOSED');
  });

  it('concurrent opens share one session; a handle disposed meanwhile does not leave a dead one; releaseAll', async () => {
    const model = toyUNetBytes({ sampleDims: ['batch', 2, 4, 4] });
    const [a, b] = await Promise.all([createOrtSession(model, { log: silent }), createOrtSession(model, { log: silent })]);
    expect(a.key).toBe(b.key);
    await a.dispose();
    const pendingC = createOrtSession(model, { log: silent });
    await b.dispose(); // last handle goes while c is being created
    const c = await pendingC;
    const x = new Float32Array(2 * 16);
    const run = () => c.run({ sample: new c.ort.Tensor('float32', x, [1, 2, 4, 4]), timestep: new c.ort.Tensor('int64', new BigInt64Array([1n]), []) });
    expect((await run()).out_sample.dims).toEqual([1, 2, 4, 4]);
    await releaseAllOrtSessions();
    expect(sharedSessionCount()).toBe(0);
    expect((await rejection(run())).code).toBe('DISPOSED');
    await c.dispose();
  });

  it('validates feeds against the input names, types and shapes', async () => {
    const s = await open(bytes);
    const T = s.ort.Tensor;
    const x = (dims: number[]) => new T('float32', new Float32Array(dims.reduce((p, d) => p * d, 1)), dims);
    const t = new T('int64', new BigInt64Array([10n]), []);
    expect((await rejection(s.run({ sample: x([1, 3, 8, 8]) }))).message).toBe('the model takes inputs sample, timestep; missing timestep');
    expect((await rejection(s.run({ sample: x([1, 3, 8, 8]), timestep: t, cond: x([1]) }))).message).toMatch(/unexpected cond/);
    expect((await rejection(s.run({ sample: x([1, 3, 8, 8]), timestep: new T('float32', new Float32Array([1]), []) }))).message).toBe('input timestep must be int64, got float32');
    expect((await rejection(s.run({ sample: x([3, 8, 8]), timestep: t }))).message).toBe('input sample must have rank 4 [batch, 3, 8, 8], got [3, 8, 8]');
    expect((await rejection(s.run({ sample: x([1, 3, 16, 16]), timestep: t }))).code).toBe('BAD_INPUT');
    // a symbolic dim must agree across inputs
    const f = await open(toyUNetBytes({ timestepType: DataType.FLOAT, timestepDims: ['batch'] }));
    const err = await rejection(f.run({ sample: x([2, 3, 8, 8]), timestep: new T('float32', new Float32Array(3), [3]) }));
    expect(err.message).toBe('dimension batch is 2 in one input and 3 in timestep');
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'BAD_INPUT', message: err.message });
  });

  it('ortNetwork: preallocated outputs are reused when asked, fresh arrays otherwise', async () => {
    const s = await open(bytes);
    const x = new Float32Array(2 * 3 * 64).fill(1);
    const reuse = ortNetwork(s, { reuseOutput: true });
    const o1 = await reuse(x, [2, 3, 8, 8], 100);
    const v1 = o1[0];
    const o2 = await reuse(x, [2, 3, 8, 8], 200);
    expect(o2).toBe(o1);
    expect(v1).toBeCloseTo(1.1, 6);
    expect(o2[0]).toBeCloseTo(1.2, 6);
    const fresh = ortNetwork(s);
    expect(await fresh(x, [2, 3, 8, 8], 1)).not.toBe(await fresh(x, [2, 3, 8, 8], 1));
    await expect(fresh(x, [2, 3, 8], 1)).rejects.toThrow(/NCHW/);
    await expect(fresh(x, [3, 3, 8, 8], 1)).rejects.toThrow(/values for shape/);
    expect(() => ortNetwork(s, { timestepType: 'float32' })).not.toThrow();
    await expect(ortNetwork(s, { timestepType: 'float32' })(x, [2, 3, 8, 8], 1)).rejects.toThrow(/timestep must be int64, got float32/);
  });
});

describe('every sampler runs over ORT and matches tfjs', () => {
  const schedule = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 1000 }) as DiscreteSchedule;
  let model: UNet;
  let onnx: Uint8Array;
  beforeAll(() => {
    model = randomUNet(TINY, 21);
    onnx = exportUNetToOnnx(model, { prediction: 'eps', schedule: schedule.config, appVersion: 't' });
  });
  afterAll(() => model.dispose());

  const settingsFor = (name: (typeof SAMPLER_NAMES)[number]): SamplerSettings =>
    name === 'pf-ode' ? { name, rtol: 0.05, atol: 0.05, sigmaMin: 2 } : { name, steps: name === 'ddpm' ? 4 : 3 };

  it.each([...SAMPLER_NAMES])('%s', async (name) => {
    const s = await open(onnx);
    const shape = [2, 3, 16, 16];
    const settings = validateSamplerSettings(settingsFor(name), schedule);
    const plan = planSampler(settings, schedule);
    const run = async (net: ReturnType<typeof ortNetwork>) => {
      const noise = batchNoise([3, 4], 3 * 256);
      return runSampler(epsDenoiserDiscrete(net, schedule), startState(plan, noise.initial()), shape, settings, schedule, { noise });
    };
    const ort = await run(ortNetwork(s, { reuseOutput: true }));
    const ref = await run(tfjsNetwork(model));
    expect(ort.nfe).toBe(ref.nfe);
    console.log(`[sampler] ${name}: nfe ${ort.nfe}`);
    expect(ort.x.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(ort.x, ref.x)).toBeLessThanOrEqual(1e-3 * maxAbs(ref.x));
  });

  it('DDIM 20 steps: ORT images repeat exactly; ORT vs tfjs 8-bit images agree within 1/255', async () => {
    const s = await open(onnx, { reuse: false });
    const shape = [2, 3, 16, 16];
    const sample = (net: ReturnType<typeof ortNetwork>) => {
      const noise = batchNoise([8, 9], 3 * 256);
      // x0 prediction: a random-weight network's output is O(1), so the images are mostly mid-range
      // (as eps prediction, the random "eps" would blow x0 up and clip nearly every pixel)
      return ddim(x0DenoiserDiscrete(net, schedule), noise.initial(), shape, { schedule, steps: 20, eta: 0, noise });
    };
    const a = await sample(ortNetwork(s, { reuseOutput: true }));
    const b = await sample(ortNetwork(s));
    const ref = await sample(tfjsNetwork(model));
    const bytes = (x: Float32Array) => [0, 1].flatMap((i) => Array.from(toRgbBytes(x, shape, i)));
    expect(bytes(b)).toEqual(bytes(a));
    const pa = bytes(a);
    const pr = bytes(ref);
    const within = pa.filter((v, i) => Math.abs(v - pr[i]) <= 1).length / pa.length;
    const equal = pa.filter((v, i) => v === pr[i]).length / pa.length;
    const clipped = pa.filter((v) => v === 0 || v === 255).length / pa.length;
    console.log(`[images] ORT vs tfjs, DDIM 20 steps: ${(100 * equal).toFixed(2)} % of 8-bit values equal, ${(100 * within).toFixed(2)} % within 1/255 (${(100 * clipped).toFixed(1)} % clipped)`);
    expect(clipped).toBeLessThan(0.5); // most values are mid-range, so the comparison means something
    expect(within).toBeGreaterThanOrEqual(0.99);
  });
});

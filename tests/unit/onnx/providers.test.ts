/**
 * Execution provider choice (onnx/providers.ts): availability per platform (pure), the probe
 * against the CPU provider with real ORT sessions, the test hook that makes a provider fail, and
 * the training graph's adjoint accumulation without Sum (WebGPU has no Sum kernel).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTO_PROVIDER_ORDER,
  chooseProvider,
  denoiserProbeWorkload,
  FAIL_PROVIDER_ENV,
  forcedFailure,
  providerAvailability,
  shortReason,
  worstRelativeDiff,
  type ProviderFacts,
} from '../../../src-main/onnx/providers';
import { exportUNetToOnnx, randomUNetTensors } from '../../../src-main/onnx/index';
import { decodeModel } from '../../../src-main/onnx/proto';
import { OrtError } from '../../../src-main/onnx/session';
import { PROBE_UNET, trainingProbeWorkload } from '../../../src-main/training/onnx/provider-probe';

const linux: ProviderFacts = { platform: 'linux', backends: ['cpu', 'webgpu'], cudaInstalled: false };

afterEach(() => {
  delete process.env[FAIL_PROVIDER_ENV];
});

describe('providerAvailability (pure)', () => {
  it('lists every provider in the automatic order with why the unavailable ones are', () => {
    const rows = providerAvailability(linux);
    expect(rows.map((r) => r.provider)).toEqual([...AUTO_PROVIDER_ORDER]);
    expect(AUTO_PROVIDER_ORDER).toEqual(['webgpu', 'cuda', 'dml', 'coreml', 'cpu']);
    const by = Object.fromEntries(rows.map((r) => [r.provider, r]));
    expect(by.webgpu.available).toBe(true);
    expect(by.cpu.available).toBe(true);
    expect(by.cuda).toMatchObject({ available: false, why: expect.stringContaining('CUDA add-on is not installed') });
    expect(by.dml).toMatchObject({ available: false, why: 'DirectML is Windows only' });
    expect(by.coreml).toMatchObject({ available: false, why: 'CoreML is macOS only' });
  });

  it('CUDA counts once its add-on is installed; DirectML on Windows and CoreML on macOS when built in', () => {
    expect(providerAvailability({ ...linux, backends: ['cpu', 'webgpu', 'cuda'], cudaInstalled: true }).find((r) => r.provider === 'cuda')?.available).toBe(true);
    const win = providerAvailability({ platform: 'win32', backends: ['cpu', 'dml', 'webgpu'], cudaInstalled: false });
    expect(win.filter((r) => r.available).map((r) => r.provider)).toEqual(['webgpu', 'dml', 'cpu']);
    const mac = providerAvailability({ platform: 'darwin', backends: ['cpu', 'coreml'], cudaInstalled: false });
    expect(mac.filter((r) => r.available).map((r) => r.provider)).toEqual(['coreml', 'cpu']);
    expect(mac.find((r) => r.provider === 'webgpu')?.why).toMatch(/not built into onnxruntime-node for darwin/);
  });
});

describe('helpers', () => {
  it('forcedFailure reads the comma list of the test hook', () => {
    expect(forcedFailure('webgpu', {})).toBeUndefined();
    expect(forcedFailure('webgpu', { [FAIL_PROVIDER_ENV]: 'cuda, WebGPU' })).toMatch(/test hook/);
    expect(forcedFailure('cpu', { [FAIL_PROVIDER_ENV]: 'cuda,webgpu' })).toBeUndefined();
  });

  it('worstRelativeDiff is per output, relative to the CPU output scale; NaN and missing outputs are infinitely wrong', () => {
    const ref = { a: Float32Array.from([1, -2]), b: Float32Array.from([1e-3, 0]) };
    expect(worstRelativeDiff({ a: Float32Array.from([1, -2]), b: Float32Array.from([1e-3, 0]) }, ref)).toEqual({ rel: 0, output: 'a' });
    const d = worstRelativeDiff({ a: Float32Array.from([1.002, -2]), b: Float32Array.from([1e-3, 1e-7]) }, ref);
    expect(d.output).toBe('a');
    expect(d.rel).toBeCloseTo(0.001, 6);
    expect(worstRelativeDiff({ a: Float32Array.from([NaN, -2]), b: ref.b }, ref).rel).toBe(Infinity);
    expect(worstRelativeDiff({ a: ref.a }, ref)).toEqual({ rel: Infinity, output: 'b' });
  });

  it('shortReason drops the ORT source location and check preamble', () => {
    const raw =
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\nmore';
    expect(shortReason(`ONNX Runtime could not create a webgpu session: ${raw}`)).toBe('ONNX Runtime could not create a webgpu session: Failed to get a WebGPU adapter: No supported adapters');
  });
});

describe('chooseProvider with real sessions', () => {
  const training = trainingProbeWorkload();

  it('the training graph accumulates adjoints with Add, never Sum (WebGPU has no Sum kernel)', () => {
    const ops = new Set(decodeModel(training.model).graph!.node!.map((n) => n.opType));
    expect(ops.has('Sum')).toBe(false);
    expect(ops.has('Add')).toBe(true);
  });

  it('no node of the step graph binds more than 12 buffers (WebGPU shaders cannot: a big Split failed there)', () => {
    const nodes = decodeModel(training.model).graph!.node!;
    const widest = Math.max(...nodes.map((n) => (n.input?.length ?? 0) + (n.output?.length ?? 0)));
    expect(widest).toBeLessThanOrEqual(12);
    expect(nodes.some((n) => n.opType === 'Slice')).toBe(true);
  });

  it('a provider made to fail by the test hook is skipped with that reason and the next one runs', async () => {
    process.env[FAIL_PROVIDER_ENV] = 'webgpu';
    const lines: string[] = [];
    const c = await chooseProvider({ requested: 'auto', workload: training, facts: linux, log: (m) => lines.push(m) });
    expect(c.provider).toBe('cpu');
    const webgpu = c.table.find((r) => r.provider === 'webgpu')!;
    expect(webgpu).toMatchObject({ available: true, selected: false, why: `made to fail by ${FAIL_PROVIDER_ENV} (test hook)` });
    expect(c.table.filter((r) => r.selected).map((r) => r.provider)).toEqual(['cpu']);
    expect(lines).toContain(`provider webgpu skipped: made to fail by ${FAIL_PROVIDER_ENV} (test hook)`);
    expect(lines.at(-1)).toMatch(/^provider cpu selected/);
  }, 120_000);

  it('a forced provider that fails is an error naming the reason, not a silent fallback', async () => {
    process.env[FAIL_PROVIDER_ENV] = 'webgpu';
    const err = await chooseProvider({ requested: 'webgpu', workload: training, facts: linux }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OrtError);
    expect((err as OrtError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((err as Error).message).toMatch(/provider webgpu was asked for but cannot be used: made to fail/);
    const cuda = await chooseProvider({ requested: 'cuda', workload: training, facts: linux }).catch((e: unknown) => e);
    expect((cuda as Error).message).toMatch(/provider cuda is unavailable: the CUDA add-on is not installed/);
  }, 120_000);

  it('--provider cpu selects the CPU and leaves the others untried', async () => {
    const c = await chooseProvider({ requested: 'cpu', workload: training, facts: linux });
    expect(c.provider).toBe('cpu');
    expect(c.table.find((r) => r.provider === 'cpu')).toMatchObject({ selected: true, why: 'asked for (--provider cpu)' });
    expect(c.table.find((r) => r.provider === 'webgpu')?.why).toBe('not tried: --provider cpu');
  }, 120_000);

  it('the denoiser probe feeds a UNet its own inputs (batch 1, mid timestep)', () => {
    const unet = exportUNetToOnnx({ config: PROBE_UNET, tensors: randomUNetTensors(PROBE_UNET, 1) }, { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }, appVersion: 'test' });
    const w = denoiserProbeWorkload(unet, 8);
    expect(w.feeds.sample.dims).toEqual([1, 3, 8, 8]);
    expect(w.feeds.timestep).toMatchObject({ type: 'float32', dims: [1] });
  });
});

/**
 * The WebGPU execution provider on SwiftShader (Chromium's software Vulkan driver), against the
 * CPU provider: one one-graph training step (loss, gradient norm, AdamW, EMA: step-graph.ts) and a short DDIM
 * run, both within tolerance, with every node placed on WebGPU (read from ORT's profile of the
 * WebGPU session: each kernel event names its provider; one node falling back to the CPU fails
 * the test). SwiftShader's timings mean nothing; only numbers
 * and placement are checked. The work runs in a child process (tests/helpers/webgpu-check.ts):
 * ONNX Runtime must see VK_ICD_FILENAMES when it loads.
 *
 * SwiftShader comes with Debian's chromium package (CI installs it). Without it these tests fail
 * and say so: they never skip silently.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHILD = join(import.meta.dirname, '..', '..', 'helpers', 'webgpu-check.ts');
const TIMEOUT = 600_000;

interface ChildRun {
  result: Record<string, unknown>;
  /** kernels run per execution provider in the WebGPU session (its profile; see the child) */
  placements: Record<string, number>;
}

async function child(mode: 'train' | 'sample' | 'sum'): Promise<ChildRun> {
  expect(
    existsSync(ICD),
    `SwiftShader's Vulkan driver is missing (${ICD}): install Debian's chromium package (apt-get install --no-install-recommends chromium), which ships it; the WebGPU tests need it`,
  ).toBe(true);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VK_ICD_FILENAMES: ICD,
    // Debian's chromium keeps its libvulkan.so.1 beside SwiftShader; Dawn dlopens it by name
    LD_LIBRARY_PATH: ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  delete env.SFUMATO_TEST_FAIL_PROVIDER;
  const r = await run(process.execPath, ['--import', 'tsx', CHILD, mode], { env, maxBuffer: 1 << 28, timeout: TIMEOUT });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  expect(last.startsWith('RESULT '), `the WebGPU child printed no result; stderr tail:\n${r.stderr.slice(-2000)}`).toBe(true);
  const result = JSON.parse(last.slice(7)) as Record<string, unknown>;
  return { result, placements: result.placements as Record<string, number> };
}

describe('WebGPU provider on SwiftShader', () => {
  it('the placement check sees a fallback: a Sum node (no WebGPU kernel) lands on the CPU provider', async () => {
    const { result, placements } = await child('sum');
    expect(result.y).toEqual([3, 3, 3, 3]);
    expect(placements).toEqual({ CPUExecutionProvider: 1 });
  }, TIMEOUT);

  it('a one-graph training step (loss, grad norm, AdamW, EMA) equals the CPU provider, every node on WebGPU', async () => {
    const { result, placements } = await child('train');
    // the whole step graph on WebGPU: no node falls back (autodiff emits Add chains, not Sum; the
    // flat parameter vector is sliced, not one Split of more than 12 buffers)
    expect(Object.keys(placements)).toEqual(['WebGpuExecutionProvider']);
    expect(placements.WebGpuExecutionProvider).toBeGreaterThan(1000); // one run: kernels = nodes
    expect(result.outputs).toBe(6); // loss, grad norm, new parameters, moments and EMA
    expect(Math.abs((result.lossGpu as number) - (result.lossCpu as number)) / (result.lossCpu as number)).toBeLessThan(1e-5);
    // measured 2.0e-4 (the issue's own check: 1.7e-4): float32 sums in another order
    expect(result.worstRel).toBeLessThan(2e-3);
  }, TIMEOUT);

  it('a DDIM run of two images equals the CPU provider, every node on WebGPU', async () => {
    const { result, placements } = await child('sample');
    expect(placements).toEqual({ WebGpuExecutionProvider: expect.any(Number) });
    expect(result.finite).toBe(true);
    expect(result.values).toBe(2 * 3 * 8 * 8);
    // images in [-1, 1]; measured 1.3e-4 after 5 steps
    expect(result.maxAbs).toBeLessThan(2e-3);
  }, TIMEOUT);
});

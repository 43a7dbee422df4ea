/** The ORT sampling bench (bench.ts), run on a tiny network so the test stays fast. */
import { describe, expect, it } from 'vitest';
import { benchOrtSampling, measureMatmulPeakGflops, randomUNetTensors, torchRefTimesteps } from '../../../src-main/onnx/bench';
import { forwardFlops, paramCountOf, unetParamSpecs } from '../../../src-main/network/architecture';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../../../src-main/network/config';
import { TINY } from './helpers';

describe('sampling bench', () => {
  it("DDIM timesteps are torch_ref.py's torch.linspace(T-1, 0, S).long()", () => {
    // printed by /usr/bin/python3 -c "import torch; print(torch.linspace(999, 0, 20).long().tolist())"
    expect(torchRefTimesteps(1000, 20)).toEqual([999, 946, 893, 841, 788, 736, 683, 630, 578, 525, 473, 420, 368, 315, 262, 210, 157, 105, 52, 0]);
    expect(torchRefTimesteps(1000, 1)).toEqual([999]);
  });

  it('random bench weights: every parameter, seeded', () => {
    const w = randomUNetTensors(BENCH_UNET_CONFIG as UNetConfig, 0);
    expect(w.map((t) => t.name)).toEqual(unetParamSpecs(BENCH_UNET_CONFIG as UNetConfig).map((s) => s.name));
    expect(w.reduce((n, t) => n + t.data.length, 0)).toBe(4_437_699);
    expect(randomUNetTensors(TINY, 0)[4].data).toEqual(randomUNetTensors(TINY, 0)[4].data);
  });

  it('benchOrtSampling reports torch_ref.py-style keys', async () => {
    const r = await benchOrtSampling({ provider: 'cpu', batch: 2, steps: 3, threads: 1, config: TINY });
    expect(r).toMatchObject({ provider: 'cpu', threads: 1, batch: 2, size: 16, sample_steps: 3, params: paramCountOf(TINY) });
    expect(r.impl).toMatch(/^onnxruntime-node-1\./);
    expect(r.fwd_gflop).toBeCloseTo(forwardFlops(TINY, 2) / 1e9, 12);
    expect(r.sample_s).toBeGreaterThan(0);
    expect(r.sample_img_per_s).toBeCloseTo(2 / r.sample_s, 9);
    expect(r.gflops).toBeCloseTo((3 * r.fwd_gflop) / r.sample_s, 9);
  });

  it('an explicit provider that is missing is an error, not a silent cpu run', async () => {
    await expect(benchOrtSampling({ provider: process.platform === 'win32' ? 'coreml' : 'dml', batch: 1, steps: 1, threads: 1, config: TINY })).rejects.toThrow(/unavailable/);
  });

  it('measureMatmulPeakGflops', async () => {
    const r = await measureMatmulPeakGflops(1, { n: 128, runs: 3 });
    expect(r).toMatchObject({ n: 128, threads: 1, runs: 3 });
    expect(r.gflops).toBeCloseTo((2 * 128 ** 3) / r.best_s / 1e9, 6);
    expect(r.gflops).toBeGreaterThan(0.1);
  });
});

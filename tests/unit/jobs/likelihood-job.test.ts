/**
 * The likelihood job (jobs/likelihood-job.ts) on a tiny real UNet checkpoint run by ONNX Runtime:
 * its numbers are the diffusion core's (pfOdeLikelihood8bit / vlbLikelihood8bit called directly on
 * the same network, batch by batch with the same seeds), a seed reproduces them exactly and another
 * seed does not, and cancelling stops it with the job's cancelled error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FromJob, JobContext, LikelihoodJobSpec } from '../../../src-main/jobs/protocol';
import type { LikelihoodJobResult } from '../../../src-main/api/types';
import { runLikelihoodJob } from '../../../src-main/jobs/likelihood-job';
import { UNet } from '../../../src-main/network/unet';
import { serializeUNet, parseWeights, configOfWeights } from '../../../src-main/network/weights';
import { resolveTrainConfig } from '../../../src-main/training/config';
import { unetConfigOf } from '../../../src-main/training/trainer';
import { createOrtSession, exportUNetToOnnx, ortNetwork } from '../../../src-main/onnx/index';
import { processOf, rawFamilyDenoiser } from '../../../src-main/diffusion/model-family';
import { isVpType, priorStdSigmaScale, processSigmaToT, sigmaRange } from '../../../src-main/diffusion/process';
import { pfOdeLikelihood8bit, vlbLikelihood8bit } from '../../../src-main/diffusion/likelihood/eight-bit';
import { batchSeed, IMAGE_LIKELIHOOD_DEFAULTS } from '../../../src-main/diffusion/likelihood/images';
import { vlbSigmas } from '../../../src-main/diffusion/bench/likelihood';
import { uniforms } from '../../../src-main/diffusion/rng';

const SIZE = 8;
const config = resolveTrainConfig({ imageSize: SIZE, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, batchSize: 4, schedule: { kind: 'discrete', beta: 'linear', trainSteps: 100 } }, 16);
let dir: string;
let file: string;
const N = 3;
const per = 3 * SIZE * SIZE;
// three images: two smooth ramps and one of seeded noise (NCHW bytes)
const pixels = new Uint8Array(N * per);
const noise = uniforms(5, 0, per);
for (let k = 0; k < per; k++) {
  pixels[k] = (k * 4) % 256;
  pixels[per + k] = 200;
  pixels[2 * per + k] = Math.floor(noise[k] * 256);
}

function spec(over: Partial<LikelihoodJobSpec> = {}): LikelihoodJobSpec {
  return { kind: 'likelihood', jobId: 'job_t', config, checkpointFile: file, engine: 'onnx', appVersion: 'test', pixels, method: 'both', probes: 2, seed: 3, batch: 2, rtol: 1e-3, atol: 1e-3, ...over };
}

async function run(s: LikelihoodJobSpec, signal = new AbortController().signal): Promise<{ result: LikelihoodJobResult; msgs: FromJob[] }> {
  const msgs: FromJob[] = [];
  const ctx: JobContext = { post: (m) => msgs.push(m), signal, pauseRequested: () => false };
  await runLikelihoodJob(s, ctx);
  const done = msgs.find((m) => m.type === 'likelihood-done');
  if (!done || done.type !== 'likelihood-done') throw new Error('no result');
  return { result: done.result, msgs };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfumato-ll-'));
  file = join(dir, 'tiny.sfwt');
  const model = new UNet(unetConfigOf(config), { seed: 11 });
  writeFileSync(file, serializeUNet(model));
  model.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('likelihood job', () => {
  it('gives the numbers of the diffusion core called directly, batch by batch', async () => {
    const { result, msgs } = await run(spec());
    expect(msgs.find((m) => m.type !== 'log')).toMatchObject({ type: 'started' });
    expect(msgs.some((m) => m.type === 'likelihood-progress')).toBe(true);
    // the same network, built here from the same file
    const parsed = parseWeights(new Uint8Array(await import('node:fs').then((f) => f.readFileSync(file))));
    const session = await createOrtSession(exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: config.objective as never, schedule: config.schedule, appVersion: 'test' }), { provider: 'cpu' as never });
    const process = processOf(config.schedule);
    const D = rawFamilyDenoiser(ortNetwork(session), config.schedule, config.objective, process);
    const pf: number[] = [];
    const vl: number[] = [];
    const lv = vlbSigmas(process, IMAGE_LIKELIHOOD_DEFAULTS.vlbSteps);
    for (let b = 0; b * 2 < N; b++) {
      const x = pixels.subarray(b * 2 * per, Math.min(N, b * 2 + 2) * per);
      const shape = [x.length / per, 3, SIZE, SIZE];
      const r = await pfOdeLikelihood8bit(D, x, shape, {
        ...sigmaRange(process),
        priorStd: priorStdSigmaScale(process),
        probes: 'rademacher',
        probeCount: 2,
        seed: batchSeed(3, b),
        rtol: 1e-3,
        atol: 1e-3,
        fdStep: IMAGE_LIKELIHOOD_DEFAULTS.fdStep,
        sigmaToT: (s) => processSigmaToT(process, s),
      });
      pf.push(...Array.from(r.nll, (v) => v / (per * Math.LN2)));
      const v = await vlbLikelihood8bit(D, x, shape, { sigmas: lv.sigmas, t: lv.t, priorStd: priorStdSigmaScale(process), vpType: isVpType(process), variance: 'beta-tilde', seed: batchSeed(3, b) });
      vl.push(...Array.from(v.nll, (y) => y / (per * Math.LN2)));
    }
    await session.dispose();
    const [pfJob, vlJob] = result.estimates;
    expect(pfJob.method).toBe('pf-ode');
    expect(pfJob.data).toBe('dequantised');
    expect(vlJob.method).toBe('vlb');
    expect(vlJob.data).toBe('discrete');
    for (let i = 0; i < N; i++) {
      expect(pfJob.perImage[i]).toBeCloseTo(pf[i], 6);
      expect(vlJob.perImage[i]).toBeCloseTo(vl[i], 6);
    }
    const mean = pf.reduce((a, b) => a + b, 0) / N;
    expect(pfJob.bitsPerDim).toBeCloseTo(mean, 6);
    // the VLB of a discrete schedule visits every training level once per batch
    expect(vlJob.nfe).toBe(100);
    expect(pfJob.nfe).toBeGreaterThan(10);
    // the noise image is the least likely of the three under any smooth model
    expect(pfJob.perImage[2]).toBeGreaterThan(Math.max(pfJob.perImage[0], pfJob.perImage[1]));
  }, 300_000);

  it('is reproducible for a seed, and another seed gives other draws', async () => {
    const a = await run(spec({ method: 'pf-ode' }));
    const b = await run(spec({ method: 'pf-ode' }));
    const c = await run(spec({ method: 'pf-ode', seed: 4 }));
    expect(b.result.estimates[0].perImage).toEqual(a.result.estimates[0].perImage);
    expect(c.result.estimates[0].perImage).not.toEqual(a.result.estimates[0].perImage);
  }, 300_000);

  it('stops when cancelled, with the cancelled error and no result', async () => {
    const abort = new AbortController();
    const msgs: FromJob[] = [];
    const ctx: JobContext = {
      post: (m) => {
        msgs.push(m);
        if (m.type === 'likelihood-progress' && m.fraction > 0) abort.abort();
      },
      signal: abort.signal,
      pauseRequested: () => false,
    };
    await expect(runLikelihoodJob(spec({ method: 'vlb', batch: 3 }), ctx)).rejects.toThrow(/cancel/);
    expect(msgs.some((m) => m.type === 'likelihood-done')).toBe(false);
    const last = msgs.filter((m) => m.type === 'likelihood-progress').at(-1);
    expect(last && last.type === 'likelihood-progress' && last.fraction).toBeLessThan(1);
  }, 300_000);
});

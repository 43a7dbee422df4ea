/**
 * `npm run bench -- train` on the onnxruntime rung, on a tiny UNet: the one-graph engine by
 * default, the previous engine on request, and the per-op-class profile of the step graph with
 * its optimiser part (no timings are asserted).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../../src-main/network/config';
import { benchTrainStep } from '../../../../src-main/training/bench-train';

const TINY: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, dropout: 0, timeInput: 'discrete' };

describe('train bench on ONNX Runtime', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs the one-graph step by default and profiles its optimiser part', async () => {
    const r = await benchTrainStep({ batch: 2, steps: 2, warmup: 1, profile: true, config: TINY, gradients: 'onnxruntime', threads: 1 });
    expect(r.step_engine).toBe('one-graph');
    expect(r.train_step_s_all).toHaveLength(2);
    expect(r.train_step_s).toBeGreaterThan(0);
    const cls = r.ort_profile!.opClassMs;
    expect(Object.keys(cls)).toContain('optimiser: clip, Adam(W), EMA');
    expect(Object.keys(cls)).toContain('flat state: parameter split, gradient concat');
    expect(cls['conv forward']).toBeGreaterThan(0);
  });

  it('still runs the previous engine (ORT gradients, Adam in tfjs) on request', async () => {
    const r = await benchTrainStep({ batch: 2, steps: 1, warmup: 1, profile: false, config: TINY, gradients: 'onnxruntime', threads: 1, stepEngine: 'tfjs-optimizer' });
    expect(r.step_engine).toBe('tfjs-optimizer');
    expect(r.gradient_s).toBeGreaterThan(0);
  });
});

/**
 * Numerical parity with the PyTorch reference (../shared/bench/torch_ref.py): the fixture holds
 * PyTorch's output for our seeded initial weights on a fixed input (regenerate with the commands in
 * fixtures/torch-parity.py). Pins architecture, layouts, padding, GroupNorm, attention, time
 * embedding and the seeded initialisation (through the weights digest).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet } from '../../../src-main/network/unet';
import { readUNetWeights, weightsDigest } from '../../../src-main/network/weights';
import { PARITY_CONFIG, PARITY_SEED, PARITY_T, parityInput } from './fixtures/parity-case';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch-parity.json', import.meta.url), 'utf8')) as {
  config: unknown;
  seed: number;
  t: number[];
  x: number[];
  weightsDigest: string;
  y: number[];
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('PyTorch parity', () => {
  it('same case as the fixture', () => {
    expect(fixture.config).toEqual(PARITY_CONFIG);
    expect(fixture.seed).toBe(PARITY_SEED);
    expect(fixture.t).toEqual(PARITY_T);
    expect(fixture.x).toEqual(Array.from(parityInput()));
  });

  it('seeded initial weights are unchanged (sha256 digest)', () => {
    const m = new UNet(PARITY_CONFIG, { seed: PARITY_SEED });
    expect(weightsDigest(readUNetWeights(m))).toBe(fixture.weightsDigest);
    m.dispose();
  });

  it('forward output matches PyTorch within float32 tolerance', () => {
    const m = new UNet(PARITY_CONFIG, { seed: PARITY_SEED });
    const x = tf.tensor4d(parityInput(), [PARITY_T.length, 16, 16, 3]);
    const t = tf.tensor1d(PARITY_T);
    const y = m.apply(x, t);
    const got = y.dataSync();
    let maxErr = 0;
    let maxRef = 0;
    fixture.y.forEach((ref, i) => {
      maxErr = Math.max(maxErr, Math.abs(got[i] - ref));
      maxRef = Math.max(maxRef, Math.abs(ref));
    });
    expect(got.length).toBe(fixture.y.length);
    expect(maxRef).toBeGreaterThan(0.1);
    expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxRef));
    tf.dispose([x, t, y]);
    m.dispose();
  });
});

import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../src-main/network/config';
import { EMA } from '../../../src-main/network/ema';
import { UNet } from '../../../src-main/network/unet';
import {
  EMA_PREFIX,
  WeightsFormatError,
  hasEma,
  loadUNetWeights,
  parseWeights,
  readUNetWeights,
  serializeUNet,
  serializeWeights,
  unetFromWeights,
  weightsDigest,
  type NamedTensorData,
} from '../../../src-main/network/weights';
import { TINY_UNET } from '../../helpers/unet';

const TINY: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions] };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sample: NamedTensorData[] = [
  { name: 'b', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-30, -0]) },
  { name: 'a', shape: [3], data: new Float32Array([Math.PI, Infinity, -7]) },
  { name: 'scalar', shape: [], data: new Float32Array([42]) },
];

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsFormatError);
    return (e as WeightsFormatError).code;
  }
  throw new Error('accepted');
}

describe('weights format', () => {
  it('round-trips tensors and meta; layout is magic, version, aligned header, LE float32', () => {
    const bytes = serializeWeights(sample, { step: 12, note: 'é' });
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('SFWT');
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getUint32(4, true)).toBe(1);
    const headerLen = dv.getUint32(8, true);
    expect(headerLen % 4).toBe(0);
    expect(bytes.length).toBe(12 + headerLen + 4 * (6 + 3 + 1));
    expect(dv.getFloat32(12 + headerLen, true)).toBe(1); // first value of 'b', little-endian
    const parsed = parseWeights(bytes);
    expect(parsed.version).toBe(1);
    expect(parsed.meta).toEqual({ step: 12, note: 'é' });
    expect(parsed.tensors.map((t) => t.name)).toEqual(['b', 'a', 'scalar']);
    parsed.tensors.forEach((t, i) => {
      expect(t.shape).toEqual(sample[i].shape);
      expect(Array.from(t.data)).toEqual(Array.from(sample[i].data));
    });
  });

  it('parses from an unaligned view inside a larger buffer', () => {
    const bytes = serializeWeights(sample);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 1);
    expect(parseWeights(big.subarray(1, 1 + bytes.length)).tensors[1].data[0]).toBeCloseTo(Math.PI, 6);
  });

  it('reports truncated, corrupt and wrong-version input with a code', () => {
    const bytes = serializeWeights(sample, { x: 1 });
    expect(codeOf(() => parseWeights(bytes.subarray(0, 7)))).toBe('WEIGHTS_TRUNCATED');
    expect(codeOf(() => parseWeights(bytes.subarray(0, 20)))).toBe('WEIGHTS_TRUNCATED');
    expect(codeOf(() => parseWeights(bytes.subarray(0, bytes.length - 4)))).toBe('WEIGHTS_TRUNCATED');
    const withTail = new Uint8Array(bytes.length + 4);
    withTail.set(bytes);
    expect(codeOf(() => parseWeights(withTail))).toBe('WEIGHTS_CORRUPT');
    const badMagic = bytes.slice();
    badMagic[0] = 0x50; // 'P'
    expect(codeOf(() => parseWeights(badMagic))).toBe('WEIGHTS_BAD_MAGIC');
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(codeOf(() => parseWeights(v2))).toBe('WEIGHTS_VERSION');
    expect(() => parseWeights(v2)).toThrow(/update Sfumato/);
    const flipped = bytes.slice();
    flipped[flipped.length - 2] ^= 0x10; // one bit of the data
    expect(codeOf(() => parseWeights(flipped))).toBe('WEIGHTS_CORRUPT');
    const badHeader = bytes.slice();
    badHeader[12] = 0x7b + 1; // '{' -> '|'
    expect(codeOf(() => parseWeights(badHeader))).toBe('WEIGHTS_CORRUPT');
    const err = (() => {
      try {
        parseWeights(flipped);
      } catch (e) {
        return e as WeightsFormatError;
      }
    })();
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'WEIGHTS_CORRUPT', message: err?.message });
  });

  it('rejects mismatched shapes and duplicate names when writing', () => {
    expect(() => serializeWeights([{ name: 'x', shape: [2], data: new Float32Array(3) }])).toThrow(/shape \[2\] but 3 values/);
    expect(() => serializeWeights([sample[0], sample[0]])).toThrow(/duplicate/);
  });

  it('weightsDigest is sha256 of float32 LE in name order, independent of list order', () => {
    const expected = createHash('sha256');
    for (const name of ['a', 'b', 'scalar']) expected.update(Buffer.from((sample.find((t) => t.name === name) as NamedTensorData).data.buffer));
    expect(weightsDigest(sample)).toBe(expected.digest('hex'));
    expect(weightsDigest([...sample].reverse())).toBe(weightsDigest(sample));
    expect(weightsDigest(parseWeights(serializeWeights(sample)).tensors)).toBe(weightsDigest(sample));
  });

  it('saves and restores a UNet with EMA copies; outputs are identical', () => {
    const m = new UNet(TINY, { seed: 5 });
    const ema = new EMA(m.variables(), { decay: 0.9 });
    // move the model away from the EMA
    tf.tidy(() => m.variables().forEach((v) => v.assign(tf.add(v, 0.01))));
    const bytes = serializeUNet(m, { ema: ema.shadows(), meta: { step: 3 } });
    const parsed = parseWeights(bytes);
    expect(parsed.meta.step).toBe(3);
    expect(parsed.meta.config).toEqual(TINY);
    expect(hasEma(parsed)).toBe(true);
    expect(parsed.tensors.filter((t) => t.name.startsWith(EMA_PREFIX))).toHaveLength(m.specs.length);

    const restored = unetFromWeights(parsed);
    const restoredEma = unetFromWeights(parsed, { source: 'ema', trainable: false });
    expect(weightsDigest(readUNetWeights(restored))).toBe(weightsDigest(readUNetWeights(m)));
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const t = tf.tensor1d([9]);
    const [y0, y1, ye, yr] = [m.apply(x, t), restored.apply(x, t), m.apply(x, t, { weights: ema.shadows() }), restoredEma.apply(x, t)];
    expect(Array.from(y1.dataSync())).toEqual(Array.from(y0.dataSync()));
    expect(Array.from(yr.dataSync())).toEqual(Array.from(ye.dataSync()));
    expect(Array.from(yr.dataSync())).not.toEqual(Array.from(y0.dataSync()));
    tf.dispose([x, t, y0, y1, ye, yr]);
    [m, restored, restoredEma].forEach((u) => u.dispose());
    ema.dispose();
  });

  it('refuses weights of another configuration without touching the model', () => {
    const small = new UNet(TINY, { seed: 1 });
    const other = new UNet({ ...TINY, baseChannels: 16 }, { seed: 2 });
    const before = weightsDigest(readUNetWeights(small));
    const parsed = parseWeights(serializeUNet(other));
    expect(codeOf(() => loadUNetWeights(small, parsed))).toBe('WEIGHTS_MISMATCH');
    expect(codeOf(() => loadUNetWeights(small, parsed, 'ema'))).toBe('WEIGHTS_MISMATCH');
    expect(weightsDigest(readUNetWeights(small))).toBe(before);
    const noConfig = parseWeights(serializeWeights(readUNetWeights(small), {}));
    expect(codeOf(() => unetFromWeights(noConfig))).toBe('WEIGHTS_MISMATCH');
    small.dispose();
    other.dispose();
  });
});

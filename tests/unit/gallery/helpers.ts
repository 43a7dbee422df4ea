/**
 * Shared fixtures for the gallery tests: a full sample record, deterministic PNGs, a seeded PRNG
 * and a small independent zip reader (so the zip test does not trust the writer's library).
 */
import zlib from 'node:zlib';
import type { SampleRecord } from '../../../src-main/api/types';
import { encodePng } from '../../../src-main/gallery/png';
import { crc32Js } from '../../../src-main/png/chunks';

export function sampleRecord(over: Partial<SampleRecord> = {}): SampleRecord {
  return {
    id: 'smp_a1b2c3d4e5',
    file: 'samples/2025-01-02/smp_a1b2c3d4e5.png',
    seed: 123456,
    sampler: 'ddim',
    steps: 20,
    samplerOptions: { eta: 0, spacing: 'leading' },
    schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02 },
    prediction: 'eps',
    nfe: 20,
    origin: { kind: 'seed' },
    parentId: null,
    checkpoint: { id: 'ckpt_k9x8y7z6w5', sha256: '6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa' },
    runId: 'run_q1w2e3r4t5',
    width: 16,
    height: 16,
    backend: 'wasm',
    appVersion: '0.1.0',
    createdAt: '2025-01-02T03:04:05.678Z',
    ...over,
  };
}

/** Mulberry32: a tiny seeded PRNG for deterministic fuzzing. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function rgbPattern(w: number, h: number, seed: number): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  return out;
}

export async function makePng(w = 16, h = 16, seed = 1): Promise<Uint8Array> {
  return new Uint8Array(await encodePng(rgbPattern(w, h, seed), w, h));
}

/** A raw chunk with a correct CRC (independent of the code under test's encoder). */
export function rawChunk(type: string, data: Uint8Array, badCrc = false): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  const crc = crc32Js(out.subarray(4, 8 + data.length));
  v.setUint32(8 + data.length, badCrc ? crc ^ 1 : crc);
  return out;
}

/** Inserts raw chunk bytes right after IHDR (offset 8 + 25). */
export function withChunksAfterIhdr(png: Uint8Array, ...chunks: Uint8Array[]): Uint8Array {
  const at = 8 + 25;
  const parts = [png.subarray(0, at), ...chunks, png.subarray(at)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

export const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
export const utf8 = (s: string) => new TextEncoder().encode(s);
export const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

/**
 * Minimal zip reader (APPNOTE.txt §4.3): end of central directory -> central directory ->
 * local headers; stored and deflated entries; every CRC checked. Throws on anything odd.
 */
export function readZip(bytes: Uint8Array): Map<string, Uint8Array> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory');
  const count = v.getUint16(eocd + 10, true);
  const cdSize = v.getUint32(eocd + 12, true);
  const cdOffset = v.getUint32(eocd + 16, true);
  if (cdOffset + cdSize > eocd) throw new Error('central directory out of range');
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error(`bad central header at ${p}`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const compSize = v.getUint32(p + 20, true);
    const size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (v.getUint32(local, true) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const lName = v.getUint16(local + 26, true);
    const lExtra = v.getUint16(local + 28, true);
    const start = local + 30 + lName + lExtra;
    const comp = bytes.subarray(start, start + compSize);
    const data = method === 0 ? comp : method === 8 ? new Uint8Array(zlib.inflateRawSync(comp)) : undefined;
    if (!data) throw new Error(`unsupported method ${method} for ${name}`);
    if (data.length !== size) throw new Error(`size mismatch for ${name}`);
    if (crc32Js(data) !== crc) throw new Error(`CRC mismatch for ${name}`);
    if (out.has(name)) throw new Error(`duplicate entry ${name}`);
    out.set(name, data);
  }
  return out;
}

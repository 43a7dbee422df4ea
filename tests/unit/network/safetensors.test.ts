/** The safetensors codec (network/safetensors.ts): round trip, byte layout, and strict refusals. */
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../../src-main/network/safetensors';

const T = [
  { name: 'b.weight', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
  { name: 'a.alpha', shape: [], data: Float32Array.from([8]) },
];

/** A file with a hand-written header and `data` bytes. */
function raw(header: unknown, data = new Uint8Array(0), lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, sorted by name, with the documented byte layout', () => {
    const bytes = encodeSafetensors(T, { rank: '8', 'sfumato.version': '1.2.3' });
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ rank: '8', 'sfumato.version': '1.2.3' });
    expect(header['a.alpha']).toEqual({ dtype: 'F32', shape: [], data_offsets: [0, 4] });
    expect(header['b.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] });
    expect(dv.getFloat32(8 + n, true)).toBe(8);
    expect(dv.getFloat32(8 + n + 4 + 20, true)).toBe(-6.5);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ rank: '8', 'sfumato.version': '1.2.3' });
    expect(back.tensors.map((t) => t.name)).toEqual(['a.alpha', 'b.weight']);
    expect(Array.from(back.tensors[1].data)).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(back.tensors[1].shape).toEqual([2, 3]);
  });

  it('refuses malformed files with a message naming the file and the problem', () => {
    const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', new Uint8Array(5), /fewer than the 8-byte header length/],
      ['header past the end', raw({}, new Uint8Array(0), 1000), /runs past the end/],
      ['huge header', raw({}, new Uint8Array(0), 2 ** 40), /100 MB limit/],
      ['not JSON', raw('{nope'), /not UTF-8 JSON/],
      ['not an object', raw('[1,2]'), /does not start with '\{'/],
      ['F16', raw({ x: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /dtype "F16"; only F32/],
      ['bad shape', raw({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/],
      ['size mismatch', raw({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /8 bytes for shape \[3\]/],
      ['overlap', raw({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32([1, 2])), /overlaps/],
      ['gap', raw({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32([1, 2])), /gap before tensor x/],
      ['truncated data', raw({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1])), /truncated/],
      ['trailing bytes', raw({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1, 2])), /not described by the header/],
      ['metadata not strings', raw({ __metadata__: { rank: 8 } }), /__metadata__\.rank is not a string/],
    ];
    for (const [label, bytes, re] of cases) {
      let err: unknown;
      try {
        decodeSafetensors(bytes, 'my.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message, label).toMatch(/^my\.safetensors is not a valid safetensors file/);
      expect((err as Error).message, label).toMatch(re);
    }
  });
});

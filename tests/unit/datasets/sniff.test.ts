import { describe, expect, it } from 'vitest';
import { sniff } from '../../../src-main/datasets/sniff';
import { bmpBytes, noiseBytes, noiseImage } from '../../fixtures/datasets/mixed-folder';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const b = Buffer.alloc(size + 16);
  b.writeUInt32BE(size, 0);
  b.write('ftyp', 4, 'latin1');
  b.write(major, 8, 'latin1');
  compatible.forEach((c, i) => b.write(c, 16 + 4 * i, 'latin1'));
  return b;
}

describe('sniff', () => {
  it('recognises every accepted format from real encoder output, whatever the name says', async () => {
    const img = noiseImage(8, 8);
    const cases: [Buffer, string][] = [
      [await img.clone().png().toBuffer(), 'png'],
      [await img.clone().jpeg().toBuffer(), 'jpeg'],
      [await img.clone().gif().toBuffer(), 'gif'],
      [await img.clone().webp().toBuffer(), 'webp'],
      [await img.clone().tiff().toBuffer(), 'tiff'],
      [await img.clone().avif().toBuffer(), 'avif'],
    ];
    for (const [data, format] of cases) {
      expect(sniff(data, 'photo.txt')).toEqual({ kind: 'image', format });
      expect(sniff(data)).toEqual({ kind: 'image', format });
    }
    expect(sniff(bytes('MM', [0, 0x2a], 'rest'), 'scan.tif')).toEqual({ kind: 'image', format: 'tiff' });
  });

  it('names what a non-image looks like and says what to do', () => {
    const other = (b: Uint8Array, name?: string) => {
      const r = sniff(b, name);
      if (r.kind !== 'other') throw new Error(`expected other, got ${r.format}`);
      return r;
    };
    expect(other(bytes('%PDF-1.7\n...'), 'x.png')).toMatchObject({ type: 'pdf', message: expect.stringMatching(/PDF.*Remove it/) });
    expect(other(bytes('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'))).toMatchObject({ type: 'svg', message: expect.stringMatching(/SVG.*PNG/) });
    expect(other(bytes('<!-- made by hand -->\n<svg width="1" height="1"></svg>'))).toMatchObject({ type: 'svg' });
    expect(other(bmpBytes(), 'a.png')).toMatchObject({ type: 'bmp', message: expect.stringMatching(/BMP.*Convert it to PNG/) });
    expect(other(ftyp('heic', 'mif1', 'heic'))).toMatchObject({ type: 'heic', message: expect.stringMatching(/HEIC.*JPEG/) });
    expect(sniff(ftyp('mif1', 'mif1', 'avif', 'miaf'))).toEqual({ kind: 'image', format: 'avif' });
    expect(other(ftyp('isom', 'isom', 'mp41'))).toMatchObject({ type: 'video' });
    expect(other(bytes('8BPS', [0, 1]))).toMatchObject({ type: 'psd' });
    expect(other(bytes([0x50, 0x4b, 3, 4], 'zipped'), 'art.kra')).toMatchObject({ type: 'zip', message: expect.stringContaining('Krita') });
    expect(other(bytes('II', [0x2a, 0], 'raw data'), 'DSC_0001.NEF')).toMatchObject({ type: 'raw', message: expect.stringContaining('RAW') });
    expect(other(bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '))).toMatchObject({ type: 'riff' });
    expect(other(bytes('hello, world\n'), 'hello.png')).toMatchObject({ type: 'text', message: expect.stringContaining('.png') });
    expect(other(Buffer.from('ünïcødé テキスト\n'.repeat(400)))).toMatchObject({ type: 'text' });
    const random = noiseBytes(512, 9);
    random[0] = 0x13;
    expect(other(random, 'x.jpg')).toMatchObject({ type: 'unknown', message: expect.stringMatching(/\.jpg, but the content is not a JPEG image.*PNG, JPEG/) });
    expect(other(new Uint8Array(0))).toMatchObject({ type: 'unknown' });
    expect(other(bytes([0xff, 0xd8]))).toMatchObject({ type: 'unknown' });
  });
});

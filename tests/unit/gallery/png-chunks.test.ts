import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  PNG_SIGNATURE,
  PngFormatError,
  crc32,
  crc32Js,
  encodeTextChunk,
  insertTextChunks,
  keywordProblem,
  parsePngChunks,
  readPngText,
} from '../../../src-main/png/chunks';
import { readSampleMetadata } from '../../../src-main/gallery/metadata';
import { cat, latin1, makePng, prng, rawChunk, utf8, withChunksAfterIhdr } from './helpers';

const codes = (ps: { code: string }[]) => ps.map((p) => p.code);

describe('CRC-32 (PNG Annex D)', () => {
  it('matches the check values and zlib', () => {
    expect(crc32Js(latin1('123456789'))).toBe(0xcbf43926);
    expect(crc32Js(latin1('IEND'))).toBe(0xae426082);
    const r = prng(7);
    for (let n = 0; n < 50; n++) {
      const b = new Uint8Array(Math.floor(r() * 3000)).map(() => Math.floor(r() * 256));
      expect(crc32Js(b)).toBe(zlib.crc32(b) >>> 0);
      expect(crc32(b)).toBe(crc32Js(b));
    }
    // continuation
    const a = latin1('12345');
    const b = latin1('6789');
    expect(crc32Js(b, crc32Js(a))).toBe(0xcbf43926);
  });
});

describe('parsePngChunks', () => {
  it('lists the chunks of a sharp-encoded PNG without problems', async () => {
    const png = await makePng(16, 16);
    const r = parsePngChunks(png);
    expect(r.signatureOk).toBe(true);
    expect(r.ended).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.chunks[0].type).toBe('IHDR');
    expect(r.chunks[0].length).toBe(13);
    expect(r.chunks.at(-1)!.type).toBe('IEND');
    expect(r.chunks.some((c) => c.type === 'IDAT')).toBe(true);
    expect(r.chunks.every((c) => c.crcOk)).toBe(true);
  });

  it('reports a missing signature, truncation, bad lengths and types, and stops', async () => {
    const png = await makePng();
    expect(codes(parsePngChunks(latin1('GIF89a....')).problems)).toEqual(['not_png']);
    expect(codes(parsePngChunks(new Uint8Array(0)).problems)).toEqual(['not_png']);
    expect(codes(parsePngChunks(png.subarray(0, 40)).problems)).toContain('truncated');
    const huge = cat(PNG_SIGNATURE, new Uint8Array([0xff, 0xff, 0xff, 0xff]), latin1('tEXt'), new Uint8Array(8));
    expect(codes(parsePngChunks(huge).problems)).toContain('bad_length');
    const badType = cat(PNG_SIGNATURE, new Uint8Array([0, 0, 0, 0]), latin1('t3Xt'), new Uint8Array(4));
    expect(codes(parsePngChunks(badType).problems)).toContain('bad_type');
    const noIhdr = cat(PNG_SIGNATURE, rawChunk('IEND', new Uint8Array(0)));
    expect(codes(parsePngChunks(noIhdr).problems)).toEqual(['no_ihdr']);
  });

  it('tolerates trailing garbage after IEND', async () => {
    const png = cat(await makePng(), latin1('garbage after the end'));
    const r = parsePngChunks(png);
    expect(r.ended).toBe(true);
    expect(r.trailingBytes).toBe(21);
    expect(codes(r.problems)).toEqual(['trailing_data']);
  });

  it('caps the chunk count', async () => {
    const many = Array.from({ length: 50 }, () => rawChunk('abCd', new Uint8Array(0)));
    const png = withChunksAfterIhdr(await makePng(), ...many);
    const r = parsePngChunks(png, { maxChunks: 10 });
    expect(r.chunks.length).toBe(10);
    expect(codes(r.problems)).toEqual(['too_many_chunks']);
  });
});

describe('text chunks: write and read back', () => {
  it('round-trips tEXt, iTXt and compressed iTXt, before IDAT, and the image still decodes identically', async () => {
    const png = await makePng(16, 16, 3);
    const entries = [
      { keyword: 'parameters', text: 'Steps: 20, Sampler: DDIM, Seed: 1, Size: 16x16' },
      { keyword: 'Comment', text: 'café crème, naïve — latin-1? no: the dash is not' },
      { keyword: 'Title', text: 'plain é and ÿ are Latin-1' },
      { keyword: 'Description', text: '日本語 and emoji 🎨', languageTag: 'ja', translatedKeyword: '説明' },
      { keyword: 'sfumato', text: JSON.stringify({ big: 'x'.repeat(5000) }), compress: true },
    ];
    const out = insertTextChunks(png, entries);
    const r = readPngText(out);
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => [e.keyword, e.text])).toEqual(entries.map((e) => [e.keyword, e.text]));
    expect(r.entries.map((e) => e.chunk)).toEqual(['tEXt', 'iTXt', 'tEXt', 'iTXt', 'iTXt']);
    expect(r.entries[3]).toMatchObject({ languageTag: 'ja', translatedKeyword: '説明', compressed: false });
    expect(r.entries[4].compressed).toBe(true);
    // placed before the first IDAT
    const types = r.chunks.chunks.map((c) => c.type);
    expect(types.indexOf('tEXt')).toBeLessThan(types.indexOf('IDAT'));
    expect(types.lastIndexOf('iTXt')).toBeLessThan(types.indexOf('IDAT'));
    // pixels untouched
    const a = await sharp(png).raw().toBuffer();
    const b = await sharp(out).raw().toBuffer();
    expect(Buffer.compare(a, b)).toBe(0);
    const meta = await sharp(out).metadata();
    expect(meta.comments?.find((c) => c.keyword === 'parameters')?.text).toBe(entries[0].text);
  });

  it('replaces chunks with the same keyword instead of duplicating them', async () => {
    const once = insertTextChunks(await makePng(), [{ keyword: 'parameters', text: 'old' }, { keyword: 'keep', text: 'me' }]);
    const twice = insertTextChunks(once, [{ keyword: 'parameters', text: 'new' }]);
    const r = readPngText(twice);
    // the old chunk is gone; the new one sits with the other inserted chunks just before IDAT
    expect(r.entries.map((e) => [e.keyword, e.text])).toEqual([
      ['keep', 'me'],
      ['parameters', 'new'],
    ]);
    const both = insertTextChunks(once, [{ keyword: 'parameters', text: 'new' }], { replace: false });
    expect(readPngText(both).entries.filter((e) => e.keyword === 'parameters').length).toBe(2);
  });

  it('decodes Latin-1 as ISO 8859-1 (0x80-0x9F are C1 controls, not windows-1252)', async () => {
    const bytes = new Uint8Array([0x80, 0x93, 0xe9, 0xff]);
    const png = withChunksAfterIhdr(await makePng(), rawChunk('tEXt', cat(latin1('k'), new Uint8Array([0]), bytes)));
    expect(readPngText(png).entries[0].text).toBe('\u0080\u0093\u00e9\u00ff');
  });

  it('reads zTXt and compressed iTXt written by someone else', async () => {
    const z = rawChunk('zTXt', cat(latin1('Comment'), new Uint8Array([0, 0]), zlib.deflateSync(latin1('zipped é'))));
    const i = rawChunk('iTXt', cat(latin1('Title'), new Uint8Array([0, 1, 0]), latin1('fr'), new Uint8Array([0]), utf8('Titre'), new Uint8Array([0]), zlib.deflateSync(utf8('Ünïcödé ✓'))));
    const r = readPngText(withChunksAfterIhdr(await makePng(), z, i));
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => [e.chunk, e.keyword, e.text, e.compressed])).toEqual([
      ['zTXt', 'Comment', 'zipped é', true],
      ['iTXt', 'Title', 'Ünïcödé ✓', true],
    ]);
    expect(r.entries[1].languageTag).toBe('fr');
  });

  it('writers refuse keywords outside §11.3.4.2 and null characters', async () => {
    const png = await makePng();
    for (const keyword of ['', 'k'.repeat(80), ' lead', 'trail ', 'dou  ble', 'ctl\u0001', 'uni✓', 'nbsp\u00a0']) {
      expect(keywordProblem(keyword), keyword).toBeDefined();
      expect(() => encodeTextChunk({ keyword, text: 'x' })).toThrow(PngFormatError);
    }
    expect(keywordProblem('k'.repeat(79))).toBeUndefined();
    expect(keywordProblem('Model hash é')).toBeUndefined();
    expect(() => encodeTextChunk({ keyword: 'ok', text: 'a\0b' })).toThrow(/null/);
    expect(() => insertTextChunks(latin1('not a png'), [])).toThrow(PngFormatError);
    const damaged = png.slice();
    damaged[30] ^= 0xff; // inside IHDR data: CRC now wrong
    expect(() => insertTextChunks(damaged, [{ keyword: 'a', text: 'b' }])).toThrow(/CRC/);
  });
});

describe('hostile text chunks', () => {
  it('refuses a 20 MB compressed text chunk without inflating it', async () => {
    const r0 = prng(1);
    const noise = new Uint8Array(20 * 1024 * 1024).map(() => Math.floor(r0() * 256));
    const compressed = zlib.deflateSync(noise, { level: 0 });
    expect(compressed.length).toBeGreaterThan(20 * 1024 * 1024);
    const png = withChunksAfterIhdr(await makePng(), rawChunk('zTXt', cat(latin1('sfumato'), new Uint8Array([0, 0]), compressed)));
    const t = performance.now();
    const r = readPngText(png);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(r.entries).toEqual([]);
    expect(codes(r.problems)).toContain('text_too_large');
  });

  it('refuses a compression bomb (a few hundred KB inflating to 20 MB and 200 MB) at the output cap', async () => {
    for (const size of [20, 200]) {
      const bomb = zlib.deflateSync(new Uint8Array(size * 1024 * 1024), { level: 9 });
      expect(bomb.length).toBeLessThan(1024 * 1024); // passes the raw-size cap: only the output cap stops it
      const png = withChunksAfterIhdr(
        await makePng(),
        rawChunk('iTXt', cat(latin1('parameters'), new Uint8Array([0, 1, 0, 0, 0]), bomb)),
        rawChunk('zTXt', cat(latin1('sfumato'), new Uint8Array([0, 0]), bomb)),
      );
      const t = performance.now();
      const r = readPngText(png);
      expect(performance.now() - t).toBeLessThan(1500);
      expect(r.entries).toEqual([]);
      expect(codes(r.problems).filter((c) => c === 'inflate_limit').length).toBe(2);
      const meta = readSampleMetadata(png);
      expect(meta.record).toBeUndefined();
      expect(meta.problems.join('\n')).toMatch(/inflate_limit/);
    }
  });

  it('stops decoding when the total text budget is spent', async () => {
    const chunk = rawChunk('tEXt', cat(latin1('Comment'), new Uint8Array([0]), new Uint8Array(900 * 1024).fill(0x61)));
    const png = withChunksAfterIhdr(await makePng(), ...Array.from({ length: 12 }, () => chunk));
    const r = readPngText(png);
    expect(r.entries.length).toBe(9); // 9 x 900 KB fits in 8 MB, the 10th does not
    expect(codes(r.problems)).toContain('text_budget');
  });

  it('reports and skips chunks with a wrong CRC (or reads them when asked)', async () => {
    const png = withChunksAfterIhdr(await makePng(), rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1('Steps: 1, Seed: 2, Size: 3x3')), true));
    const r = readPngText(png);
    expect(r.entries).toEqual([]);
    expect(codes(r.problems)).toEqual(['bad_crc']);
    expect(readPngText(png, { acceptBadCrc: true }).entries[0].text).toBe('Steps: 1, Seed: 2, Size: 3x3');
  });

  it('reports malformed text chunks and invalid UTF-8', async () => {
    const png = withChunksAfterIhdr(
      await makePng(),
      rawChunk('tEXt', latin1('no separator at all'.repeat(10))),
      rawChunk('zTXt', cat(latin1('k'), new Uint8Array([0, 9]), latin1('xx'))),
      rawChunk('zTXt', cat(latin1('k'), new Uint8Array([0, 0]), latin1('not zlib'))),
      rawChunk('iTXt', cat(latin1('k'), new Uint8Array([0, 7, 0]))),
      rawChunk('iTXt', cat(latin1('k'), new Uint8Array([0, 0, 0]), latin1('en'))),
      rawChunk('iTXt', cat(latin1('k'), new Uint8Array([0, 0, 0, 0, 0]), new Uint8Array([0xff, 0xfe, 0x41]))),
      rawChunk('tEXt', cat(latin1(' bad  key'), new Uint8Array([0]), latin1('v'))),
    );
    const r = readPngText(png);
    expect(codes(r.problems)).toEqual(['bad_text_chunk', 'bad_text_chunk', 'inflate_error', 'bad_text_chunk', 'bad_text_chunk', 'bad_utf8', 'bad_keyword']);
    expect(r.entries.map((e) => e.text)).toEqual(['\ufffd\ufffdA', 'v']);
  });

  it('filters by keyword without decoding other chunks', async () => {
    const bomb = zlib.deflateSync(new Uint8Array(50 * 1024 * 1024));
    const png = withChunksAfterIhdr(
      await makePng(),
      rawChunk('zTXt', cat(latin1('foreign'), new Uint8Array([0, 0]), bomb)),
      rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1('a'))),
    );
    const r = readPngText(png, { keywords: ['parameters'] });
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => e.text)).toEqual(['a']);
  });
});

describe('fuzz: the chunk reader on random and truncated inputs', () => {
  it('never throws and stays fast on 4000 seeded inputs', async () => {
    const base = insertTextChunks(await makePng(8, 8, 5), [
      { keyword: 'parameters', text: 'Steps: 20, Sampler: DDIM, Seed: 5, Size: 8x8' },
      { keyword: 'sfumato', text: '{"format":"sfumato-sample","version":1,"record":{"id":"smp_x"}}', compress: true },
      { keyword: 'Title', text: 'ü', languageTag: 'de' },
    ]);
    const r = prng(20250102);
    const t0 = performance.now();
    let maxMs = 0;
    for (let n = 0; n < 4000; n++) {
      let input: Uint8Array;
      const mode = n % 5;
      if (mode === 0) input = base.subarray(0, Math.floor(r() * base.length)); // truncation
      else if (mode === 1) {
        input = base.slice(); // byte flips
        const flips = 1 + Math.floor(r() * 8);
        for (let k = 0; k < flips; k++) input[Math.floor(r() * input.length)] = Math.floor(r() * 256);
      } else if (mode === 2) {
        // random bytes after a valid signature
        input = cat(PNG_SIGNATURE, new Uint8Array(Math.floor(r() * 400)).map(() => Math.floor(r() * 256)));
      } else if (mode === 3) {
        // a plausible chunk with a random length and type letters
        const len = r() < 0.5 ? Math.floor(r() * 0xffffffff) : Math.floor(r() * 64);
        const head = new Uint8Array(8);
        new DataView(head.buffer).setUint32(0, len >>> 0);
        for (let k = 4; k < 8; k++) head[k] = 0x41 + Math.floor(r() * 26) + (r() < 0.5 ? 32 : 0);
        input = cat(base.subarray(0, 33), head, new Uint8Array(Math.floor(r() * 80)).map(() => Math.floor(r() * 256)));
      } else {
        input = new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256)); // pure noise
      }
      const t = performance.now();
      expect(() => {
        parsePngChunks(input);
        readPngText(input, { acceptBadCrc: r() < 0.5 });
        readSampleMetadata(input);
      }).not.toThrow();
      maxMs = Math.max(maxMs, performance.now() - t);
    }
    expect(maxMs).toBeLessThan(500);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

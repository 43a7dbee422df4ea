/**
 * Hostile files given to Sfumato by a user: decompression bombs in PNG text chunks, PNG headers
 * claiming billions of pixels, sample records asking for absurd recipes, FIFOs in place of files,
 * and Ctrl-C in the middle of a long CLI command. Memory is measured in a child process (its
 * `process.resourceUsage().maxRSS`), so the test runner's own heap does not blur the figure.
 */
import { execFile, spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../src-main/api/types';
import { embedSampleMetadata, readSampleMetadata } from '../../src-main/gallery/metadata';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, EMOJI_DIR, ROOT, tempDir } from '../helpers/library';

const run = promisify(execFile);

// ------------------------------------------------------------------ PNG building blocks

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG with `n` zTXt chunks, each 20 MB of zeros deflated (~20 KB), before IDAT. */
async function ztxtBomb(n: number, seed: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seed % 256, g: 128, b: 64 } } }).png().toBuffer();
  const zeros = zlib.deflateSync(Buffer.alloc(20 * 1024 * 1024), { level: 9 });
  const parts: Buffer[] = [png.subarray(0, 33)]; // signature + IHDR
  for (let i = 0; i < n; i++) parts.push(chunk('zTXt', Buffer.concat([Buffer.from(`Comment${i}\0\0`, 'latin1'), zeros])));
  parts.push(png.subarray(33));
  return Buffer.concat(parts);
}

/** Rewrites IHDR's width and height (and its CRC): the header lies, the data stays small. */
function withHeaderSize(png: Uint8Array, width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(zlib.crc32(b.subarray(12, 29)) >>> 0, 29);
  return b;
}

/**
 * Runs a TypeScript snippet in a fresh Node process (through tsx) and returns the JSON object it
 * prints last, plus its peak RSS in MB. The snippet gets `report(obj)`.
 */
async function child(dir: string, body: string, timeoutMs = 60_000): Promise<{ out: Record<string, unknown>; maxRssMb: number }> {
  const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    file,
    `const report = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\\n');\n${body}\n`,
  );
  const r = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 1 << 24 });
  const last = r.stdout.trim().split('\n').pop()!;
  const out = JSON.parse(last) as Record<string, unknown>;
  return { out, maxRssMb: out.maxRssMb as number };
}

const src = (p: string) => JSON.stringify(join(ROOT, 'src-main', p));

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('sfumato-hostile-');
});
afterAll(() => tmp.cleanup());

// ------------------------------------------------------------------ item 7: zTXt bombs

describe('PNG text-chunk bombs', () => {
  it('import and preview refuse a 400 KB PNG holding 20 x 20 MB of zTXt, with bounded memory, and import the rest', async () => {
    const dir = join(tmp.dir, 'bombs');
    mkdirSync(dir);
    for (const f of ['cat-face.png', 'dog-face.png', 'doughnut.png']) copyFileSync(join(EMOJI_DIR, f), join(dir, f));
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `bomb-${i}.png`), await ztxtBomb(20, i));
    expect(readFileSync(join(dir, 'bomb-0.png')).length).toBeLessThan(500_000);
    const lib = join(tmp.dir, 'lib-bombs');
    const { out, maxRssMb } = await child(
      tmp.dir,
      `import { Sfumato } from ${src('services/sfumato.ts')};
       const s = await Sfumato.open({ libraryPath: ${JSON.stringify(lib)}, mode: 'cli' });
       const t0 = Date.now();
       const preview = await s.api['datasets:preview']({ dir: ${JSON.stringify(dir)}, count: 16 });
       const imp = await s.api['datasets:import']({ dir: ${JSON.stringify(dir)}, imageSize: 16 });
       await s.close();
       report({ ms: Date.now() - t0, preview: preview.items.map((i) => i.file), imported: imp.imported, errors: imp.errors });`,
    );
    // Before the fix libvips inflated every chunk: several hundred MB (2.4 GB in the report).
    expect(maxRssMb, `peak RSS ${maxRssMb.toFixed(0)} MB`).toBeLessThan(250);
    expect(out.imported).toBe(3);
    expect(out.preview).toEqual(['cat-face.png', 'dog-face.png', 'doughnut.png']);
    const errors = out.errors as { file: string; code: string; message: string }[];
    expect(errors.map((e) => e.file)).toEqual(['bomb-0.png', 'bomb-1.png', 'bomb-2.png', 'bomb-3.png']);
    for (const e of errors) {
      expect(e.code).toBe('too_large');
      expect(e.message).toMatch(/text metadata/);
      expect(e.message).toMatch(/export it again/);
    }
  });

  it('the capped text reader stops inflating once refused bombs have spent the text budget', async () => {
    const { readPngText, DEFAULT_PNG_READ_LIMITS } = await import('../../src-main/png/chunks');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000000' } }).png().toBuffer();
    const small = zlib.deflateSync(Buffer.alloc(2 * 1024 * 1024), { level: 9 }); // ~2 KB, expands past the 1 MB cap
    const parts: Buffer[] = [png.subarray(0, 33)];
    for (let i = 0; i < 200; i++) parts.push(chunk('zTXt', Buffer.concat([Buffer.from(`k${i}\0\0`, 'latin1'), small])));
    parts.push(png.subarray(33));
    const r = readPngText(Buffer.concat(parts));
    const codes = r.problems.map((p) => p.code);
    const inflated = codes.filter((c) => c === 'inflate_limit').length;
    // each refusal cost up to maxTextBytes of inflating: at most budget / cap of them, then skipped
    expect(inflated).toBeLessThanOrEqual(DEFAULT_PNG_READ_LIMITS.maxTotalTextBytes / DEFAULT_PNG_READ_LIMITS.maxTextBytes);
    expect(codes).toContain('text_budget');
  });

  it('a PNG with a little text metadata still imports', async () => {
    const dir = join(tmp.dir, 'small-text');
    mkdirSync(dir);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer();
    const text = chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), zlib.deflateSync(Buffer.alloc(100_000, 65))]));
    writeFileSync(join(dir, 'ok.png'), Buffer.concat([png.subarray(0, 33), text, png.subarray(33)]));
    const s = await Sfumato.open({ libraryPath: join(tmp.dir, 'lib-small'), mode: 'cli' });
    try {
      const r = await s.api['datasets:import']({ dir, imageSize: 8 });
      expect(r.imported).toBe(1);
      expect(r.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

// ------------------------------------------------------------------ item 10: reproduce bombs, FIFOs

describe('reproduce and models import with hostile input', () => {
  let s: Sfumato;
  let record: SampleRecord;
  let samplePng: Buffer;

  beforeAll(async () => {
    s = await Sfumato.open({ libraryPath: join(tmp.dir, 'lib-repro'), mode: 'cli' });
    // the bundled model as a checkpoint of this library: a record can point at it
    const ck = await s.models.bundledCheckpoint('emoji-32');
    const run = (await s.store.models.get(ck.modelId!))!;
    record = {
      id: 'smp_hostile0001',
      file: 'samples/x/smp_hostile0001.png',
      seed: 1,
      sampler: 'ddim',
      steps: 2,
      samplerOptions: {},
      schedule: run.config.schedule,
      prediction: 'eps',
      nfe: 2,
      origin: { kind: 'seed' },
      parentId: null,
      checkpoint: { id: ck.id, sha256: ck.sha256 },
      runId: null,
      width: 32,
      height: 32,
      backend: 'onnxruntime-cpu',
      appVersion: '0.1.0',
      createdAt: '2025-01-02T03:04:05.678Z',
    } as SampleRecord;
    samplePng = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).png().toBuffer();
  });
  afterAll(() => s?.close());

  const pngWith = (over: Partial<SampleRecord>) => Buffer.from(embedSampleMetadata(samplePng, { ...record, ...over } as SampleRecord));

  it('refuses a PNG whose header claims 60000 x 60000 px before decoding it, with a small RSS', async () => {
    const huge = withHeaderSize(pngWith({}), 60_000, 60_000);
    const big = withHeaderSize(pngWith({ width: 16_000, height: 16_000 }), 16_000, 16_000);
    expect(huge.length).toBeLessThan(10_000);
    const f1 = join(tmp.dir, 'huge.png');
    const f2 = join(tmp.dir, 'big.png');
    writeFileSync(f1, huge);
    writeFileSync(f2, big);
    const { out, maxRssMb } = await child(
      tmp.dir,
      `import { Sfumato } from ${src('services/sfumato.ts')};
       const s = await Sfumato.open({ libraryPath: ${JSON.stringify(join(tmp.dir, 'lib-repro'))}, mode: 'cli' });
       const errs: string[] = [];
       for (const f of [${JSON.stringify(f1)}, ${JSON.stringify(f2)}]) {
         try { await s.reproduceFile(f); errs.push('no error'); } catch (e) { errs.push(String((e as Error).message)); }
       }
       await s.close();
       report({ errs });`,
    );
    const [e1, e2] = out.errs as string[];
    expect(e1).toMatch(/60000 x 60000 px but its record says 32 x 32/);
    expect(e1).toMatch(/original PNG/);
    expect(e2).toMatch(/16000 x 16000 px but checkpoint \S+ makes 32 x 32 images/);
    expect(maxRssMb, `peak RSS ${maxRssMb.toFixed(0)} MB`).toBeLessThan(250); // a decode of 16000^2 RGB alone is 768 MB
  });

  it('refuses records asking for pc with 255 correctors x 10,000 steps, naming the fields and ranges', async () => {
    const f = join(tmp.dir, 'pc-bomb.png');
    writeFileSync(f, pngWith({ sampler: 'pc', steps: 10_000, samplerOptions: { correctorSteps: 255, snr: 0.16 } }));
    const err = await s.reproduceFile(f).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/record\.steps must be a whole number from 1 to 1000 \(got 10000\)/);
    expect(err?.message).toMatch(/record\.samplerOptions\.correctorSteps must be a whole number from 0 to 10 \(got 255\)/);
  });

  it('refuses eta = 1e300 with a message naming the field and the range', async () => {
    const f = join(tmp.dir, 'eta-bomb.png');
    writeFileSync(f, pngWith({ samplerOptions: { eta: 1e300 } }));
    const err = await s.reproduceFile(f).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/record\.samplerOptions\.eta must be a number from 0 to 1 \(got 1e\+300\)/);
    // the reader itself drops the field, so a UI restoring settings from the file never sees it
    const meta = readSampleMetadata(readFileSync(f));
    expect(meta.record).toBeUndefined();
    expect(meta.partial?.samplerOptions).toBeUndefined();
  });

  it('the sampling request uses the same bounds', async () => {
    const err = await s.api['sample:generate']({ modelId: 'emoji-32', count: 1, sampler: 'pc', steps: 10, options: { correctorSteps: 255 } }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/correctorSteps must be a whole number from 0 to 10/);
    const err2 = await s.api['sample:generate']({ modelId: 'emoji-32', count: 1, options: { eta: 1e300 } }).then(() => undefined, (e: Error) => e);
    expect(err2?.message).toMatch(/eta must be a number from 0 to 1/);
  });

  it('models import of a FIFO is refused at once, not waited on', { timeout: 10_000 }, async () => {
    const fifo = join(tmp.dir, 'model.onnx');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const err = await s.api['models:import']({ file: fifo, prediction: 'eps', schedule: 'linear' }).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err?.message).toMatch(/model\.onnx is a named pipe \(FIFO\), not a regular file/);
    expect((err as { code?: string }).code).toBe('bad_request');
  });

  it('reproduce of a FIFO is refused at once too', { timeout: 10_000 }, async () => {
    const fifo = join(tmp.dir, 'sample.png');
    execFileSync('mkfifo', [fifo]);
    const err = await s.reproduceFile(fifo).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/named pipe \(FIFO\)/);
  });
});

// ------------------------------------------------------------------ item 11: Ctrl-C in the CLI

describe('Ctrl-C during a long CLI command', () => {
  it('reproduce: a clear "cancelled" line, no TypeError or stack trace, exit code 1', { timeout: 240_000 }, async () => {
    const lib = join(tmp.dir, 'lib-cli');
    // one quick sample to bring the bundled model into the library, then its PNG rewritten to ask
    // for 1000 steps so the reproduce runs long enough to be interrupted
    const made = await run(process.execPath, [CLI, '--data-dir', lib, 'sample', '--model', 'emoji-32', '--count', '1', '--steps', '1', '--seed', '5', '--json'], { maxBuffer: 1 << 24 });
    const rec = (JSON.parse(made.stdout.trim().split('\n').pop()!) as { samples: SampleRecord[] }).samples[0]!;
    const long = join(tmp.dir, 'long.png');
    writeFileSync(long, embedSampleMetadata(readFileSync(join(lib, rec.file)), { ...rec, steps: 1000 }));

    const proc = spawn(process.execPath, [CLI, '--data-dir', lib, 'reproduce', long], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sent = false;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /\[sample\] \d+\/1000/.test(stderr)) {
        sent = true;
        proc.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    expect(sent).toBe(true);
    expect(stderr).not.toMatch(/TypeError|ReferenceError|\n\s+at .+:\d+:\d+/);
    expect(stderr).toMatch(/sfumato: cancelled: Reproduce was cancelled/);
    expect(stdout).toBe('');
    expect(code).toBe(1);
  });

  it('sample: the images made so far are listed, then a "cancelled" line, exit code 1', { timeout: 240_000 }, async () => {
    const lib = join(tmp.dir, 'lib-cli');
    const proc = spawn(process.execPath, [CLI, '--data-dir', lib, 'sample', '--model', 'emoji-32', '--count', '1', '--steps', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /\[sample\] \d+\/1000/.test(stderr)) {
        sent = true;
        proc.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    expect(sent).toBe(true);
    expect(stderr).not.toMatch(/TypeError|ReferenceError|\n\s+at .+:\d+:\d+/);
    expect(stderr).toMatch(/sfumato: cancelled: 0 image\(s\) were finished before Ctrl-C/);
    expect(code).toBe(1);
  });
});

describe('CLI error lines', () => {
  it('say what happened and what to do for decoder and runtime errors, without a stack', async () => {
    const { userMessage } = await import('../../src-main/cli/main');
    const { ApiError } = await import('../../src-main/api/errors');
    const pixel = userMessage(new ApiError('internal', 'Input image exceeds pixel limit'));
    expect(pixel.message).toMatch(/^an image is larger than Sfumato reads \(Input image exceeds pixel limit\)\. Use an image of at most 50 megapixels/);
    expect(pixel.code).toBe('bad_request');
    const bug = userMessage(new TypeError("Cannot read properties of undefined (reading 'file')"));
    expect(bug.message).toMatch(/^unexpected error \(TypeError: Cannot read properties .*\)\. This is a bug in Sfumato: please report it/);
    expect(bug.message).not.toMatch(/\n/);
    const ours = new ApiError('not_found', 'No gallery sample smp_x.');
    expect(userMessage(ours)).toEqual({ code: 'not_found', message: 'No gallery sample smp_x.' });
  });
});

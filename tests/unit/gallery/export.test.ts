import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeStaleTemps } from '../../../src-main/gallery/atomic';
import {
  ExportError,
  captionOf,
  contactSheet,
  contactSheetLayout,
  csvField,
  denoisingAnimation,
  exportFolder,
  exportZip,
  interpolationStrip,
  manifestCsv,
  safeExportPath,
  sanitizeFileName,
  uniqueName,
  xmlEscape,
  type ExportSample,
  type Manifest,
} from '../../../src-main/gallery/export';
import { embedSampleMetadata, readSampleMetadata } from '../../../src-main/gallery/metadata';
import { makePng, prng, readZip, rgbPattern, sampleRecord } from './helpers';

const here = path.dirname(fileURLToPath(import.meta.url));
let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sfumato-export-test-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** n samples in a fake library; the first one's PNG carries no metadata (an older sample). */
async function library(n: number, size = 16): Promise<ExportSample[]> {
  const lib = path.join(tmp, 'library');
  await fs.mkdir(lib, { recursive: true });
  const out: ExportSample[] = [];
  for (let i = 0; i < n; i++) {
    const record = sampleRecord({ id: `smp_test${i}`, seed: 1000 + i, file: `samples/smp_test${i}.png`, width: size, height: size });
    const png = await makePng(size, size, i);
    const absFile = path.join(lib, `smp_test${i}.png`);
    await fs.writeFile(absFile, i === 0 ? png : embedSampleMetadata(png, record));
    out.push({ record, absFile });
  }
  return out;
}

/** RFC 4180 reader for the test (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field).toBe('');
  return rows;
}

async function listAll(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

describe('export paths', () => {
  it('refuses names that escape, are absolute, contain control characters or are reserved on Windows', () => {
    const target = path.join(tmp, 'out');
    const bad = [
      '',
      '.',
      '..',
      '../x.png',
      'a/../../x.png',
      'a/./b.png',
      'a//b.png',
      '/etc/passwd',
      'C:\\Windows\\x.png',
      'C:x.png',
      '\\\\server\\share\\x.png',
      'a\\b.png',
      'a\0b.png',
      'line\nbreak.png',
      'tab\t.png',
      'NUL',
      'con.txt',
      'Com1.png',
      'lpt9',
      'COM¹',
      'trailing.',
      'trailing ',
      'a:b.png',
      'a*b.png',
      'what?.png',
      `${'é'.repeat(200)}.png`,
      'lone\ud800.png',
    ];
    for (const name of bad) {
      expect(() => safeExportPath(target, name), JSON.stringify(name)).toThrow(ExportError);
    }
    expect(safeExportPath(target, 'smp_x.png')).toBe(path.join(target, 'smp_x.png'));
    expect(safeExportPath(target, 'sub/dir/é ü.png')).toBe(path.join(target, 'sub', 'dir', 'é ü.png'));
    expect(safeExportPath(target, 'console.png')).toBe(path.join(target, 'console.png'));
  });

  it('sanitises any name from metadata into one that stays inside the target (2000 random names)', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(sanitizeFileName('CON.png')).toBe('_CON.png');
    expect(sanitizeFileName('..')).toBe('file');
    expect(sanitizeFileName(' .hidden. ')).toBe('hidden');
    expect(sanitizeFileName('a\u0000b<c>.png')).toBe('a_b_c_.png');
    expect(sanitizeFileName('x\udc00y.png')).toBe('x_y.png');
    const long = sanitizeFileName(`${'日'.repeat(300)}.png`);
    expect(long.endsWith('.png')).toBe(true);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    const r = prng(99);
    const alphabet = ['a', '.', '/', '\\', ':', '\0', '\n', ' ', 'é', '日', '🎨', 'CON', 'nul', '..', '*', '"', '\u0085', '\ud800'];
    const target = path.join(tmp, 'out');
    for (let n = 0; n < 2000; n++) {
      let s = '';
      for (let k = Math.floor(r() * 12); k > 0; k--) s += alphabet[Math.floor(r() * alphabet.length)];
      const safe = sanitizeFileName(s);
      const full = safeExportPath(target, safe);
      expect(path.dirname(full)).toBe(target);
    }
  });

  it('uniqueName never picks an existing or already-taken name', async () => {
    await fs.writeFile(path.join(tmp, 'a.png'), 'x');
    await fs.writeFile(path.join(tmp, 'a-1.png'), 'x');
    expect(await uniqueName(tmp, 'a.png')).toBe('a-2.png');
    expect(await uniqueName(tmp, 'a.png', new Set(['a-2.png']))).toBe('a-3.png');
    expect(await uniqueName(tmp, 'b.png')).toBe('b.png');
    expect(await uniqueName(tmp, 'noext')).toBe('noext');
    await expect(uniqueName(tmp, '../a.png')).rejects.toThrow(ExportError);
  });

  it('CSV fields follow RFC 4180 and defuse formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-1.5e3')).toBe('-1.5e3');
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(xmlEscape(`<a href="x">&'</a>\u0001`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
});

function checkManifest(manifest: Manifest, samples: ExportSample[], files: Map<string, Uint8Array>): void {
  expect(manifest.count).toBe(samples.length);
  expect(manifest.items.map((it) => it.record)).toEqual(samples.map((s) => s.record));
  for (const it of manifest.items) {
    const bytes = files.get(it.file);
    expect(bytes, it.file).toBeDefined();
    expect(sha(bytes!)).toBe(it.sha256);
    expect(bytes!.length).toBe(it.bytes);
  }
  const csv = parseCsv(new TextDecoder().decode(files.get('manifest.csv')));
  const [header, ...rows] = csv;
  expect(rows.length).toBe(samples.length);
  const col = (name: string) => header.indexOf(name);
  for (const c of ['file', 'sha256', 'id', 'seed', 'sampler', 'steps', 'width', 'height', 'samplerOptions.eta', 'samplerOptions.spacing', 'schedule.beta', 'schedule.trainSteps', 'checkpoint.sha256', 'runId', 'backend', 'appVersion', 'createdAt', 'sourceFile', 'prediction', 'nfe']) {
    expect(col(c), c).toBeGreaterThanOrEqual(0);
  }
  rows.forEach((row, i) => {
    const it = manifest.items[i];
    expect(row.length).toBe(header.length);
    expect(row[col('file')]).toBe(it.file);
    expect(row[col('sha256')]).toBe(it.sha256);
    expect(row[col('id')]).toBe(it.record.id);
    expect(Number(row[col('seed')])).toBe(it.record.seed);
    expect(row[col('checkpoint.sha256')]).toBe(it.record.checkpoint.sha256);
    expect(Number(row[col('schedule.betaEnd')])).toBe(0.02);
  });
}

describe('exportFolder', () => {
  it('writes images with embedded metadata and manifests that match them, never overwriting', async () => {
    const samples = await library(3);
    const out = path.join(tmp, 'out');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'smp_test1.png'), 'an unrelated file the user had');
    await fs.writeFile(path.join(out, 'manifest.json'), '{"mine": true}');
    const progress: number[] = [];
    const res = await exportFolder(samples, out, { onProgress: (p) => p.phase === 'images' && progress.push(p.done), appVersion: '0.1.0' });
    expect(progress).toEqual([1, 2, 3]);
    expect(await fs.readFile(path.join(out, 'smp_test1.png'), 'utf8')).toBe('an unrelated file the user had');
    expect(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')).toBe('{"mine": true}');
    expect(res.files).toEqual(['smp_test0.png', 'smp_test1-1.png', 'smp_test2.png', 'manifest-1.json', 'manifest.csv']);
    expect(await listAll(out)).toEqual(['manifest-1.json', 'manifest.csv', 'manifest.json', 'smp_test0.png', 'smp_test1-1.png', 'smp_test1.png', 'smp_test2.png']);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest-1.json'), 'utf8')) as Manifest;
    expect(manifest).toEqual(res.manifest);
    const files = new Map<string, Uint8Array>();
    for (const f of [...res.files, 'manifest.csv']) files.set(f, new Uint8Array(await fs.readFile(path.join(out, f))));
    checkManifest(manifest, samples, files);
    // every exported PNG carries its recipe, including the one whose library file had none
    for (const it of manifest.items) {
      const meta = readSampleMetadata(files.get(it.file)!);
      expect(meta.problems).toEqual([]);
      expect(meta.record).toEqual(it.record);
    }
  });

  it('converts to lossless WebP with the parameters in EXIF and the record in XMP', async () => {
    const samples = await library(2);
    const res = await exportFolder(samples, path.join(tmp, 'webp'), { format: 'webp' });
    expect(res.files.slice(0, 2)).toEqual(['smp_test0.webp', 'smp_test1.webp']);
    const file = path.join(tmp, 'webp', 'smp_test1.webp');
    const meta = await sharp(file).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.exif!.toString('latin1')).toContain('Sampler: DDIM');
    expect(meta.xmp!.toString()).toContain('sfumato-sample');
    const a = await sharp(samples[1].absFile).raw().toBuffer();
    const b = await sharp(file).raw().toBuffer();
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('cancel leaves the folder exactly as it was', async () => {
    const samples = await library(4);
    const out = path.join(tmp, 'cancel');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'keep.txt'), 'x');
    for (const stopAt of [1, 4]) {
      const ac = new AbortController();
      await expect(
        exportFolder(samples, out, {
          signal: ac.signal,
          onProgress: (p) => {
            if (p.done === stopAt) ac.abort();
          },
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(await listAll(out)).toEqual(['keep.txt']);
    }
    // cancelled during the commit phase: the files it had moved into place are removed again
    const ac = new AbortController();
    await expect(exportFolder(samples, out, { signal: ac.signal, onProgress: (p) => p.phase === 'commit' && p.done === 2 && ac.abort() })).rejects.toThrow();
    expect(await listAll(out)).toEqual(['keep.txt']);
    const already = new AbortController();
    already.abort();
    await expect(exportFolder(samples, out, { signal: already.signal })).rejects.toThrow();
    await expect(exportFolder([], out)).rejects.toThrow(ExportError);
  });
});

describe('exportZip', () => {
  it('zip contents match the manifest; an existing zip is never overwritten', async () => {
    const samples = await library(3);
    const zipPath = path.join(tmp, 'zips', 'export.zip');
    await fs.mkdir(path.dirname(zipPath));
    await fs.writeFile(zipPath, 'an older export');
    const res = await exportZip(samples, zipPath, { appVersion: '0.1.0', now: new Date('2025-02-03T04:05:06Z') });
    expect(res.path).toBe(path.join(tmp, 'zips', 'export-1.zip'));
    expect(await fs.readFile(zipPath, 'utf8')).toBe('an older export');
    expect(await listAll(path.dirname(zipPath))).toEqual(['export-1.zip', 'export.zip']); // no temp left
    const entries = readZip(new Uint8Array(await fs.readFile(res.path)));
    expect([...entries.keys()]).toEqual(['smp_test0.png', 'smp_test1.png', 'smp_test2.png', 'manifest.json', 'manifest.csv']);
    const manifest = JSON.parse(new TextDecoder().decode(entries.get('manifest.json'))) as Manifest;
    expect(manifest).toEqual(res.manifest);
    expect(manifest.exportedAt).toBe('2025-02-03T04:05:06.000Z');
    checkManifest(manifest, samples, entries);
    expect(manifestCsv(manifest)).toBe(new TextDecoder().decode(entries.get('manifest.csv')));
    for (const s of samples) expect(readSampleMetadata(entries.get(`${s.record.id}.png`)!).record).toEqual(s.record);
    await expect(exportZip(samples, zipPath, { onExists: 'fail' })).rejects.toThrow(/already exists/);
    await expect(exportZip(samples, path.join(tmp, 'zips', 'CON.zip'))).rejects.toThrow(ExportError);
  });

  it('cancel leaves no zip and no temp file', async () => {
    const samples = await library(3);
    const dir = path.join(tmp, 'zc');
    for (const stopAt of [1, 3]) {
      const ac = new AbortController();
      await expect(exportZip(samples, path.join(dir, 'a.zip'), { signal: ac.signal, onProgress: (p) => p.done === stopAt && ac.abort() })).rejects.toThrow();
      expect(await listAll(dir)).toEqual([]);
    }
  });
});

describe('kill -9 during an export', () => {
  const child = path.join(here, 'fixtures', 'export-child.ts');

  async function runAndKill(mode: 'zip' | 'folder', target: string): Promise<void> {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, mode, target, path.join(tmp, `lib-${mode}`), '40', '20'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += String(d)));
    const ready = await new Promise<boolean>((resolve) => {
      let out = '';
      proc.stdout.on('data', (d) => {
        out += String(d);
        if (out.includes('READY')) resolve(true);
      });
      proc.on('exit', () => resolve(false));
    });
    expect(ready, stderr).toBe(true);
    const exited = new Promise((r) => proc.on('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  it('leaves no partial file under the final name (zip), and the next export cleans up', async () => {
    const dir = path.join(tmp, 'kz');
    await runAndKill('zip', path.join(dir, 'big.zip'));
    const left = await listAll(dir);
    expect(left).not.toContain('big.zip');
    expect(left.length).toBe(1);
    expect(left[0]).toMatch(/^\.big\.zip\.\d+\.[0-9a-f]{12}\.sfumato-tmp$/);
    expect((await fs.stat(path.join(dir, left[0]))).size).toBeGreaterThan(0); // it really was mid-write
    expect(await removeStaleTemps(dir)).toEqual(left);
    expect(await listAll(dir)).toEqual([]);
  });

  it('leaves no visible file at all (folder): only a hidden staging folder, removed by the next export', async () => {
    const dir = path.join(tmp, 'kf');
    await runAndKill('folder', dir);
    const left = await listAll(dir);
    expect(left.length).toBe(1);
    expect(left[0]).toMatch(/^\.sfumato-export-\d+-/);
    const samples = await library(1);
    const res = await exportFolder(samples, dir);
    expect(await listAll(dir)).toEqual([...res.files].sort());
  });
});

describe('contact sheet', () => {
  it('lays out a grid with captions (hostile text escaped)', async () => {
    const samples = await library(5);
    samples[2] = { ...samples[2], record: { ...samples[2].record, sampler: '<script>&"\'</script>\u0001' as never } };
    const png = await contactSheet(samples, { columns: 3, cellSize: 32, gap: 4, captions: true, background: '#102030' });
    const meta = await sharp(png).metadata();
    // the caption band's height comes from the label layout (wrapped captions grow it)
    const captionH = contactSheetLayout(samples.map((x) => captionOf(x.record)), 5, { columns: 3, cell: 32, gap: 4 }).labels[0].box.height;
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 4 + 3 * 36, 4 + 2 * (32 + captionH + 4)]);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(px(0, 0)).toEqual([0x10, 0x20, 0x30]); // background
    const src = rgbPattern(16, 16, 1); // sample 1 sits in column 1 of row 0; nearest 2x upscale
    expect(px(4 + 36 + 1, 4 + 1)).toEqual(Array.from(src.subarray(0, 3)));
    const plain = await contactSheet(samples.slice(0, 2), { cellSize: 16, captions: false, gap: 0 });
    expect(await sharp(plain).metadata().then((m) => [m.width, m.height])).toEqual([32, 16]);
    await expect(contactSheet(Array(100).fill(samples[0]), { columns: 100, cellSize: 2048 })).rejects.toThrow(/too large/);
  });
});

describe('denoising animation and interpolation strip', () => {
  const W = 8;
  const H = 6;
  const frames = Array.from({ length: 6 }, (_, i) => rgbPattern(W, H, 100 + i));

  it('animated WebP: every frame, lossless, with delays', async () => {
    const bytes = await denoisingAnimation(frames, W, H, { format: 'webp', delayMs: 80, lastFrameDelayMs: 1000, scale: 2 });
    const meta = await sharp(bytes, { animated: true }).metadata();
    expect([meta.format, meta.pages, meta.pageHeight, meta.width]).toEqual(['webp', 6, 12, 16]);
    expect(meta.delay).toEqual([80, 80, 80, 80, 80, 1000]);
    const raw = await sharp(bytes, { animated: true }).raw().toBuffer({ resolveWithObject: true });
    const ch = raw.info.channels;
    for (let f = 0; f < 6; f++) {
      // pixel (1, 1) of frame f after 2x upscale is source pixel (0, 0)
      const o = ((f * 12 + 1) * 16 + 1) * ch;
      expect(Array.from(raw.data.subarray(o, o + 3))).toEqual(Array.from(frames[f].subarray(0, 3)));
    }
  });

  it('GIF: every frame, looping', async () => {
    const bytes = await denoisingAnimation(frames, W, H, { format: 'gif', delayMs: 50 });
    const meta = await sharp(bytes, { animated: true }).metadata();
    expect([meta.format, meta.pages, meta.pageHeight, meta.width, meta.loop]).toEqual(['gif', 6, 6, 8, 0]);
    expect(meta.delay).toEqual([50, 50, 50, 50, 50, 50]);
  });

  it('refuses bad frames and honours cancel', async () => {
    await expect(denoisingAnimation([new Uint8Array(3)], W, H, { format: 'gif' })).rejects.toThrow(/Frame 0/);
    await expect(denoisingAnimation([], W, H, { format: 'gif' })).rejects.toThrow(ExportError);
    await expect(denoisingAnimation(frames, W, H, { format: 'gif', scale: 0 })).rejects.toThrow(/scale/);
    const ac = new AbortController();
    await expect(denoisingAnimation(frames, W, H, { format: 'webp', signal: ac.signal, onProgress: (p) => p.done === 2 && ac.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('interpolation strip: frames side by side', async () => {
    const png = await interpolationStrip(frames.slice(0, 4), W, H, { scale: 2, gap: 2, background: [1, 2, 3] });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4 * 16 + 3 * 2, 12]);
    const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    expect(px(16, 0)).toEqual([1, 2, 3]); // gap
    expect(px(18 + 15, 11)).toEqual(Array.from(frames[1].subarray(((H - 1) * W + W - 1) * 3, ((H - 1) * W + W) * 3)));
  });
});

/** Image conversion for exports (PNG/WebP, nearest-neighbour upscale) and per-image helpers (moved whole from gallery/export.ts; its file comment has the safety rules). */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import type { SampleRecord } from '../../api/types';
import { parsePngChunks } from '../../png/chunks';
import { a1111Parameters, embedSampleMetadata, readSampleMetadata, sfumatoChunkText } from '../metadata';
import { ExportError, LONE_SURROGATES, sanitizeFileName } from './names';
import type { ExportSample, ImageFormat } from './manifest';

// ------------------------------------------------------------------ image conversion

/** The largest image an export draws (an upscaled image, a contact sheet), in pixels. */
export const MAX_SHEET_PIXELS = 100_000_000;

const MAX_SOURCE_BYTES = 256 * 1024 * 1024;

/** XML 1.0 text escaping; characters XML cannot carry at all (controls, lone surrogates) are dropped. */
export function xmlEscape(s: string): string {
  return (
    String(s)
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(LONE_SURROGATES, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

export async function readSource(absFile: string): Promise<Uint8Array> {
  const st = await fs.stat(absFile);
  if (!st.isFile()) throw new ExportError('bad_input', `${absFile} is not a file`);
  if (st.size > MAX_SOURCE_BYTES) throw new ExportError('too_large', `${absFile} is larger than ${MAX_SOURCE_BYTES} bytes`);
  return new Uint8Array(await fs.readFile(absFile));
}

/**
 * The exported bytes of one sample. PNG: the library file, with our `parameters` + `sfumato`
 * chunks added when it lacks them (older samples). WebP: lossless, the A1111 text in EXIF
 * ImageDescription (where A1111 puts it for non-PNG files), the sfumato JSON in XMP.
 */
export async function exportImageBytes(sample: ExportSample, format: ImageFormat, upscale = 1): Promise<Uint8Array> {
  const n = upscaleFactor(upscale);
  const original = await readSource(sample.absFile);
  // Upscaled: every source pixel becomes an n×n block. sharp drops our text chunks on the way,
  // so the PNG path below embeds the record again (the record keeps the sample's own size).
  const src = n === 1 ? original : await nearestUpscale(original, n);
  if (format === 'png') {
    const meta = readSampleMetadata(src);
    if (meta.record?.id === sample.record.id) return src;
    // Re-encode through sharp when the source is not a well-formed PNG we can add chunks to.
    const parsed = parsePngChunks(src);
    const wellFormed = parsed.signatureOk && parsed.ended && parsed.problems.every((p) => p.code === 'trailing_data');
    const png = wellFormed ? src : new Uint8Array(await sharp(src).png().toBuffer());
    return embedSampleMetadata(png, sample.record);
  }
  const xmp =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:sfumato="https://sfumato.invalid/ns/1.0/">' +
    `<sfumato:sample>${xmlEscape(sfumatoChunkText(sample.record))}</sfumato:sample>` +
    '</rdf:Description></rdf:RDF></x:xmpmeta>';
  const out = await sharp(src)
    .webp({ lossless: true })
    .withExif({ IFD0: { ImageDescription: a1111Parameters(sample.record), Software: `Sfumato ${sample.record.appVersion}` } })
    .withXmp(xmp)
    .toBuffer();
  return new Uint8Array(out);
}

/** An export upscale factor: an integer from 1 to 16, else ExportError('bad_input'). */
export function upscaleFactor(upscale: number | undefined): number {
  const n = upscale ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new ExportError('bad_input', `upscale must be a whole number from 1 to 16 (got ${upscale}).`);
  return n;
}

/** A PNG of `src` scaled by exactly `n` with nearest-neighbour sampling (pixel art stays crisp). */
export async function nearestUpscale(src: Uint8Array, n: number): Promise<Uint8Array> {
  const img = sharp(src);
  const { width, height } = await img.metadata();
  if (!width || !height) throw new ExportError('bad_input', 'An image to upscale has no size.');
  if (width * n * height * n > MAX_SHEET_PIXELS) throw new ExportError('too_large', `A ${width}x${height} image upscaled ×${n} is too large; choose a smaller factor.`);
  const out = await img.resize(width * n, height * n, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
  return new Uint8Array(out);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function checkSamples(samples: readonly ExportSample[]): void {
  if (!Array.isArray(samples) || samples.length === 0) throw new ExportError('bad_input', 'Nothing to export: select at least one sample.');
  if (samples.length > 65_000) throw new ExportError('too_large', 'At most 65,000 images per export.');
}

export function imageName(record: SampleRecord, format: ImageFormat, taken: Set<string>): string {
  const base = sanitizeFileName(`${record.id}.${format}`, `sample.${format}`);
  let name = base;
  for (let n = 1; taken.has(name.toLowerCase()); n++) name = base.replace(/(\.[^.]+)?$/, (ext) => `-${n}${ext}`);
  taken.add(name.toLowerCase());
  return name;
}

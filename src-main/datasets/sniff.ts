/**
 * Content sniffing: the real format of a file from its first bytes, never from its name.
 *
 * Accepted formats are the raster formats that our sharp build (0.35, prebuilt libvips) decodes:
 * PNG, JPEG, GIF (first frame), WebP (first frame), TIFF (first page) and AVIF.
 * Everything else is named as precisely as we can so the user knows what to do with it:
 * - SVG is refused on purpose: it is a program for a renderer (external references, entity
 *   expansion, scripts), has no intrinsic pixel size, and librsvg is a large attack surface for
 *   files picked up by a recursive walk. Export it as PNG.
 * - BMP, HEIC, JPEG XL, JPEG 2000, PSD, ICO, camera RAW: our sharp build cannot decode them
 *   (or, for TIFF-based RAW files, would silently decode only the embedded preview).
 * The file name is used only to refuse (a TIFF-structured `.nef`/`.dng` is a camera RAW file)
 * and to word messages, never to accept.
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | 'avif';

export const SUPPORTED_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'gif', 'webp', 'tiff', 'avif'];

/** Human list used in messages. */
export const SUPPORTED_LIST = 'PNG, JPEG, WebP, GIF, TIFF or AVIF';

/** How many leading bytes `sniff` looks at. */
export const SNIFF_BYTES = 4096;

export type SniffResult =
  | { kind: 'image'; format: ImageFormat }
  | {
      kind: 'other';
      /** short id of what it looks like: svg, bmp, heic, pdf, text, zip, video, unknown, … */
      type: string;
      /** the message for the user: what it is and what to do */
      message: string;
    };

const RAW_EXTENSIONS = new Set([
  'cr2', 'cr3', 'crw', 'nef', 'nrw', 'arw', 'srf', 'sr2', 'dng', 'orf', 'rw2', 'raf', 'pef', 'srw', 'x3f', 'erf', 'kdc', 'mrw', '3fr', 'iiq', 'rwl',
]);
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'jpe', 'jfif', 'gif', 'webp', 'tif', 'tiff', 'avif', 'bmp', 'heic', 'heif']);

function ascii(b: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function startsWith(b: Uint8Array, bytes: number[], offset = 0): boolean {
  if (b.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (b[offset + i] !== bytes[i]) return false;
  return true;
}

function extensionOf(name: string | undefined): string {
  if (!name) return '';
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function other(type: string, what: string, advice: string): SniffResult {
  return { kind: 'other', type, message: `${what}. ${advice}` };
}

const CONVERT = 'Convert it to PNG or JPEG and import again, or remove it from the folder.';
const REMOVE = 'Remove it from the folder, or convert it to PNG/JPEG if it is a picture.';

/** ISO-BMFF `ftyp` brands → format (AVIF, HEIC, video). */
function sniffFtyp(b: Uint8Array): SniffResult | null {
  if (b.length < 12 || ascii(b, 4, 4) !== 'ftyp') return null;
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const end = Math.min(b.length, boxSize >= 16 ? boxSize : 16);
  const brands = [ascii(b, 8, 4)];
  for (let o = 16; o + 4 <= end; o += 4) brands.push(ascii(b, o, 4));
  if (brands.includes('avif') || brands.includes('avis')) return { kind: 'image', format: 'avif' };
  if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].some((x) => brands.includes(x)))
    return other('heic', 'HEIC/HEIF images (for example iPhone photos) are not supported', 'Export it as JPEG or PNG (on a Mac: open it in Preview, File > Export) and import again.');
  if (brands.includes('crx ')) return other('raw', 'not an image Sfumato can read (a Canon CR3 camera RAW file)', 'Export it from your photo editor as JPEG, PNG or TIFF and import again.');
  if (brands.some((x) => /^(isom|iso\d|mp4\d|mp41|mp42|avc1|qt  |M4V |M4A |3gp\d|dash)$/.test(x)))
    return other('video', 'not an image (looks like a video or audio file)', 'Remove it from the folder, or export still frames as PNG.');
  return null;
}

/** True when the bytes look like text (UTF-8 without NULs or most control characters). */
function looksLikeText(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  let control = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) return false;
    if (c < 9 || (c > 13 && c < 32 && c !== 27)) control++;
  }
  if (control > b.length / 100) return false;
  try {
    // A multi-byte character may be cut at the end of the window: drop up to 3 trailing bytes.
    let end = b.length;
    while (end > 0 && end > b.length - 3 && (b[end - 1]! & 0xc0) === 0x80) end--;
    if (end > 0 && b[end - 1]! >= 0xc0) end--;
    new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * The format of a file from its first bytes (pass at least {@link SNIFF_BYTES} when available).
 * `fileName` only refines messages and refuses TIFF-structured camera RAW files.
 */
export function sniff(head: Uint8Array, fileName?: string): SniffResult {
  const b = head.subarray(0, SNIFF_BYTES);
  const ext = extensionOf(fileName);

  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' };
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' };
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { kind: 'image', format: 'gif' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return { kind: 'image', format: 'webp' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) {
    if (RAW_EXTENSIONS.has(ext) || (ascii(b, 8, 2) === 'CR'))
      return other('raw', `not an image Sfumato can read (a camera RAW file, .${ext || 'cr2'})`, 'Export it from your photo editor as JPEG, PNG or TIFF and import again.');
    return { kind: 'image', format: 'tiff' };
  }
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b]))
    return other('bigtiff', 'BigTIFF images are not supported', CONVERT);
  if (startsWith(b, [0x49, 0x49, 0x55, 0x00]) || startsWith(b, [0x49, 0x49, 0x52, 0x4f]))
    return other('raw', 'not an image Sfumato can read (a camera RAW file)', 'Export it from your photo editor as JPEG, PNG or TIFF and import again.');
  const ftyp = sniffFtyp(b);
  if (ftyp) return ftyp;
  if (ascii(b, 0, 2) === 'BM' && b.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(b[14]! | (b[15]! << 8)) && b[16] === 0 && b[17] === 0)
    return other('bmp', 'BMP images are not supported', CONVERT);
  if (ascii(b, 0, 4) === '8BPS') return other('psd', 'Photoshop documents (PSD) are not supported', 'Export it as PNG (File > Export) and import again.');
  if (startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]))
    return other('jxl', 'JPEG XL images are not supported', CONVERT);
  if (startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51]))
    return other('jp2', 'JPEG 2000 images are not supported', CONVERT);
  if (startsWith(b, [0, 0, 1, 0]) && b.length >= 22 && b[4]! + b[5]! > 0) return other('ico', 'icon files (ICO) are not supported', CONVERT);
  if (ascii(b, 0, 4) === 'qoif') return other('qoi', 'QOI images are not supported', CONVERT);
  if (ascii(b, 0, 5) === '%PDF-') return other('pdf', 'not an image (looks like a PDF document)', 'Remove it from the folder, or export its pages as PNG/JPEG.');
  if (ascii(b, 0, 4) === '%!PS') return other('postscript', 'not an image (looks like a PostScript/EPS file)', 'Export it as PNG and import again, or remove it.');
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06])) {
    const kind = ext === 'kra' ? 'a Krita document' : ext === 'ora' ? 'an OpenRaster document' : ext === 'procreate' ? 'a Procreate document' : 'a ZIP archive or a document stored as one';
    return other('zip', `not an image (looks like ${kind})`, 'Unpack or export the pictures as PNG/JPEG, or remove it from the folder.');
  }
  if (startsWith(b, [0x1f, 0x8b])) return other('gzip', 'not an image (looks like a compressed .gz file)', 'Unpack it, or remove it from the folder.');
  if (startsWith(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) || ascii(b, 0, 4) === 'Rar!')
    return other('archive', 'not an image (looks like an archive)', 'Unpack it, or remove it from the folder.');
  if (ascii(b, 0, 4) === 'RIFF') return other('riff', `not an image (looks like a ${ascii(b, 8, 4).trim() || 'RIFF'} media file)`, REMOVE);
  if (ascii(b, 0, 3) === 'ID3' || ascii(b, 0, 4) === 'OggS' || ascii(b, 0, 4) === 'fLaC')
    return other('audio', 'not an image (looks like an audio file)', 'Remove it from the folder.');
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return other('video', 'not an image (looks like a video file)', 'Remove it from the folder, or export still frames as PNG.');
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) || ascii(b, 0, 2) === 'MZ')
    return other('executable', 'not an image (looks like a program)', 'Remove it from the folder.');

  // Text formats: SVG, HTML, other text (UTF-8, or UTF-16 with a BOM).
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff]))
    return other('text', 'not an image (looks like a text file)', 'Remove it from the folder.');
  if (looksLikeText(b)) {
    const text = new TextDecoder('utf-8').decode(b).replace(/^\uFEFF/, '').trimStart().toLowerCase();
    if (/<svg[\s>]/.test(text) && (text.startsWith('<?xml') || text.startsWith('<svg') || text.startsWith('<!--') || text.startsWith('<!doctype svg')))
      return other('svg', 'SVG vector images are not supported', 'Export it as PNG at the size you want and import again.');
    if (text.startsWith('<!doctype html') || text.startsWith('<html')) return other('html', 'not an image (looks like a web page)', 'Remove it from the folder.');
    const named = IMAGE_EXTENSIONS.has(ext) ? ` although its name ends in .${ext}` : '';
    return other('text', `not an image (looks like a text file${named})`, 'Remove it from the folder.');
  }

  const named = IMAGE_EXTENSIONS.has(ext) ? `its name ends in .${ext}, but the content is not ${extLabel(ext)} image` : 'unknown content';
  return other('unknown', `not a supported image (${named}). Sfumato reads ${SUPPORTED_LIST} files`, REMOVE);
}

function extLabel(ext: string): string {
  const l = ['jpg', 'jpeg', 'jpe', 'jfif'].includes(ext) ? 'JPEG' : ext === 'tif' ? 'TIFF' : ext === 'webp' ? 'WebP' : ext.toUpperCase();
  return `${/^[AEFHILMNORSX]/.test(l) ? 'an' : 'a'} ${l}`;
}

/** Display name of a format for messages. */
export function formatLabel(f: ImageFormat): string {
  return f === 'jpeg' ? 'JPEG' : f === 'webp' ? 'WebP' : f.toUpperCase();
}

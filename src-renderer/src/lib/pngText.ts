/**
 * What of a dropped PNG goes to `gallery:readRecipe`: the signature, IHDR, the text chunks (tEXt,
 * zTXt, iTXt; PNG 2nd ed. §11.3.4) and IEND, each copied byte for byte with its CRC, so the main
 * side still checks everything. The pixels (IDAT) stay behind: a 4 MB A1111 PNG sends a few KB,
 * which also keeps web mode under its request-body limit. Chunk layout: §5.3 (length, type, data,
 * CRC). The main side is the one that validates; this only trims.
 */

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const KEEP = new Set(['IHDR', 'tEXt', 'zTXt', 'iTXt', 'IEND']);

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The PNG without its pixel and other non-text chunks; the input unchanged when it is not a PNG. */
export function pngTextOnly(bytes: Uint8Array): Uint8Array {
  if (!isPng(bytes)) return bytes;
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let ended = false;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > bytes.length) {
      // A truncated chunk: send the rest as it is, for the main side to report.
      parts.push(bytes.subarray(at));
      at = bytes.length;
      break;
    }
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (KEEP.has(type)) parts.push(bytes.subarray(at, end));
    at = end;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  // A few stray bytes where the next chunk should start: sent too, for the main side to report.
  if (!ended && at < bytes.length) parts.push(bytes.subarray(at));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Base64 of bytes, in slices (String.fromCharCode takes a limited number of arguments). */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

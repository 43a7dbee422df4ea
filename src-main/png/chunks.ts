/**
 * PNG chunk reading and text-chunk writing, hardened for hostile input.
 * (Kept whole, over 500 lines on purpose: it is one codec, and its limits and checks read best together.)
 *
 * Written by hand (no package): it is small, and it must never throw, never trust a length field
 * and never allocate more than its caps. References are to the W3C PNG Specification, Second
 * Edition (ISO/IEC 15948:2003):
 *   §5.2  PNG signature            §5.3  chunk layout (length, type, data, CRC)
 *   §5.4  chunk naming conventions §5.5  CRC algorithm (Annex D)
 *   §5.6  chunk ordering           §10   compression (zlib datastream, method 0)
 *   §11.3.4   textual information: §11.3.4.2 keywords and text strings, §11.3.4.3 tEXt,
 *             §11.3.4.4 zTXt, §11.3.4.5 iTXt
 *
 * Reading (`parsePngChunks`, `readPngText`) never throws: everything odd becomes a `PngProblem`.
 * Writing (`encodeTextChunk`, `insertTextChunks`) throws `PngFormatError` on input it refuses.
 */
import zlib from 'node:zlib';

/** §5.2: the eight bytes every PNG datastream starts with. */
export const PNG_SIGNATURE: Uint8Array = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** §5.3: "a four-byte unsigned integer … limited to 2^31 − 1 bytes". */
export const PNG_MAX_CHUNK_LENGTH = 0x7fffffff;

export type PngProblemCode =
  | 'not_png' // §5.2 signature missing
  | 'truncated' // a chunk runs past the end of the data
  | 'bad_length' // length field above 2^31 − 1
  | 'bad_type' // chunk type bytes not ASCII letters (§5.4): the framing is lost, parsing stops
  | 'bad_crc' // stored CRC differs from the computed one (§5.5)
  | 'no_ihdr' // IHDR is not the first chunk (§5.6)
  | 'no_iend' // the data ended before IEND
  | 'trailing_data' // bytes after IEND (tolerated, ignored)
  | 'too_many_chunks' // more chunks than `maxChunks`
  | 'text_too_large' // a text chunk above `maxTextBytes`, skipped without decoding
  | 'text_budget' // the total text budget is spent; later text chunks skipped
  | 'inflate_limit' // compressed text expands past its cap; refused, never fully inflated
  | 'inflate_error' // compressed text is not a valid zlib stream
  | 'bad_text_chunk' // text chunk fields malformed (no separator, bad flags)
  | 'bad_keyword' // keyword breaks §11.3.4.2 (still read)
  | 'bad_utf8' // iTXt field is not valid UTF-8 (decoded with U+FFFD)
  | 'too_many_problems'; // the problem list itself is capped

export interface PngProblem {
  code: PngProblemCode;
  message: string;
  /** byte offset of the chunk (its length field) or of the problem */
  offset?: number;
  chunk?: string;
}

export interface PngChunk {
  /** four-letter chunk type, e.g. `IHDR`, `tEXt` */
  type: string;
  /** offset of the chunk's length field in the datastream */
  offset: number;
  /** length of the data field */
  length: number;
  /** a view of the data field (no copy) */
  data: Uint8Array;
  /** CRC as stored in the file */
  crc: number;
  /** whether the stored CRC matches the one computed over type + data */
  crcOk: boolean;
}

export interface PngChunkList {
  /** false when the signature is missing; then `chunks` is empty */
  signatureOk: boolean;
  chunks: PngChunk[];
  /** whether IEND was reached */
  ended: boolean;
  /** bytes after IEND (ignored) */
  trailingBytes: number;
  problems: PngProblem[];
}

export interface PngReadLimits {
  /** chunks kept before parsing stops (bounds the chunk list's memory) */
  maxChunks: number;
  /** per text chunk: raw data bytes and decoded (inflated) bytes */
  maxTextBytes: number;
  /** all text chunks together, counted after inflating */
  maxTotalTextBytes: number;
  /** problems kept before the list is cut with one `too_many_problems` entry */
  maxProblems: number;
}

export const DEFAULT_PNG_READ_LIMITS: Readonly<PngReadLimits> = Object.freeze({
  maxChunks: 100_000,
  maxTextBytes: 1024 * 1024,
  maxTotalTextBytes: 8 * 1024 * 1024,
  maxProblems: 100,
});

/** Thrown by the writers (never by the readers) when the input cannot be written as asked. */
export class PngFormatError extends Error {
  constructor(
    readonly code: 'not_png' | 'bad_structure' | 'bad_keyword' | 'bad_text' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'PngFormatError';
  }
}

// ------------------------------------------------------------------ CRC (§5.5, Annex D)

let crcTable: Uint32Array | undefined;
function table(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}

/** CRC-32 as in Annex D (the zlib/ISO 3309 polynomial), in plain JavaScript. */
export function crc32Js(bytes: Uint8Array, previous = 0): number {
  const t = table();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// zlib.crc32 is native (Node >= 20.15) and ~20x faster on large IDATs; the JS version is the fallback.
const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`, continuing from `previous` (0 to start). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return nativeCrc ? nativeCrc(bytes, previous) >>> 0 : crc32Js(bytes, previous);
}

// ------------------------------------------------------------------ helpers

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function typeString(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

/** ISO 8859-1 decoding. (TextDecoder('latin1') is windows-1252 per WHATWG, which differs in 0x80–0x9F.) */
export function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** True when every UTF-16 code unit is in 0x00–0xFF, i.e. the string is representable in Latin-1. */
export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array): { text: string; ok: boolean } {
  try {
    return { text: utf8Fatal.decode(bytes), ok: true };
  } catch {
    return { text: utf8Lenient.decode(bytes), ok: false };
  }
}

class ProblemList {
  readonly items: PngProblem[] = [];
  private full = false;
  constructor(private readonly max: number) {}
  add(p: PngProblem): void {
    if (this.full) return;
    if (this.items.length >= this.max) {
      this.full = true;
      this.items.push({ code: 'too_many_problems', message: `more than ${this.max} problems; the rest are not listed` });
      return;
    }
    this.items.push(p);
  }
}

function limitsOf(l?: Partial<PngReadLimits>): PngReadLimits {
  const d = DEFAULT_PNG_READ_LIMITS;
  const pick = (v: number | undefined, def: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : def);
  return {
    maxChunks: pick(l?.maxChunks, d.maxChunks),
    maxTextBytes: pick(l?.maxTextBytes, d.maxTextBytes),
    maxTotalTextBytes: pick(l?.maxTotalTextBytes, d.maxTotalTextBytes),
    maxProblems: Math.max(1, pick(l?.maxProblems, d.maxProblems)),
  };
}

// ------------------------------------------------------------------ header

/**
 * Width and height from the IHDR chunk (§11.2.2), which §5.6 puts first, read from the first 24
 * bytes without parsing or decoding anything else: undefined when the data does not start with
 * a PNG signature and an IHDR. Lets a caller refuse a huge image before a decoder allocates it.
 */
export function pngHeaderSize(input: Uint8Array): { width: number; height: number } | undefined {
  const b = input instanceof Uint8Array ? input : new Uint8Array(0);
  if (b.length < 33 || !PNG_SIGNATURE.every((v, i) => b[i] === v)) return undefined;
  if (u32(b, 8) !== 13 || typeString(b, 12) !== 'IHDR') return undefined;
  const width = u32(b, 16);
  const height = u32(b, 20);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

// ------------------------------------------------------------------ chunk list

/**
 * Splits a PNG datastream into chunks (§5.3). Never throws and never copies chunk data.
 * Stops at IEND (bytes after it are reported as `trailing_data`), at a truncated chunk, at a
 * length above 2^31 − 1 or at a type that is not four ASCII letters (the framing is lost).
 * Chunks with a bad CRC are kept with `crcOk: false` and reported.
 */
export function parsePngChunks(input: Uint8Array, limits?: Partial<PngReadLimits>): PngChunkList {
  const lim = limitsOf(limits);
  const problems = new ProblemList(lim.maxProblems);
  const result: PngChunkList = { signatureOk: false, chunks: [], ended: false, trailingBytes: 0, problems: problems.items };
  const b = input instanceof Uint8Array ? input : new Uint8Array(0);
  if (b.length < 8 || !PNG_SIGNATURE.every((v, i) => b[i] === v)) {
    problems.add({ code: 'not_png', message: 'not a PNG file (the 8-byte signature is missing)', offset: 0 });
    return result;
  }
  result.signatureOk = true;
  let pos = 8;
  while (pos < b.length) {
    if (result.chunks.length >= lim.maxChunks) {
      problems.add({ code: 'too_many_chunks', message: `more than ${lim.maxChunks} chunks; stopped reading`, offset: pos });
      return result;
    }
    if (b.length - pos < 12) {
      problems.add({ code: 'truncated', message: `the file ends inside a chunk header at byte ${pos}`, offset: pos });
      break;
    }
    const length = u32(b, pos);
    if (!(isLetter(b[pos + 4]) && isLetter(b[pos + 5]) && isLetter(b[pos + 6]) && isLetter(b[pos + 7]))) {
      problems.add({ code: 'bad_type', message: `chunk at byte ${pos} has an invalid type; stopped reading`, offset: pos });
      break;
    }
    const type = typeString(b, pos + 4);
    if (length > PNG_MAX_CHUNK_LENGTH) {
      problems.add({ code: 'bad_length', message: `chunk ${type} at byte ${pos} declares ${length} bytes (above 2^31-1)`, offset: pos, chunk: type });
      break;
    }
    const dataStart = pos + 8;
    if (length > b.length - dataStart - 4) {
      problems.add({ code: 'truncated', message: `chunk ${type} at byte ${pos} declares ${length} bytes but the file ends first`, offset: pos, chunk: type });
      break;
    }
    const data = b.subarray(dataStart, dataStart + length);
    const stored = u32(b, dataStart + length);
    // §5.3: the CRC covers the chunk type and data fields, not the length.
    const computed = crc32(b.subarray(pos + 4, dataStart + length));
    const crcOk = computed === stored;
    if (!crcOk) {
      problems.add({ code: 'bad_crc', message: `chunk ${type} at byte ${pos} has a wrong CRC`, offset: pos, chunk: type });
    }
    result.chunks.push({ type, offset: pos, length, data, crc: stored, crcOk });
    pos = dataStart + length + 4;
    if (result.chunks.length === 1 && type !== 'IHDR') {
      problems.add({ code: 'no_ihdr', message: `the first chunk is ${type}, not IHDR`, offset: 8, chunk: type });
    }
    if (type === 'IEND') {
      result.ended = true;
      result.trailingBytes = b.length - pos;
      if (result.trailingBytes > 0) {
        problems.add({ code: 'trailing_data', message: `${result.trailingBytes} bytes after IEND (ignored)`, offset: pos });
      }
      return result;
    }
  }
  problems.add({ code: 'no_iend', message: 'the file ends before IEND', offset: b.length });
  return result;
}

// ------------------------------------------------------------------ text chunks (§11.3.4)

export type TextChunkType = 'tEXt' | 'zTXt' | 'iTXt';
export const TEXT_CHUNK_TYPES: readonly TextChunkType[] = ['tEXt', 'zTXt', 'iTXt'];

export interface PngTextEntry {
  keyword: string;
  text: string;
  chunk: TextChunkType;
  compressed: boolean;
  /** iTXt only (§11.3.4.5) */
  languageTag?: string;
  /** iTXt only (§11.3.4.5) */
  translatedKeyword?: string;
  /** offset of the chunk in the file */
  offset: number;
}

export interface ReadTextOptions {
  limits?: Partial<PngReadLimits>;
  /** decode only chunks with these keywords (others are never inflated); default: all */
  keywords?: readonly string[];
  /** also decode text chunks whose CRC is wrong (default false: reported and skipped) */
  acceptBadCrc?: boolean;
}

export interface PngTextResult {
  entries: PngTextEntry[];
  problems: PngProblem[];
  /** the chunk list, for callers that want more (IHDR, counts) */
  chunks: PngChunkList;
}

/** §11.3.4.2: 1–79 bytes of printable Latin-1 (32–126, 161–255), no leading, trailing or double spaces. */
export function keywordProblem(keyword: string): string | undefined {
  if (keyword.length < 1 || keyword.length > 79) return `keyword must be 1-79 characters (got ${keyword.length})`;
  for (let i = 0; i < keyword.length; i++) {
    const c = keyword.charCodeAt(i);
    if (!((c >= 32 && c <= 126) || (c >= 161 && c <= 255))) return `keyword has a character outside printable Latin-1 at ${i}`;
  }
  if (keyword.startsWith(' ') || keyword.endsWith(' ')) return 'keyword has a leading or trailing space';
  if (keyword.includes('  ')) return 'keyword has consecutive spaces';
  return undefined;
}

/**
 * Inflates a zlib stream (§10) without ever producing more than `cap` bytes: zlib stops and throws
 * as soon as the output would pass `maxOutputLength`, so a bomb costs at most `cap` bytes of memory.
 */
function inflateCapped(data: Uint8Array, cap: number): { ok: true; bytes: Uint8Array } | { ok: false; limit: boolean; message: string } {
  try {
    const out = zlib.inflateSync(data, { maxOutputLength: Math.max(1, cap) });
    return { ok: true, bytes: out };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const limit = err?.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
    return { ok: false, limit, message: String(err?.message ?? e) };
  }
}

/**
 * Reads the textual chunks (tEXt, zTXt, iTXt; §11.3.4) of a PNG. Never throws.
 * Caps: a chunk whose data exceeds `maxTextBytes` is skipped undecoded; compressed text is
 * inflated with a hard output cap of min(`maxTextBytes`, what is left of `maxTotalTextBytes`).
 */
export function readPngText(input: Uint8Array, options: ReadTextOptions = {}): PngTextResult {
  const lim = limitsOf(options.limits);
  const chunks = parsePngChunks(input, lim);
  const problems = new ProblemList(lim.maxProblems);
  for (const p of chunks.problems) problems.add(p);
  const entries: PngTextEntry[] = [];
  const wanted = options.keywords ? new Set(options.keywords) : undefined;
  let budget = lim.maxTotalTextBytes;

  for (const c of chunks.chunks) {
    if (c.type !== 'tEXt' && c.type !== 'zTXt' && c.type !== 'iTXt') continue;
    const at = { offset: c.offset, chunk: c.type };
    if (!c.crcOk && !options.acceptBadCrc) continue; // already reported as bad_crc
    const d = c.data;
    // Keyword: 1–79 bytes then a null separator (§11.3.4.2); search only the first 80 bytes.
    const nul = d.subarray(0, 80).indexOf(0);
    if (nul < 0) {
      problems.add({ ...at, code: 'bad_text_chunk', message: `${c.type} at byte ${c.offset} has no keyword separator within 80 bytes` });
      continue;
    }
    const keyword = decodeLatin1(d.subarray(0, nul));
    if (wanted && !wanted.has(keyword)) continue;
    const kp = keywordProblem(keyword);
    if (kp) problems.add({ ...at, code: 'bad_keyword', message: `${c.type} at byte ${c.offset}: ${kp}` });
    if (d.length > lim.maxTextBytes) {
      problems.add({ ...at, code: 'text_too_large', message: `${c.type} "${keyword.slice(0, 40)}" is ${d.length} bytes (limit ${lim.maxTextBytes}); skipped` });
      continue;
    }
    if (budget <= 0) {
      problems.add({ ...at, code: 'text_budget', message: `text budget of ${lim.maxTotalTextBytes} bytes spent; ${c.type} "${keyword.slice(0, 40)}" skipped` });
      continue;
    }
    const cap = Math.min(lim.maxTextBytes, budget);
    const inflate = (z: Uint8Array): Uint8Array | undefined => {
      const r = inflateCapped(z, cap);
      if (r.ok) return r.bytes;
      // A refused bomb still cost `cap` bytes of inflating: charge them, so a file of many small
      // bombs spends the budget after a few and the rest are skipped without inflating.
      if (r.limit) budget -= cap;
      problems.add(
        r.limit
          ? { ...at, code: 'inflate_limit', message: `${c.type} "${keyword.slice(0, 40)}" expands past ${cap} bytes; refused` }
          : { ...at, code: 'inflate_error', message: `${c.type} "${keyword.slice(0, 40)}": ${r.message}` },
      );
      return undefined;
    };

    if (c.type === 'tEXt') {
      // §11.3.4.3: keyword, null, Latin-1 text (length from the chunk length).
      const raw = d.subarray(nul + 1);
      if (raw.length > budget) {
        problems.add({ ...at, code: 'text_budget', message: `text budget spent; tEXt "${keyword.slice(0, 40)}" skipped` });
        continue;
      }
      budget -= raw.length;
      entries.push({ keyword, text: decodeLatin1(raw), chunk: 'tEXt', compressed: false, offset: c.offset });
    } else if (c.type === 'zTXt') {
      // §11.3.4.4: keyword, null, compression method (0 = zlib), compressed Latin-1 text.
      if (d.length < nul + 2 || d[nul + 1] !== 0) {
        problems.add({ ...at, code: 'bad_text_chunk', message: `zTXt "${keyword.slice(0, 40)}" has no or an unknown compression method` });
        continue;
      }
      const raw = inflate(d.subarray(nul + 2));
      if (!raw) continue;
      budget -= raw.length;
      entries.push({ keyword, text: decodeLatin1(raw), chunk: 'zTXt', compressed: true, offset: c.offset });
    } else {
      // §11.3.4.5: keyword, null, compression flag, compression method, language tag, null,
      // translated keyword (UTF-8), null, text (UTF-8, compressed when the flag is 1).
      if (d.length < nul + 3) {
        problems.add({ ...at, code: 'bad_text_chunk', message: `iTXt "${keyword.slice(0, 40)}" is too short` });
        continue;
      }
      const flag = d[nul + 1];
      const method = d[nul + 2];
      if (flag > 1 || (flag === 1 && method !== 0)) {
        problems.add({ ...at, code: 'bad_text_chunk', message: `iTXt "${keyword.slice(0, 40)}" has compression flag ${flag} / method ${method}` });
        continue;
      }
      const langStart = nul + 3;
      const langEnd = d.indexOf(0, langStart);
      const trEnd = langEnd < 0 ? -1 : d.indexOf(0, langEnd + 1);
      if (langEnd < 0 || trEnd < 0) {
        problems.add({ ...at, code: 'bad_text_chunk', message: `iTXt "${keyword.slice(0, 40)}" lacks its language tag or translated keyword separator` });
        continue;
      }
      const languageTag = decodeLatin1(d.subarray(langStart, langEnd));
      const tr = decodeUtf8(d.subarray(langEnd + 1, trEnd));
      const body = d.subarray(trEnd + 1);
      const raw = flag === 1 ? inflate(body) : body;
      if (!raw) continue;
      if (raw.length > budget) {
        problems.add({ ...at, code: 'text_budget', message: `text budget spent; iTXt "${keyword.slice(0, 40)}" skipped` });
        continue;
      }
      budget -= raw.length;
      const text = decodeUtf8(raw);
      if (!tr.ok || !text.ok) problems.add({ ...at, code: 'bad_utf8', message: `iTXt "${keyword.slice(0, 40)}" is not valid UTF-8` });
      entries.push({
        keyword,
        text: text.text,
        chunk: 'iTXt',
        compressed: flag === 1,
        languageTag,
        translatedKeyword: tr.text,
        offset: c.offset,
      });
    }
  }
  return { entries, problems: problems.items, chunks };
}

// ------------------------------------------------------------------ writers

/** A chunk (§5.3): length, type, data, CRC over type + data. */
export function encodeChunk(type: string, data: Uint8Array): Uint8Array {
  if (type.length !== 4 || ![0, 1, 2, 3].every((i) => isLetter(type.charCodeAt(i)))) {
    throw new PngFormatError('bad_structure', `chunk type must be four ASCII letters (got "${type}")`);
  }
  if (data.length > PNG_MAX_CHUNK_LENGTH) throw new PngFormatError('too_large', `chunk ${type} data is larger than 2^31-1 bytes`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface TextChunkInput {
  keyword: string;
  text: string;
  /** write a compressed iTXt (zlib); default false */
  compress?: boolean;
  /** iTXt language tag (forces iTXt), e.g. `en` */
  languageTag?: string;
  /** iTXt translated keyword (forces iTXt) */
  translatedKeyword?: string;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const latin1Bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const utf8Bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const Z = Uint8Array.of(0);

/**
 * Encodes one text chunk. tEXt (§11.3.4.3) when the text is Latin-1 and neither compression nor
 * iTXt-only fields are asked for; otherwise iTXt (§11.3.4.5), compressed with zlib when asked.
 * Throws `PngFormatError` for a keyword that breaks §11.3.4.2 or text containing a null character.
 */
export function encodeTextChunk(input: TextChunkInput): Uint8Array {
  const kp = keywordProblem(input.keyword);
  if (kp) throw new PngFormatError('bad_keyword', `bad PNG text keyword "${input.keyword.slice(0, 80)}": ${kp}`);
  // §11.3.4.3/§11.3.4.5: the text itself may not contain a null separator.
  if (input.text.includes('\0')) throw new PngFormatError('bad_text', `text for "${input.keyword}" contains a null character`);
  const keyword = latin1Bytes(input.keyword);
  const iTXtOnly = input.compress || input.languageTag !== undefined || input.translatedKeyword !== undefined;
  if (!iTXtOnly && isLatin1(input.text)) {
    return encodeChunk('tEXt', concat([keyword, Z, latin1Bytes(input.text)]));
  }
  const lang = input.languageTag ?? '';
  // §11.3.4.5: the language tag is an RFC 3066 tag: ASCII letters, digits and hyphens.
  if (!/^[A-Za-z0-9-]*$/.test(lang) || lang.length > 64) throw new PngFormatError('bad_text', `bad iTXt language tag "${lang.slice(0, 64)}"`);
  const translated = input.translatedKeyword ?? '';
  if (translated.includes('\0')) throw new PngFormatError('bad_text', 'translated keyword contains a null character');
  const text = utf8Bytes(input.text);
  const body = input.compress ? new Uint8Array(zlib.deflateSync(text, { level: 9 })) : text;
  return encodeChunk(
    'iTXt',
    concat([keyword, Z, Uint8Array.of(input.compress ? 1 : 0, 0), latin1Bytes(lang), Z, utf8Bytes(translated), Z, body]),
  );
}

export interface InsertTextOptions {
  /** remove existing tEXt/zTXt/iTXt chunks with the same keywords first (default true) */
  replace?: boolean;
}

/**
 * Returns a copy of `png` with text chunks inserted just before the first IDAT (§5.6 leaves text
 * chunks unordered; before IDAT lets streaming readers see them early), CRCs computed for the new
 * chunks and bytes after IEND dropped. Throws `PngFormatError` unless `png` is well formed:
 * signature, IHDR first, an IDAT, IEND, and correct CRCs on every chunk.
 */
export function insertTextChunks(png: Uint8Array, entries: readonly TextChunkInput[], options: InsertTextOptions = {}): Uint8Array {
  const parsed = parsePngChunks(png, { maxChunks: Number.MAX_SAFE_INTEGER, maxProblems: 1000 });
  if (!parsed.signatureOk) throw new PngFormatError('not_png', 'not a PNG file (no PNG signature)');
  const fatal = parsed.problems.find((p) => p.code !== 'trailing_data');
  if (fatal) throw new PngFormatError('bad_structure', `refusing to rewrite a damaged PNG: ${fatal.message}`);
  const firstIdat = parsed.chunks.findIndex((c) => c.type === 'IDAT');
  if (firstIdat < 0) throw new PngFormatError('bad_structure', 'refusing to rewrite a PNG without image data (no IDAT)');
  const encoded = entries.map(encodeTextChunk);
  const replace = options.replace ?? true;
  const drop = new Set(replace ? entries.map((e) => e.keyword) : []);
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  parsed.chunks.forEach((c, i) => {
    if (i === firstIdat) parts.push(...encoded);
    if (drop.size && (c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt')) {
      const nul = c.data.subarray(0, 80).indexOf(0);
      if (nul >= 0 && drop.has(decodeLatin1(c.data.subarray(0, nul)))) return;
    }
    parts.push(png.subarray(c.offset, c.offset + 12 + c.length));
  });
  return concat(parts);
}

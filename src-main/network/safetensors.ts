/**
 * safetensors codec (F32 only), written from the format description of huggingface/safetensors
 * (README "Format"):
 *
 *   8 bytes   N, unsigned little-endian 64-bit: the header size
 *   N bytes   UTF-8 JSON object: { "__metadata__": {string: string}?,
 *                                  "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, … }
 *             (may be padded at the end with spaces, 0x20)
 *   rest      the byte buffer; offsets are relative to its start, tensors little-endian, row-major
 *
 * Reading is strict, as the reference implementation: the header must start with '{', offsets must
 * be in order, contiguous, without gaps or overlaps and cover the whole buffer, and each tensor's
 * byte length must equal numel·4. Anything else is a SafetensorsError naming the file's problem.
 * Tensors are written in ascending name order (as the reference serialiser sorts them).
 */
import { DomainError } from '../api/errors';

export interface SafeTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: SafeTensor[];
}

export class SafetensorsError extends DomainError {
  readonly apiCode = 'bad_request';
  readonly code = 'SAFETENSORS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Upper bound on the header size (the reference implementation refuses headers over 100 MB). */
const MAX_HEADER = 100_000_000;

const isLittleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeSafetensors(tensors: readonly SafeTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`encodeSafetensors: metadata ${k} must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const seen = new Set<string>();
  for (const t of sorted) {
    if (t.name === '__metadata__' || seen.has(t.name)) throw new Error(`encodeSafetensors: tensor name ${t.name} is reserved or repeated`);
    seen.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`encodeSafetensors: ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // pad to a multiple of 8 so the buffer is aligned (allowed: trailing spaces)
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const p = new Uint8Array(json.length + pad).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of sorted) {
    if (isLittleEndianHost) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    else for (let i = 0; i < t.data.length; i++) dv.setFloat32(at + i * 4, t.data[i], true);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses and validates a safetensors buffer; `label` (a file name) goes into every error. */
export function decodeSafetensors(bytes: Uint8Array, label = 'safetensors file'): SafetensorsFile {
  const bad = (why: string): never => {
    throw new SafetensorsError(`${label} is not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) bad(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) bad(`its header length ${n64} is over the 100 MB limit`);
  const n = Number(n64);
  if (8 + n > bytes.length) bad(`its header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  if (n < 2 || bytes[8] !== 0x7b) bad(`its header does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    bad(`its header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) bad('its header is not a JSON object');
  const h = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  if (h.__metadata__ !== undefined) {
    const m = h.__metadata__;
    if (!m || typeof m !== 'object' || Array.isArray(m)) bad('__metadata__ is not an object of strings');
    for (const [k, v] of Object.entries(m as object)) {
      if (typeof v !== 'string') bad(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }
  const dataLen = bytes.length - 8 - n;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') bad(`tensor ${name} has no {dtype, shape, data_offsets} entry`);
    if (e.dtype !== 'F32') bad(`tensor ${name} has dtype ${JSON.stringify(e.dtype)}; only F32 is supported (convert it to float32 first)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name} has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) bad(`tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as number[];
    const numel = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== numel * 4) bad(`tensor ${name} has ${end - begin} bytes for shape [${(e.shape as number[]).join(', ')}] (expected ${numel * 4})`);
    entries.push({ name, shape: (e.shape as number[]).slice(), begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) bad(e.begin < at ? `tensor ${e.name} overlaps the previous tensor` : `there is a gap before tensor ${e.name} (bytes ${at}..${e.begin})`);
    at = e.end;
  }
  if (at !== dataLen) bad(at > dataLen ? `the tensors need ${at} data bytes but the file has ${dataLen} (truncated?)` : `${dataLen - at} bytes after the last tensor are not described by the header`);
  const base = 8 + n;
  const tensors = entries.map((e) => {
    const count = (e.end - e.begin) / 4;
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(base + e.begin + i * 4, true);
    return { name: e.name, shape: e.shape, data };
  });
  return { metadata, tensors };
}

/**
 * Sfumato weights file (".sfw"), version 1. Layout, all integers little-endian:
 *
 *   offset  size  field
 *   0       4     magic "SFWT"
 *   4       4     uint32 format version (WEIGHTS_FORMAT_VERSION)
 *   8       4     uint32 header length H in bytes (a multiple of 4)
 *   12      H     UTF-8 JSON header, padded with spaces to a multiple of 4:
 *                   { "meta": {...}, "dataBytes": N, "dataSha256": hex,
 *                     "tensors": [{ "name", "shape", "dtype": "float32", "offset", "length" }] }
 *                 offset/length are in bytes, relative to the data section; offsets are 4-byte aligned
 *   12+H    N     data: float32 little-endian, tensors back to back in header order
 *
 * Tensors are stored in tfjs layout (conv HWIO, linear [in, out]; see architecture.ts for the
 * mapping to PyTorch). A UNet checkpoint's meta holds its config; EMA copies are stored beside the
 * model weights under the prefix EMA_PREFIX ("ema." + name).
 *
 * Uses node:crypto (sha256); it is the only Node import of src-main/network/.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { validateUNetConfig, type UNetConfig } from './config';
import { UNet } from './unet';
import { DomainError } from '../api/errors';

export const WEIGHTS_MAGIC = 'SFWT';
export const WEIGHTS_FORMAT_VERSION = 1;
/** Name prefix of EMA copies in a weights file. */
export const EMA_PREFIX = 'ema.';

export interface NamedTensorData {
  name: string;
  shape: number[];
  data: Float32Array;
}

export type WeightsMeta = Record<string, unknown>;

export interface ParsedWeights {
  version: number;
  meta: WeightsMeta;
  tensors: NamedTensorData[];
}

interface HeaderEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  offset: number;
  length: number;
}

/** A weights file that cannot be read. `code` says why; survives JSON/IPC. */
export class WeightsFormatError extends DomainError {
  /** the file named cannot be used as weights (the message says what to do) */
  readonly apiCode = 'bad_request';
  override apiDetails(): { reason: string } {
    return { reason: this.code };
  }
  constructor(
    readonly code: 'WEIGHTS_TRUNCATED' | 'WEIGHTS_BAD_MAGIC' | 'WEIGHTS_VERSION' | 'WEIGHTS_CORRUPT' | 'WEIGHTS_MISMATCH',
    message: string,
  ) {
    super(message);
    this.name = 'WeightsFormatError';
  }
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

const LE = true;
const isLittleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** float32 little-endian bytes of `data` (a view when the host is little-endian). */
function f32leBytes(data: Float32Array): Uint8Array {
  if (isLittleEndianHost) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], LE);
  return out;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises named float32 tensors and a JSON-able meta object into one buffer. */
export function serializeWeights(named: readonly NamedTensorData[], meta: WeightsMeta = {}): Uint8Array {
  const seen = new Set<string>();
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const t of named) {
    if (seen.has(t.name)) throw new Error(`serializeWeights: duplicate tensor name ${t.name}`);
    seen.add(t.name);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || numel(t.shape) !== t.data.length) {
      throw new Error(`serializeWeights: ${t.name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    entries.push({ name: t.name, shape: [...t.shape], dtype: 'float32', offset, length: t.data.byteLength });
    offset += t.data.byteLength; // float32: stays 4-byte aligned
  }
  const dataBytes = offset;
  const hash = createHash('sha256');
  for (const t of named) hash.update(f32leBytes(t.data));
  const header = { meta, dataBytes, dataSha256: hash.digest('hex'), tensors: entries };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 4) * 4;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(12 + json.length + dataBytes);
  out.set(new TextEncoder().encode(WEIGHTS_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, WEIGHTS_FORMAT_VERSION, LE);
  dv.setUint32(8, json.length, LE);
  out.set(json, 12);
  let pos = 12 + json.length;
  for (const t of named) {
    out.set(f32leBytes(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Parses a weights buffer; throws WeightsFormatError on truncated, corrupt or unknown input. */
export function parseWeights(bytes: Uint8Array): ParsedWeights {
  if (bytes.length < 12) throw new WeightsFormatError('WEIGHTS_TRUNCATED', `weights file too short (${bytes.length} bytes); it is truncated or not a weights file`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== WEIGHTS_MAGIC) {
    throw new WeightsFormatError('WEIGHTS_BAD_MAGIC', `not a Sfumato weights file (magic ${JSON.stringify(magic)}, expected "SFWT")`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, LE);
  if (version !== WEIGHTS_FORMAT_VERSION) {
    throw new WeightsFormatError(
      'WEIGHTS_VERSION',
      `weights format version ${version} is not supported (this build reads version ${WEIGHTS_FORMAT_VERSION}); ${version > WEIGHTS_FORMAT_VERSION ? 'update Sfumato' : 'the file is corrupt'}`,
    );
  }
  const headerLen = dv.getUint32(8, LE);
  if (headerLen % 4 !== 0) throw new WeightsFormatError('WEIGHTS_CORRUPT', `weights header length ${headerLen} is not a multiple of 4; the file is corrupt`);
  if (12 + headerLen > bytes.length) {
    throw new WeightsFormatError('WEIGHTS_TRUNCATED', `weights file truncated inside its header (${bytes.length} bytes, header needs ${12 + headerLen})`);
  }
  let header: { meta?: unknown; dataBytes?: unknown; dataSha256?: unknown; tensors?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLen)));
  } catch (e) {
    throw new WeightsFormatError('WEIGHTS_CORRUPT', `weights header is not valid JSON (${(e as Error).message}); the file is corrupt`);
  }
  const { meta, dataBytes, dataSha256, tensors } = header ?? {};
  if (typeof meta !== 'object' || meta === null || typeof dataBytes !== 'number' || typeof dataSha256 !== 'string' || !Array.isArray(tensors)) {
    throw new WeightsFormatError('WEIGHTS_CORRUPT', 'weights header lacks meta/dataBytes/dataSha256/tensors; the file is corrupt');
  }
  const dataStart = 12 + headerLen;
  const available = bytes.length - dataStart;
  if (available < dataBytes) {
    throw new WeightsFormatError('WEIGHTS_TRUNCATED', `weights file truncated: data section has ${available} of ${dataBytes} bytes`);
  }
  if (available > dataBytes) {
    throw new WeightsFormatError('WEIGHTS_CORRUPT', `weights file has ${available - dataBytes} unexpected trailing bytes; the file is corrupt`);
  }
  const data = bytes.subarray(dataStart, dataStart + dataBytes);
  const digest = createHash('sha256').update(data).digest('hex');
  if (digest !== dataSha256) {
    throw new WeightsFormatError('WEIGHTS_CORRUPT', 'weights data does not match its sha256 checksum; the file is corrupt (re-download or use another checkpoint)');
  }
  // Copy into an aligned buffer once; each tensor gets a Float32Array view of it.
  const aligned = new ArrayBuffer(dataBytes);
  new Uint8Array(aligned).set(data);
  const adv = new DataView(aligned);
  const out: NamedTensorData[] = [];
  const names = new Set<string>();
  for (const e of tensors as HeaderEntry[]) {
    const ok =
      e &&
      typeof e.name === 'string' &&
      !names.has(e.name) &&
      Array.isArray(e.shape) &&
      e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      e.dtype === 'float32' &&
      Number.isInteger(e.offset) &&
      e.offset % 4 === 0 &&
      e.length === numel(e.shape) * 4 &&
      e.offset >= 0 &&
      e.offset + e.length <= dataBytes;
    if (!ok) throw new WeightsFormatError('WEIGHTS_CORRUPT', `weights header entry ${JSON.stringify(e)?.slice(0, 200)} is invalid; the file is corrupt`);
    names.add(e.name);
    let arr: Float32Array;
    if (isLittleEndianHost) arr = new Float32Array(aligned, e.offset, e.length / 4);
    else {
      arr = new Float32Array(e.length / 4);
      for (let i = 0; i < arr.length; i++) arr[i] = adv.getFloat32(e.offset + 4 * i, LE);
    }
    out.push({ name: e.name, shape: e.shape, data: arr });
  }
  return { version, meta: meta as WeightsMeta, tensors: out };
}

/**
 * sha256 (hex) of the weights as float32 little-endian, tensors concatenated in ascending name
 * order (JavaScript string order), so the digest does not depend on list order or file layout.
 * This is the `weightsDigest` of checkpoints and `sfumato runs show`.
 */
export function weightsDigest(tensors: readonly NamedTensorData[]): string {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const t of sorted) hash.update(f32leBytes(t.data));
  return hash.digest('hex');
}

/** Reads tensors to host memory (dataSync), in the given order, with the given names. */
export function readTensors(named: readonly { name: string; tensor: tf.Tensor }[]): NamedTensorData[] {
  return named.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], data: Float32Array.from(tensor.dataSync() as Float32Array) }));
}

/** The model's weights in host memory, PyTorch state_dict names, variables() order. */
export function readUNetWeights(model: UNet): NamedTensorData[] {
  return readTensors(model.namedVariables().map(({ name, variable }) => ({ name, tensor: variable })));
}

/**
 * Assigns host weights to a list of variables matched by name; every variable must be present
 * with its exact shape (a WeightsFormatError with code WEIGHTS_MISMATCH otherwise).
 */
export function assignTensors(targets: readonly { name: string; variable: tf.Variable }[], source: readonly NamedTensorData[], prefix = ''): void {
  const byName = new Map(source.map((t) => [t.name, t]));
  // check everything before assigning anything, so a bad file leaves the model untouched
  for (const { name, variable } of targets) {
    const t = byName.get(prefix + name);
    if (!t) throw new WeightsFormatError('WEIGHTS_MISMATCH', `weights lack tensor ${prefix + name}; the file was written for another model configuration`);
    if (t.shape.length !== variable.shape.length || t.shape.some((d, i) => d !== variable.shape[i])) {
      throw new WeightsFormatError('WEIGHTS_MISMATCH', `tensor ${prefix + name} has shape [${t.shape.join(', ')}], the model expects [${variable.shape.join(', ')}]`);
    }
  }
  for (const { name, variable } of targets) {
    const t = byName.get(prefix + name) as NamedTensorData;
    tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
}

/**
 * Serialises a UNet (config in meta.config, weights under their names) and optionally EMA copies
 * (`ema`, same order as model.variables(), stored as EMA_PREFIX + name).
 */
export function serializeUNet(model: UNet, opts: { ema?: readonly tf.Tensor[]; meta?: WeightsMeta } = {}): Uint8Array {
  const named = model.namedVariables();
  const tensors = readUNetWeights(model);
  if (opts.ema) {
    if (opts.ema.length !== named.length) throw new Error(`serializeUNet: ema has ${opts.ema.length} tensors, the model ${named.length}`);
    tensors.push(...readTensors(named.map(({ name }, i) => ({ name: EMA_PREFIX + name, tensor: (opts.ema as readonly tf.Tensor[])[i] }))));
  }
  return serializeWeights(tensors, { ...(opts.meta ?? {}), config: model.config });
}

/** The UNet config stored in a weights file's meta (validated). */
export function configOfWeights(parsed: ParsedWeights): UNetConfig {
  try {
    return validateUNetConfig(parsed.meta.config);
  } catch (e) {
    throw new WeightsFormatError('WEIGHTS_MISMATCH', `weights file has no valid UNet config in its header: ${(e as Error).message}`);
  }
}

/** Whether the file holds EMA copies. */
export function hasEma(parsed: ParsedWeights): boolean {
  return parsed.tensors.some((t) => t.name.startsWith(EMA_PREFIX));
}

/** Loads the model weights (or, with `source: 'ema'`, the EMA copies) into an existing UNet. */
export function loadUNetWeights(model: UNet, parsed: ParsedWeights, source: 'model' | 'ema' = 'model'): void {
  assignTensors(model.namedVariables(), parsed.tensors, source === 'ema' ? EMA_PREFIX : '');
}

/** Builds a UNet from a weights file's config and loads its (or its EMA) weights. */
export function unetFromWeights(parsed: ParsedWeights, opts: { source?: 'model' | 'ema'; trainable?: boolean } = {}): UNet {
  const model = new UNet(configOfWeights(parsed), { trainable: opts.trainable });
  try {
    loadUNetWeights(model, parsed, opts.source ?? 'model');
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

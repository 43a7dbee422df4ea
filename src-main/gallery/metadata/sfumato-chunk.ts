/** The sfumato chunk: the record types, its JSON text, embedding, and the validating reader (moved whole from gallery/metadata.ts; its file comment has the format and the safety rules). */
import type { GridAxisSpec, GridRecipe, GridRef, SampleGuidance, SampleRecord } from '../../api/types';
import { checkSamplingRecipe } from '../../api/sampling-bounds';
import { type TextChunkInput, insertTextChunks } from '../../png/chunks';
import { ID_RE } from '../../db/ids';
import { SampleOriginSchema } from '../../api/requests';
import { A1111_KEYWORD, MAX_JSON_DEPTH, MAX_SFUMATO_JSON_CHARS, SAMPLE_FORMAT, SAMPLE_FORMAT_VERSION, SFUMATO_KEYWORD } from './format';
import { UNSAFE_KEYS, a1111Parameters, type A1111Extra, type A1111Parameters } from './a1111';

// ------------------------------------------------------------------ the sfumato chunk

/** A JSON value as accepted inside samplerOptions / schedule after validation. */
export type MetaValue = number | string | boolean | null | MetaValue[];

/**
 * A sample record read back from a file, every field validated. Same shape as `SampleRecord`,
 * but sampler, options and schedule are only checked structurally here (bounded JSON): run them
 * through the diffusion validators before sampling with them.
 */
export interface SampleMetadataRecord extends Omit<SampleRecord, 'sampler' | 'samplerOptions' | 'schedule' | 'prediction' | 'origin'> {
  sampler: string;
  samplerOptions: Record<string, MetaValue>;
  schedule: Record<string, MetaValue>;
  prediction: string;
  origin: Record<string, MetaValue>;
}

export interface SampleMetadata {
  /** the full record, when the sfumato chunk is present and every field is valid */
  record?: SampleMetadataRecord;
  /** the fields that validated (also when some did not) */
  partial?: Partial<SampleMetadataRecord>;
  /** the A1111 `parameters` chunk, parsed */
  a1111?: A1111Parameters;
  /** the raw `parameters` text (bounded by the reader's limits) */
  parametersText?: string;
  /** everything odd, as human-readable lines; never fatal */
  problems: string[];
}

/** The sfumato chunk's JSON text for a record. */
export function sfumatoChunkText(record: SampleRecord): string {
  return JSON.stringify({ format: SAMPLE_FORMAT, version: SAMPLE_FORMAT_VERSION, record });
}

/** Both text chunks for a record, ready for `insertTextChunks`. */
export function sampleTextChunks(record: SampleRecord, extra?: A1111Extra): TextChunkInput[] {
  return [
    { keyword: A1111_KEYWORD, text: a1111Parameters(record, extra) },
    { keyword: SFUMATO_KEYWORD, text: sfumatoChunkText(record) },
  ];
}

/** A copy of `png` carrying the record's `parameters` and `sfumato` chunks (replacing old ones). */
export function embedSampleMetadata(png: Uint8Array, record: SampleRecord, extra?: A1111Extra): Uint8Array {
  return insertTextChunks(png, sampleTextChunks(record, extra), { replace: true });
}

// --- validation helpers -------------------------------------------------------------------

type Check<T> = (v: unknown) => { ok: true; value: T } | { ok: false; why: string };
const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (why: string) => ({ ok: false as const, why });

export const SLUG_RE = /^[a-z0-9][a-z0-9._+-]{0,39}$/;
const OPTION_KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function str(max: number, re?: RegExp): Check<string> {
  return (v) => {
    if (typeof v !== 'string') return bad(`expected a string, got ${typeOf(v)}`);
    if (v.length > max) return bad(`longer than ${max} characters`);
    if (CONTROL_RE.test(v)) return bad('contains control characters');
    if (re && !re.test(v)) return bad(`does not match ${re.source}`);
    return ok(v);
  };
}
function int(min: number, max: number): Check<number> {
  return (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return bad(`expected an integer, got ${typeOf(v)}`);
    if (v < min || v > max) return bad(`out of range [${min}, ${max}]`);
    return ok(v);
  };
}
function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** Library-relative POSIX path: no absolute path, drive, backslash, `.`/`..` or empty segment. */
const relPath: Check<string> = (v) => {
  const s = str(512)(v);
  if (!s.ok) return s;
  const p = s.value;
  if (p.startsWith('/') || p.includes('\\') || /^[A-Za-z]:/.test(p)) return bad('must be a relative path with forward slashes');
  if (p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return bad('has an empty, "." or ".." segment');
  return ok(p);
};

const isoDate: Check<string> = (v) => {
  const s = str(40, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/)(v);
  if (!s.ok) return bad('must be an ISO-8601 date-time');
  return Number.isNaN(Date.parse(s.value)) ? bad('is not a real date') : s;
};

/** Bounded JSON: finite numbers, short strings, booleans, null, and small arrays of those. */
function metaValue(v: unknown, depth: number, budget: { n: number }): MetaValue | undefined {
  if (--budget.n < 0) return undefined;
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v.length <= 256 && !CONTROL_RE.test(v) ? v : undefined;
  if (Array.isArray(v) && depth < 3 && v.length <= 4096) {
    const out: MetaValue[] = [];
    for (const x of v) {
      const y = metaValue(x, depth + 1, budget);
      if (y === undefined) return undefined;
      out.push(y);
    }
    return out;
  }
  return undefined;
}

export function metaObject(maxKeys: number): Check<Record<string, MetaValue>> {
  return (v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected an object, got ${typeOf(v)}`);
    const keys = Object.keys(v);
    if (keys.length > maxKeys) return bad(`more than ${maxKeys} keys`);
    const out: Record<string, MetaValue> = {};
    const budget = { n: 20_000 };
    for (const k of keys) {
      if (!OPTION_KEY_RE.test(k)) return bad(`key "${k.slice(0, 40)}" is not a plain identifier`);
      const m = metaValue((v as Record<string, unknown>)[k], 0, budget);
      if (m === undefined) return bad(`value of "${k}" is not a bounded number, string, boolean or array`);
      out[k] = m;
    }
    return ok(out);
  };
}

/** The sample's origin: one of the SampleOrigin kinds, checked by the contract's SampleOriginSchema. */
const originCheck: Check<Record<string, MetaValue>> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected an object, got ${typeOf(v)}`);
  // the one origin check: the contract's schema
  const r = SampleOriginSchema.safeParse(v);
  if (!r.success) return bad(r.error.issues.map((i) => `${i.path.join('.') || 'kind'} ${i.message}`).join('; '));
  return ok(r.data as unknown as Record<string, MetaValue>);
};

const checkpointRef: Check<{ id: string; sha256: string }> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected {id, sha256}, got ${typeOf(v)}`);
  const o = v as Record<string, unknown>;
  const id = str(80, ID_RE)(o.id);
  if (!id.ok) return bad(`id ${id.why}`);
  const sha = str(64, /^[0-9a-f]{64}$/)(o.sha256);
  if (!sha.ok) return bad('sha256 must be 64 lowercase hex digits');
  return ok({ id: id.value, sha256: sha.value });
};

/** A LoRA applied at sampling: {sha256, file, scale}; the file is only a label (never opened from here). */
const loraRef: Check<{ sha256: string; file: string; scale: number }> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected {sha256, file, scale}, got ${typeOf(v)}`);
  const o = v as Record<string, unknown>;
  const sha = str(64, /^[0-9a-f]{64}$/)(o.sha256);
  if (!sha.ok) return bad('sha256 must be 64 lowercase hex digits');
  const file = str(4096)(o.file);
  if (!file.ok) return bad(`file ${file.why}`);
  if (typeof o.scale !== 'number' || !Number.isFinite(o.scale) || Math.abs(o.scale) > 1e6) return bad('scale must be a finite number');
  return ok({ sha256: sha.value, file: file.value, scale: o.scale });
};

const nullableId: Check<string | null> = (v) => (v === null ? ok(null) : str(80, ID_RE)(v));

const GRID_AXIS_KINDS: readonly string[] = ['seed', 'sampler', 'steps', 'checkpoint', 'spacing', 'class', 'guidance'];

/** A grid axis: a known kind and 1..16 short values. */
const gridAxis: Check<GridAxisSpec> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected {kind, values}, got ${typeOf(v)}`);
  const o = v as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !GRID_AXIS_KINDS.includes(o.kind)) return bad(`kind must be one of ${GRID_AXIS_KINDS.join(', ')}`);
  if (!Array.isArray(o.values) || o.values.length < 1 || o.values.length > 16) return bad('values must be a list of 1 to 16 values');
  for (const x of o.values) if (!(typeof x === 'number' ? Number.isFinite(x) : str(100)(x).ok)) return bad('values must be numbers or short strings');
  return ok({ kind: o.kind as GridAxisSpec['kind'], values: o.values as (string | number)[] });
};

/** A record's grid reference: a cell's grid id and position, or a grid's recipe and cells. */
const gridCheck: Check<GridRef> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected an object, got ${typeOf(v)}`);
  const o = v as Record<string, unknown>;
  const id = str(80, ID_RE)(o.id);
  if (!id.ok) return bad(`id ${id.why}`);
  const out: GridRef = { id: id.value };
  for (const k of ['x', 'y'] as const) {
    if (o[k] === undefined) continue;
    const n = int(0, 15)(o[k]);
    if (!n.ok) return bad(`${k} ${n.why}`);
    out[k] = n.value;
  }
  if (o.cells !== undefined) {
    if (!Array.isArray(o.cells) || o.cells.length > 256 || !o.cells.every((c) => str(80, ID_RE)(c).ok)) return bad('cells must be a list of at most 256 sample ids');
    out.cells = o.cells as string[];
  }
  if (o.recipe !== undefined) {
    const r = o.recipe as Record<string, unknown> | null;
    if (!r || typeof r !== 'object' || Array.isArray(r)) return bad('recipe must be an object');
    const b = r.base as Record<string, unknown> | null;
    if (!b || typeof b !== 'object' || Array.isArray(b)) return bad('recipe.base must be an object');
    const checks: [string, Check<unknown>][] = [['checkpointId', str(80, ID_RE)], ['seed', int(0, Number.MAX_SAFE_INTEGER)], ['sampler', str(40, SLUG_RE)], ['options', metaObject(32)]];
    for (const [k, c] of checks) {
      const res = c(b[k]);
      if (!res.ok) return bad(`recipe.base.${k} ${res.why}`);
    }
    if (b.steps !== undefined && !int(1, 10_000)(b.steps).ok) return bad('recipe.base.steps must be a whole number from 1 to 10000');
    if (b.engine !== undefined && !['auto', 'onnx', 'tfjs'].includes(b.engine as string)) return bad('recipe.base.engine must be auto, onnx or tfjs');
    const x = gridAxis(r.x);
    if (!x.ok) return bad(`recipe.x ${x.why}`);
    const y = gridAxis(r.y);
    if (!y.ok) return bad(`recipe.y ${y.why}`);
    out.recipe = { base: b as unknown as GridRecipe['base'], x: x.value, y: y.value };
  }
  return ok(out);
};

/** Fields an ordinary sample leaves out: checked when present, never reported missing. */
/** A class-conditional sample's class and guidance scale. */
const guidanceCheck: Check<SampleGuidance> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected {class, classIndex, scale}, got ${typeOf(v)}`);
  const o = v as Record<string, unknown>;
  const cls = o.class === null ? ok(null) : str(200)(o.class);
  if (!cls.ok) return bad(`class ${cls.why}`);
  const idx = int(0, 100_000)(o.classIndex);
  if (!idx.ok) return bad(`classIndex ${idx.why}`);
  if (typeof o.scale !== 'number' || !Number.isFinite(o.scale) || o.scale < 0 || o.scale > 1000) return bad('scale must be a number from 0 to 1000');
  return ok({ class: cls.value, classIndex: idx.value, scale: o.scale });
};

const OPTIONAL_FIELDS = {
  kind: ((v) => (v === 'grid' ? ok('grid' as const) : bad('must be "grid"'))) as Check<'grid'>,
  grid: gridCheck,
  guidance: guidanceCheck,
  lora: loraRef,
};

/**
 * One validator per SampleRecord field. `satisfies` makes the compiler fail here when
 * SampleRecord gains a field, so the reader is updated with the type.
 */
const FIELDS = {
  id: str(80, ID_RE),
  file: relPath,
  seed: int(0, Number.MAX_SAFE_INTEGER),
  sampler: str(40, SLUG_RE),
  steps: int(1, 10_000),
  samplerOptions: metaObject(32),
  schedule: metaObject(32),
  prediction: str(16, SLUG_RE),
  nfe: int(0, 10_000_000),
  checkpoint: checkpointRef,
  runId: nullableId,
  width: int(1, 16_384),
  height: int(1, 16_384),
  backend: str(64),
  appVersion: str(64),
  createdAt: isoDate,
  origin: originCheck,
  parentId: nullableId,
  ...OPTIONAL_FIELDS,
} satisfies { [K in keyof SampleRecord]-?: Check<unknown> } & { [K in keyof SampleMetadataRecord]-?: Check<SampleMetadataRecord[K]> };

/** Maximum nesting of `[`/`{` outside strings, computed without parsing (so no recursion). */
export function jsonDepth(s: string): number {
  let depth = 0;
  let max = 0;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
    } else if (c === 0x22) inStr = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses and validates the sfumato chunk's text. Never throws. */
export function parseSfumatoChunk(text: string): { record?: SampleMetadataRecord; partial?: Partial<SampleMetadataRecord>; problems: string[] } {
  const problems: string[] = [];
  if (typeof text !== 'string') return { problems: ['sfumato chunk: not text'] };
  if (text.length > MAX_SFUMATO_JSON_CHARS) return { problems: [`sfumato chunk: ${text.length} characters (limit ${MAX_SFUMATO_JSON_CHARS}); ignored`] };
  if (jsonDepth(text) > MAX_JSON_DEPTH) return { problems: [`sfumato chunk: JSON nested deeper than ${MAX_JSON_DEPTH}; ignored`] };
  let root: unknown;
  let dropped = 0;
  try {
    root = JSON.parse(text, (key, value: unknown) => {
      if (UNSAFE_KEYS.has(key)) {
        dropped++;
        return undefined; // deletes the property
      }
      return value;
    });
  } catch (e) {
    return { problems: [`sfumato chunk: malformed JSON (${String((e as Error)?.message ?? e).slice(0, 120)})`] };
  }
  if (dropped) problems.push(`sfumato chunk: dropped ${dropped} __proto__/constructor/prototype key(s)`);
  if (!root || typeof root !== 'object' || Array.isArray(root)) return { problems: [...problems, 'sfumato chunk: not a JSON object'] };
  const r = root as Record<string, unknown>;
  if (r.format !== SAMPLE_FORMAT) return { problems: [...problems, `sfumato chunk: format is not "${SAMPLE_FORMAT}"`] };
  if (r.version !== SAMPLE_FORMAT_VERSION) {
    if (typeof r.version === 'number' && Number.isInteger(r.version) && r.version > SAMPLE_FORMAT_VERSION) {
      problems.push(`sfumato chunk: version ${r.version} is newer than this app reads (${SAMPLE_FORMAT_VERSION}); reading the fields it knows`);
    } else {
      return { problems: [...problems, `sfumato chunk: unsupported version ${JSON.stringify(r.version)?.slice(0, 20)}`] };
    }
  }
  const rec = r.record;
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return { problems: [...problems, 'sfumato chunk: "record" is missing or not an object'] };
  const src = rec as Record<string, unknown>;
  const partial: Partial<SampleMetadataRecord> = {};
  let complete = true;
  for (const [name, check] of Object.entries(FIELDS) as [keyof SampleMetadataRecord, Check<unknown>][]) {
    if (!Object.prototype.hasOwnProperty.call(src, name)) {
      if (Object.prototype.hasOwnProperty.call(OPTIONAL_FIELDS, name)) continue;
      problems.push(`sfumato chunk: record.${name} is missing`);
      complete = false;
      continue;
    }
    const res = check(src[name]);
    if (res.ok) (partial as Record<string, unknown>)[name] = res.value;
    else {
      problems.push(`sfumato chunk: record.${name} ${res.why}`);
      complete = false;
    }
  }
  // The recipe is a cost (steps x correctors, tolerances): the same bounds as a sampling request.
  const recipeProblems = checkSamplingRecipe({ sampler: partial.sampler, steps: partial.steps, samplerOptions: partial.samplerOptions }, 'record.');
  for (const rp of recipeProblems) {
    problems.push(`sfumato chunk: ${rp.message}`);
    delete partial[rp.field.startsWith('record.steps') ? 'steps' : 'samplerOptions'];
    complete = false;
  }
  const unknown = Object.keys(src).filter((k) => !Object.prototype.hasOwnProperty.call(FIELDS, k));
  if (unknown.length) problems.push(`sfumato chunk: ignored unknown field(s) ${unknown.slice(0, 10).map((k) => k.slice(0, 40)).join(', ')}${unknown.length > 10 ? ', …' : ''}`);
  return complete ? { record: partial as SampleMetadataRecord, partial, problems } : { partial, problems };
}

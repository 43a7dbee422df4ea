/**
 * Provenance inside the PNG: what Sfumato writes into every sample and how it reads it back.
 *
 * Two text chunks (PNG 2nd ed. §11.3.4, see png/chunks.ts):
 *   `parameters`  the AUTOMATIC1111 web UI "infotext", so other tools (A1111, Forge, Civitai,
 *                 exiftool users) show seed, steps, sampler and size;
 *   `sfumato`     JSON {format: 'sfumato-sample', version: 1, record: <the full SampleRecord>}.
 *
 * The A1111 format (modules/infotext_utils.py + processing.create_infotext in A1111):
 *   <prompt lines>
 *   Negative prompt: <lines>            (only when there is a negative prompt)
 *   Steps: 20, Sampler: Euler a, ..., Key: value   (last line; at least three `Key: value` items)
 * Values containing `,` `:` or a newline are written as JSON strings (A1111's `quote()`); keys match
 * `\w[\w \-/]+`. Without a prompt A1111's `.strip()` leaves the parameter line alone, as here.
 *
 * Reading never throws and never trusts the file: JSON is size- and depth-limited, parsed with a
 * reviver that drops `__proto__`/`constructor`/`prototype`, then every field is validated into a
 * fresh object; unknown fields are dropped and reported.
 */
import type { GridAxisSpec, GridRecipe, GridRef, SampleRecord } from '../api/types';
import { SAMPLER_NAMES, SAMPLERS } from '../diffusion/samplers/index';
import { checkSamplingRecipe, SAMPLING_BOUNDS } from '../api/sampling-bounds';
import { type PngReadLimits, type TextChunkInput, insertTextChunks, readPngText } from '../png/chunks';

export const SFUMATO_KEYWORD = 'sfumato';
export const A1111_KEYWORD = 'parameters';
export const SAMPLE_FORMAT = 'sfumato-sample';
export const SAMPLE_FORMAT_VERSION = 1;

/** The sfumato chunk holds a few KB; anything beyond this is refused before JSON.parse. */
export const MAX_SFUMATO_JSON_CHARS = 256 * 1024;
/** Nesting depth of the sfumato JSON (the record needs 4: root, record, schedule, a points array). */
export const MAX_JSON_DEPTH = 8;

// ------------------------------------------------------------------ sampler names

/**
 * Our sampler names -> A1111's labels (modules/sd_samplers_kdiffusion.py, sd_samplers_timesteps.py),
 * from each descriptor's `a1111`. Samplers without one (ddpm, pc, pf-ode) write our own name.
 */
export const A1111_SAMPLER_LABELS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(SAMPLERS.flatMap((s) => ('a1111' in s && s.a1111 ? [[s.name, s.a1111]] : []))),
);

/** A1111 label -> our name, for the ones we implement. Also accepts our own names. */
export function samplerFromA1111(label: string): { sampler?: string; schedule?: string } {
  const l = label.trim();
  if ((SAMPLER_NAMES as readonly string[]).includes(l)) return { sampler: l };
  const entries = Object.entries(A1111_SAMPLER_LABELS);
  for (const [ours, theirs] of entries) if (l === theirs) return { sampler: ours };
  // A1111 before 1.9 folded the scheduler into the label: "DPM++ 2M Karras". Longest label first.
  for (const [ours, theirs] of entries.sort((a, b) => b[1].length - a[1].length)) {
    if (l.startsWith(`${theirs} `)) return { sampler: ours, schedule: l.slice(theirs.length + 1) };
  }
  return {};
}

// ------------------------------------------------------------------ A1111 writer

/** A1111's `quote()`: JSON-quote a value containing `,` `:` or a newline (json.dumps, ensure_ascii=False). */
export function a1111Quote(value: string | number | boolean): string {
  const s = String(value);
  // A1111 quotes on , : \n. We also quote three cases A1111's own output does not round-trip:
  // a value starting with `"` (its reader would unquote it), \r, and edge whitespace (its reader strips).
  if (/[,:\n\r]/.test(s) || s.startsWith('"') || s !== s.trim()) return JSON.stringify(s);
  return s;
}

/** A1111 infotext keys: `\w[\w \-/]+` (Unicode word characters), as in its `re_param`. */
const KEY_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_ \-/]+$/u;

export interface A1111Extra {
  /** prompt text (Sfumato's models are unconditional: normally absent) */
  prompt?: string;
  negativePrompt?: string;
  /** the `Model:` value; default: the run id, else the checkpoint id */
  modelName?: string;
  cfgScale?: number;
  /** more `Key: value` items appended at the end (keys must match A1111's key pattern) */
  params?: Record<string, string | number | boolean>;
}

function describeSchedule(schedule: unknown): string | undefined {
  if (!schedule || typeof schedule !== 'object') return undefined;
  const s = schedule as Record<string, unknown>;
  if (typeof s.beta === 'string') return s.beta;
  if (typeof s.kind === 'string') return s.kind;
  return undefined;
}

/**
 * The A1111 `parameters` text for a sample. Order follows A1111's create_infotext (Steps, Sampler,
 * Schedule type, CFG scale, Seed, Size, Model hash, Model), then Sfumato's own keys.
 * `Model hash` is the first 10 hex digits of the checkpoint sha256 (A1111's "shorthash").
 * DDIM's eta is written as `Eta DDIM` (A1111's key for it), other samplers' as `Eta`.
 */
export function a1111Parameters(record: SampleRecord, extra: A1111Extra = {}): string {
  const items: [string, string | number | boolean | undefined][] = [];
  const opts = (record.samplerOptions ?? {}) as Record<string, unknown>;
  items.push(['Steps', record.steps]);
  items.push(['Sampler', A1111_SAMPLER_LABELS[record.sampler] ?? record.sampler]);
  items.push(['Schedule type', describeSchedule(record.schedule)]);
  if (extra.cfgScale !== undefined) items.push(['CFG scale', extra.cfgScale]);
  items.push(['Seed', record.seed]);
  items.push(['Size', `${record.width}x${record.height}`]);
  items.push(['Model hash', record.checkpoint.sha256.slice(0, 10)]);
  items.push(['Model', extra.modelName ?? record.runId ?? record.checkpoint.id]);
  if (typeof opts.eta === 'number') items.push([record.sampler === 'ddim' ? 'Eta DDIM' : 'Eta', opts.eta]);
  items.push(['Sfumato sampler', record.sampler]);
  items.push(['Sfumato sampler options', JSON.stringify(record.samplerOptions ?? {})]);
  items.push(['Sfumato schedule', JSON.stringify(record.schedule ?? {})]);
  if (record.prediction !== undefined) items.push(['Prediction', record.prediction]);
  items.push(['Checkpoint', record.checkpoint.id]);
  items.push(['Checkpoint sha256', record.checkpoint.sha256]);
  if (record.runId) items.push(['Run', record.runId]);
  items.push(['Backend', record.backend]);
  items.push(['Sample', record.id]);
  items.push(['Sfumato version', record.appVersion]);
  for (const [k, v] of Object.entries(extra.params ?? {})) items.push([k, v]);
  for (const [k] of items) {
    if (!KEY_RE.test(k)) throw new Error(`A1111 parameter key "${k}" must match \\w[\\w \\-/]+ (letters, digits, _, space, -, /)`);
  }
  const line = items
    .filter((kv): kv is [string, string | number | boolean] => kv[1] !== undefined && kv[1] !== '')
    .map(([k, v]) => `${k}: ${a1111Quote(v)}`)
    .join(', ');
  const prompt = extra.prompt ?? '';
  const negative = extra.negativePrompt ? `\nNegative prompt: ${extra.negativePrompt}` : '';
  return `${prompt}${negative}\n${line}`.trim();
}

// ------------------------------------------------------------------ A1111 reader

export interface A1111Parameters {
  prompt: string;
  negativePrompt: string;
  /** `Key: value` items of the last line, values unquoted (null-prototype object) */
  params: Record<string, string>;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const isWordChar = (c: string) => /[\p{L}\p{N}_]/u.test(c);
const isKeyChar = (c: string) => c === ' ' || c === '-' || c === '/' || isWordChar(c);
const isSpace = (c: string) => /\s/.test(c);

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      const r: unknown = JSON.parse(v);
      if (typeof r === 'string') return r;
    } catch {
      // not JSON: A1111 keeps the raw text too
    }
  }
  return v;
}

/**
 * Splits A1111's parameter line into `Key: value` items in one linear pass (no backtracking regex:
 * the text comes from untrusted files). A value is a JSON string literal ending right before a
 * comma or the end of the line, or else the raw text up to the next comma (trimmed). An item
 * whose key is not `\w[\w \-/]+` is skipped up to the next comma, as A1111's findall does.
 */
function scanParamLine(line: string): [string, string][] {
  const out: [string, string][] = [];
  const n = line.length;
  let i = 0;
  const nextComma = (from: number) => {
    const k = line.indexOf(',', from);
    return k < 0 ? n : k;
  };
  while (i < n) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) break;
    const start = i;
    let j = i;
    if (isWordChar(line[j])) {
      j++;
      while (j < n && isKeyChar(line[j])) j++;
    }
    if (j - start < 2 || j >= n || line[j] !== ':') {
      i = nextComma(i) + 1;
      continue;
    }
    const key = line.slice(start, j).trim();
    i = j + 1;
    while (i < n && isSpace(line[i])) i++;
    let value: string | undefined;
    if (line[i] === '"') {
      let k = i + 1;
      while (k < n && line[k] !== '"') k += line[k] === '\\' ? 2 : 1;
      if (k < n && (k + 1 === n || line[k + 1] === ',')) {
        value = unquote(line.slice(i, k + 1));
        i = k + 2;
      }
    }
    if (value === undefined) {
      const end = nextComma(i);
      value = unquote(line.slice(i, end).trim());
      i = end + 1;
    }
    out.push([key, value]);
  }
  return out;
}

/**
 * Parses A1111's `parameters` text: prompt lines, an optional `Negative prompt:` block, and a last
 * line of `Key: value` items (taken as parameters only when it has at least three, as A1111 does).
 * Never throws; linear time. Keys `__proto__`, `constructor`, `prototype` are dropped.
 */
export function parseA1111Parameters(text: string): A1111Parameters {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const result: A1111Parameters = { prompt: '', negativePrompt: '', params };
  if (typeof text !== 'string') return result;
  const lines = text.replace(/\r\n?/g, '\n').trim().split('\n');
  let items: [string, string][] = [];
  if (lines.length > 0) {
    items = scanParamLine(lines[lines.length - 1]);
    if (items.length >= 3) lines.pop();
    else items = [];
  }
  const prompt: string[] = [];
  const negative: string[] = [];
  let inNegative = false;
  for (const raw of lines) {
    let line = raw.trim();
    if (line.startsWith('Negative prompt:')) {
      inNegative = true;
      line = line.slice('Negative prompt:'.length).trim();
    }
    (inNegative ? negative : prompt).push(line);
  }
  result.prompt = prompt.join('\n');
  result.negativePrompt = negative.join('\n');
  for (const [k, v] of items) if (!UNSAFE_KEYS.has(k)) params[k] = v;
  return result;
}

// ------------------------------------------------------------------ the sfumato chunk

/** A JSON value as accepted inside samplerOptions / schedule after validation. */
export type MetaValue = number | string | boolean | null | MetaValue[];

/**
 * A sample record read back from a file, every field validated. Same shape as `SampleRecord`,
 * but sampler, options and schedule are only checked structurally here (bounded JSON): run them
 * through the diffusion validators before sampling with them.
 */
export interface SampleMetadataRecord {
  id: string;
  file: string;
  seed: number;
  sampler: string;
  steps: number;
  samplerOptions: Record<string, MetaValue>;
  schedule: Record<string, MetaValue>;
  prediction: string;
  nfe: number;
  checkpoint: { id: string; sha256: string };
  runId: string | null;
  width: number;
  height: number;
  backend: string;
  appVersion: string;
  createdAt: string;
  origin: Record<string, MetaValue>;
  parentId: string | null;
  /** X/Y grids (optional: ordinary samples have neither) */
  kind?: 'grid';
  grid?: GridRef;
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

const ID_RE = /^[a-z]{1,8}_[A-Za-z0-9_-]{1,64}$/;
const SLUG_RE = /^[a-z0-9][a-z0-9._+-]{0,39}$/;
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

function metaObject(maxKeys: number): Check<Record<string, MetaValue>> {
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

/** The sample's origin: flat bounded values, plus an optional flat `source` object (img2img). */
const originCheck: Check<Record<string, MetaValue>> = (v) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected an object, got ${typeOf(v)}`);
  const { source, ...rest } = v as Record<string, unknown>;
  const flat = metaObject(8)(rest);
  if (!flat.ok) return flat;
  if (source === undefined) return flat;
  const src = metaObject(4)(source);
  if (!src.ok) return bad(`source ${src.why}`);
  return ok({ ...flat.value, source: src.value as unknown as MetaValue });
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

const nullableId: Check<string | null> = (v) => (v === null ? ok(null) : str(80, ID_RE)(v));

const GRID_AXIS_KINDS: readonly string[] = ['seed', 'sampler', 'steps', 'checkpoint', 'spacing'];

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
const OPTIONAL_FIELDS = {
  kind: ((v) => (v === 'grid' ? ok('grid' as const) : bad('must be "grid"'))) as Check<'grid'>,
  grid: gridCheck,
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
function jsonDepth(s: string): number {
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

export interface ReadSampleOptions {
  limits?: Partial<PngReadLimits>;
}

/**
 * Reads Sfumato's and A1111's metadata from PNG bytes. Never throws, whatever the input: bad
 * signatures, truncation, wrong CRCs (such chunks are skipped), compression bombs, malformed or
 * hostile JSON all end up in `problems`.
 */
export function readSampleMetadata(png: Uint8Array, options: ReadSampleOptions = {}): SampleMetadata {
  const out: SampleMetadata = { problems: [] };
  try {
    const text = readPngText(png, { keywords: [SFUMATO_KEYWORD, A1111_KEYWORD], limits: options.limits });
    for (const p of text.problems) if (p.code !== 'trailing_data') out.problems.push(`${p.code}: ${p.message}`);
    const ours = text.entries.filter((e) => e.keyword === SFUMATO_KEYWORD);
    const theirs = text.entries.filter((e) => e.keyword === A1111_KEYWORD);
    if (ours.length > 1) out.problems.push(`${ours.length} sfumato chunks; using the first`);
    if (theirs.length > 1) out.problems.push(`${theirs.length} parameters chunks; using the first`);
    if (ours[0]) {
      const s = parseSfumatoChunk(ours[0].text);
      out.problems.push(...s.problems);
      if (s.partial) out.partial = s.partial;
      if (s.record) out.record = s.record;
    }
    if (theirs[0]) {
      out.parametersText = theirs[0].text;
      out.a1111 = parseA1111Parameters(theirs[0].text);
    }
  } catch (e) {
    // Defence in depth: nothing above should throw.
    out.problems.push(`internal: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
  if (out.problems.length > 200) out.problems.length = 200;
  return out;
}

// ------------------------------------------------------------------ restore

export interface RestoredSettings {
  seed?: number;
  steps?: number;
  /** one of our sampler names */
  sampler?: string;
  width?: number;
  height?: number;
  eta?: number;
  samplerOptions?: Record<string, MetaValue>;
  schedule?: Record<string, MetaValue>;
  prediction?: string;
  checkpointId?: string;
  checkpointSha256?: string;
  /** A1111 short hash (first 10 hex digits of a sha256), when the full one is unknown */
  modelHash?: string;
  runId?: string;
}

export interface Restorable {
  source: 'sfumato' | 'a1111' | 'none';
  settings: RestoredSettings;
  /** what the file says that Sfumato cannot apply, e.g. "CFG scale: 7" */
  unmapped: string[];
}

const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n)}…` : s);

function parseIntStrict(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^\s*\d{1,16}\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

function parseJsonObject(v: string | undefined): Record<string, MetaValue> | undefined {
  if (v === undefined || v.length > 16_384 || jsonDepth(v) > 4) return undefined;
  try {
    const parsed: unknown = JSON.parse(v, (k, x: unknown) => (UNSAFE_KEYS.has(k) ? undefined : x));
    const r = metaObject(32)(parsed);
    return r.ok ? r.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a dropped or opened PNG lets us restore: everything from our own chunk (all fields that
 * validated), else what maps from an A1111 infotext (seed, steps, sampler, size, eta, and our own
 * keys when the text came from Sfumato). Everything else is listed in `unmapped`.
 */
export function restorableSettings(meta: SampleMetadata): Restorable {
  const p = meta.record ?? meta.partial;
  if (p && (p.seed !== undefined || p.steps !== undefined || p.sampler !== undefined)) {
    const s: RestoredSettings = {};
    const unmapped: string[] = [];
    if (p.seed !== undefined) s.seed = p.seed;
    if (p.steps !== undefined) s.steps = p.steps;
    if (p.sampler !== undefined) {
      if ((SAMPLER_NAMES as readonly string[]).includes(p.sampler)) s.sampler = p.sampler;
      else unmapped.push(`sampler ${p.sampler} (not available in this version)`);
    }
    if (p.width !== undefined) s.width = p.width;
    if (p.height !== undefined) s.height = p.height;
    if (p.samplerOptions) {
      s.samplerOptions = p.samplerOptions;
      if (typeof p.samplerOptions.eta === 'number') s.eta = p.samplerOptions.eta;
    }
    if (p.schedule) s.schedule = p.schedule;
    if (p.prediction) s.prediction = p.prediction;
    if (p.checkpoint) {
      s.checkpointId = p.checkpoint.id;
      s.checkpointSha256 = p.checkpoint.sha256;
    }
    if (p.runId) s.runId = p.runId;
    for (const f of ['seed', 'steps', 'sampler', 'width', 'height', 'samplerOptions', 'schedule', 'checkpoint'] as const) {
      if (p[f] === undefined) unmapped.push(`${f} (missing or invalid in the file)`);
    }
    return { source: 'sfumato', settings: s, unmapped };
  }
  const a = meta.a1111;
  if (!a) return { source: 'none', settings: {}, unmapped: [] };
  const params = a.params;
  const s: RestoredSettings = {};
  const unmapped: string[] = [];
  const used = new Set<string>();
  const take = (k: string) => {
    used.add(k);
    return Object.prototype.hasOwnProperty.call(params, k) ? params[k] : undefined;
  };
  const seed = parseIntStrict(take('Seed'), 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) s.seed = seed;
  const steps = parseIntStrict(take('Steps'), SAMPLING_BOUNDS.steps.min, SAMPLING_BOUNDS.steps.max);
  if (steps !== undefined) s.steps = steps;
  const size = /^\s*(\d{1,5})x(\d{1,5})\s*$/.exec(take('Size') ?? '');
  if (size) {
    const w = Number(size[1]);
    const h = Number(size[2]);
    if (w >= 1 && h >= 1 && w <= 16_384 && h <= 16_384) {
      s.width = w;
      s.height = h;
    }
  }
  const ours = take('Sfumato sampler');
  const label = take('Sampler');
  if (ours !== undefined && (SAMPLER_NAMES as readonly string[]).includes(ours)) s.sampler = ours;
  else if (label !== undefined) {
    const m = samplerFromA1111(label);
    if (m.sampler) s.sampler = m.sampler;
    else unmapped.push(`Sampler: ${clip(label)} (no Sfumato equivalent)`);
    if (m.schedule) unmapped.push(`Schedule: ${clip(m.schedule)} (from the sampler label)`);
  }
  const etaText = take('Eta DDIM') ?? take('Eta');
  if (etaText !== undefined) {
    const eta = Number(etaText);
    if (etaText.trim() !== '' && Number.isFinite(eta) && eta >= SAMPLING_BOUNDS.eta.min && eta <= SAMPLING_BOUNDS.eta.max) s.eta = eta;
    else unmapped.push(`Eta: ${clip(etaText)} (not a number from ${SAMPLING_BOUNDS.eta.min} to ${SAMPLING_BOUNDS.eta.max})`);
  }
  const options = parseJsonObject(take('Sfumato sampler options'));
  if (options && checkSamplingRecipe({ samplerOptions: options }).length === 0) s.samplerOptions = options;
  else if (options) unmapped.push('Sfumato sampler options (outside the allowed ranges)');
  const schedule = parseJsonObject(take('Sfumato schedule'));
  const scheduleType = take('Schedule type');
  if (schedule) s.schedule = schedule;
  else if (scheduleType !== undefined && scheduleType !== 'Automatic') unmapped.push(`Schedule type: ${clip(scheduleType)}`);
  const prediction = take('Prediction');
  if (prediction !== undefined && SLUG_RE.test(prediction)) s.prediction = prediction;
  const sha = take('Checkpoint sha256');
  if (sha !== undefined && /^[0-9a-f]{64}$/.test(sha)) s.checkpointSha256 = sha;
  const hash = take('Model hash');
  if (hash !== undefined && /^[0-9a-fA-F]{8,64}$/.test(hash) && !s.checkpointSha256) s.modelHash = hash.toLowerCase();
  const ckpt = take('Checkpoint');
  if (ckpt !== undefined && ID_RE.test(ckpt)) s.checkpointId = ckpt;
  const run = take('Run');
  if (run !== undefined && ID_RE.test(run)) s.runId = run;
  // Informational keys Sfumato writes itself: nothing to restore, nothing to warn about.
  for (const k of ['Model', 'Backend', 'Sample', 'Sfumato version']) used.add(k);
  if (a.prompt) unmapped.push(`Prompt: ${clip(a.prompt)} (Sfumato models are unconditional)`);
  if (a.negativePrompt) unmapped.push(`Negative prompt: ${clip(a.negativePrompt)}`);
  for (const k of Object.keys(params)) if (!used.has(k)) unmapped.push(`${clip(k, 40)}: ${clip(params[k])}`);
  return { source: 'a1111', settings: s, unmapped };
}

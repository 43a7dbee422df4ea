/** A1111 sampler labels, and the A1111 `parameters` text: writer and reader (moved whole from gallery/metadata.ts; its file comment has the format and the safety rules). */
import type { SampleRecord } from '../../api/types';
import { SAMPLER_NAMES, SAMPLERS } from '../../diffusion/samplers/index';
import { scheduleLabel } from '../../diffusion/schedules/presets';
import type { ScheduleSpec } from '../../diffusion/process';

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
  if (!schedule || typeof schedule !== 'object' || typeof (schedule as { kind?: unknown }).kind !== 'string') return undefined;
  return scheduleLabel(schedule as ScheduleSpec);
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
  // classifier-free guidance of class-conditional samples: A1111's `CFG scale` is the same W
  // (eps_u + W (eps_c - eps_u)); the class stands where a prompt would
  const cfg = extra.cfgScale ?? record.guidance?.scale;
  if (cfg !== undefined) items.push(['CFG scale', cfg]);
  items.push(['Seed', record.seed]);
  items.push(['Size', `${record.width}x${record.height}`]);
  items.push(['Model hash', record.checkpoint.sha256.slice(0, 10)]);
  items.push(['Model', extra.modelName ?? record.runId ?? record.checkpoint.id]);
  if (typeof opts.eta === 'number') items.push([record.sampler === 'ddim' ? 'Eta DDIM' : 'Eta', opts.eta]);
  if (record.lora) {
    // A1111's extra-networks key: "name: shorthash" (12 hex digits), then the strength
    const name = record.lora.file.split(/[\\/]/).pop()!.replace(/\.safetensors$/, '');
    items.push(['Lora hashes', `${name}: ${record.lora.sha256.slice(0, 12)}`]);
    items.push(['Lora scale', record.lora.scale]);
  }
  items.push(['Sfumato sampler', record.sampler]);
  items.push(['Sfumato sampler options', JSON.stringify(record.samplerOptions ?? {})]);
  items.push(['Sfumato schedule', JSON.stringify(record.schedule ?? {})]);
  if (record.prediction !== undefined) items.push(['Prediction', record.prediction]);
  if (record.guidance) items.push(['Class', record.guidance.class ?? '(unconditional)']);
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

export const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
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

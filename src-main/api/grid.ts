/**
 * X/Y grids: one request that samples every combination of two axes' values (seed, sampler,
 * steps, checkpoint, spacing) on top of base settings, records each cell as a normal gallery
 * sample and composes a labelled grid image. Plain data and zod only: the renderer imports this
 * file (axis pickers, value parsing) as the CLI and the service do.
 *
 * Class and guidance (classifier-free guidance scale W) axes apply to class-conditional models;
 * the service checks every cell's class and scale against the model like a plain generate.
 */
import { z } from 'zod';
import { SAMPLER_NAMES, samplerDescriptor } from '../diffusion/samplers/index';
import { SIGMA_KINDS } from '../diffusion/schedules/sigmas';
import { TIMESTEP_SPACINGS } from '../diffusion/schedules/spacing';
import { boundedNumber, SamplerOptionsSchema } from './sampler-options';
import type { GridAxisKind, GridAxisSpec, SamplerName, SamplerOptions } from './types';
export type { GridAxisSpec, GridRecipe, GridRef, GridResult } from './types';

export const MAX_AXIS_VALUES = 16;
export const MAX_GRID_CELLS = 256;

/** The axes a grid can vary, with the label its image shows. */
export const AXIS_KINDS = {
  seed: { label: 'Seed', numeric: true },
  sampler: { label: 'Sampler', numeric: false },
  steps: { label: 'Steps', numeric: true },
  checkpoint: { label: 'Checkpoint', numeric: false },
  /** timestep spacing (leading, linspace, trailing) or noise-level kind (karras, exponential, uniform-in-t) */
  spacing: { label: 'Spacing', numeric: false },
  /** class-conditional models: the class sampled */
  class: { label: 'Class', numeric: false },
  /** class-conditional models: the classifier-free guidance scale W (decimals allowed) */
  guidance: { label: 'CFG scale', numeric: true },
} as const satisfies Record<GridAxisKind, { label: string; numeric: boolean }>;
export type AxisKind = GridAxisKind;
export const AXIS_KIND_NAMES = Object.keys(AXIS_KINDS) as [AxisKind, ...AxisKind[]];

/** The values a spacing axis may take: timestep spacings (discrete schedules) and sigma kinds. */
export const SPACING_VALUES: readonly string[] = [...TIMESTEP_SPACINGS, ...SIGMA_KINDS];

const idValue = z.string().min(1).max(100);
const axisValue = z.union([z.number(), z.string().min(1).max(100)]);

export const GridAxisSchema = z
  .object({
    kind: z.enum(AXIS_KIND_NAMES),
    values: z
      .array(axisValue)
      .min(1, 'give at least one value')
      .max(MAX_AXIS_VALUES, { error: (iss) => `at most ${MAX_AXIS_VALUES} values per axis, got ${(iss.input as unknown[] | undefined)?.length ?? 0}` }),
  })
  .strict();
export type GridAxis = GridAxisSpec;

/** The settings every cell shares (an axis overrides its own field). */
export const GridBaseSchema = z
  .object({
    runId: idValue.optional(),
    checkpointId: idValue.optional(),
    modelId: idValue.optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    sampler: z.enum(SAMPLER_NAMES).optional(),
    steps: boundedNumber('steps').optional(),
    options: SamplerOptionsSchema.optional(),
    engine: z.enum(['auto', 'onnx', 'tfjs']).optional(),
    /** class-conditional models: the class and guidance scale of every cell (axes override them) */
    class: z.string().min(1).max(200).optional(),
    guidance: z.number().optional(),
  })
  .strict();
export type GridBase = z.infer<typeof GridBaseSchema>;

export const GridSchema = GridBaseSchema.extend({ x: GridAxisSchema, y: GridAxisSchema })
  .strict()
  .superRefine((r, ctx) => {
    for (const a of ['x', 'y'] as const) {
      const problem = axisProblem(r[a]);
      if (problem) ctx.addIssue({ code: 'custom', path: [a, 'values'], message: problem });
    }
    if (r.x.kind === r.y.kind) ctx.addIssue({ code: 'custom', path: ['y', 'kind'], message: `the X and Y axes both vary ${r.x.kind}; pick two different axes` });
    const cells = r.x.values.length * r.y.values.length;
    if (cells > MAX_GRID_CELLS) ctx.addIssue({ code: 'custom', path: ['y', 'values'], message: `${r.x.values.length} x ${r.y.values.length} = ${cells} cells; a grid has at most ${MAX_GRID_CELLS}` });
  });
export type GridRequest = z.infer<typeof GridSchema>;

/** What is wrong with one axis's values (type and range per kind), or undefined. */
export function axisProblem(axis: GridAxis): string | undefined {
  const seen = new Set<string>();
  for (const v of axis.values) {
    const bad = (why: string) => `${axis.kind} axis value ${JSON.stringify(v)}: ${why}`;
    if (seen.has(String(v))) return bad('appears twice; give each value once');
    seen.add(String(v));
    switch (axis.kind) {
      case 'seed':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return bad('a seed is a whole number from 0 to 4294967295');
        break;
      case 'steps': {
        const r = boundedNumber('steps').safeParse(v);
        if (!r.success) return bad(r.error.issues[0].message);
        break;
      }
      case 'sampler':
        if (!(SAMPLER_NAMES as readonly unknown[]).includes(v)) return bad(`not a sampler; use one of ${SAMPLER_NAMES.join(', ')}`);
        break;
      case 'spacing':
        if (!SPACING_VALUES.includes(String(v))) return bad(`use one of ${SPACING_VALUES.join(', ')}`);
        break;
      case 'checkpoint':
        if (typeof v !== 'string') return bad('give a checkpoint id (ckpt_…)');
        break;
      case 'class':
        if (typeof v !== 'string') return bad('give a class name of the model');
        break;
      case 'guidance':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return bad('a guidance scale is a number ≥ 0 (1 = conditional, 0 = unconditional)');
        break;
    }
  }
  return undefined;
}

/** One cell's settings: the base with each axis's value applied. */
export interface CellSettings {
  seed: number;
  sampler: SamplerName;
  steps: number | undefined;
  options: SamplerOptions;
  /** a checkpoint id from a checkpoint axis, else the base's source */
  checkpointId?: string;
  /** class-conditional models: class name and guidance scale */
  class?: string;
  guidance?: number;
}

/** `s` with one axis value applied (the only place that knows what each kind sets). */
export function applyAxis(s: CellSettings, kind: AxisKind, value: string | number): CellSettings {
  switch (kind) {
    case 'seed':
      return { ...s, seed: Number(value) };
    case 'sampler': {
      // the base options that this sampler has (a DDIM base's eta means nothing to Euler)
      const keys = new Set(Object.keys(samplerDescriptor(value as SamplerName)?.options ?? {}));
      const options = Object.fromEntries(Object.entries(s.options).filter(([k]) => keys.has(k))) as SamplerOptions;
      return { ...s, sampler: value as SamplerName, options };
    }
    case 'steps':
      return { ...s, steps: Number(value) };
    case 'checkpoint':
      return { ...s, checkpointId: String(value) };
    case 'class':
      return { ...s, class: String(value) };
    case 'guidance':
      return { ...s, guidance: Number(value) };
    case 'spacing':
      return (TIMESTEP_SPACINGS as readonly string[]).includes(String(value))
        ? { ...s, options: { ...s.options, spacing: value } as SamplerOptions }
        : { ...s, options: { ...s.options, sigmas: value } as SamplerOptions };
  }
}

/**
 * Cells in row-major order (y outer, x inner): cell i is at x = i % nx, y = floor(i / nx). A
 * sampler axis is applied first, so a spacing axis's value is never filtered away by it.
 */
export function gridCells(base: Omit<CellSettings, 'checkpointId'>, x: GridAxis, y: GridAxis): (CellSettings & { x: number; y: number })[] {
  const out: (CellSettings & { x: number; y: number })[] = [];
  y.values.forEach((yv, j) =>
    x.values.forEach((xv, i) => {
      const pairs: [AxisKind, string | number][] = [
        [y.kind, yv],
        [x.kind, xv],
      ];
      pairs.sort((a, b) => Number(b[0] === 'sampler') - Number(a[0] === 'sampler'));
      out.push({ ...pairs.reduce((s, [k, v]) => applyAxis(s, k, v), base as CellSettings), x: i, y: j });
    }),
  );
  return out;
}

/** The label of an axis value on the grid image (a checkpoint shows its step when known). */
export function axisValueLabel(kind: AxisKind, value: string | number, checkpointLabels?: Record<string, string>): string {
  if (kind === 'checkpoint') return checkpointLabels?.[String(value)] ?? String(value);
  return String(value);
}

/**
 * Parses what a person types for an axis: a comma list (`1, 2, 3`, `ddim,euler`) or, for numbers,
 * ranges `a-b` (step 1) and `a-b:s` (step s) mixed with single values. Throws an Error naming the
 * bad piece.
 */
export function parseAxisValues(kind: AxisKind, text: string): (string | number)[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.length) throw new Error(`${kind}: give at least one value (a comma list${AXIS_KINDS[kind].numeric ? ' or a range like 1-4' : ''})`);
  const out: (string | number)[] = [];
  for (const p of parts) {
    if (!AXIS_KINDS[kind].numeric) {
      out.push(p);
      continue;
    }
    if (kind === 'guidance') {
      // guidance scales are decimals (0, 1, 1.5, 3): a comma list only
      if (!/^\d+(\.\d+)?$/.test(p)) throw new Error(`guidance: "${p}" is not a number ≥ 0 like 1 or 2.5`);
      out.push(Number(p));
      continue;
    }
    const m = /^(\d+)\s*-\s*(\d+)(?:\s*:\s*(\d+))?$/.exec(p);
    if (m) {
      const [a, b, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 1)];
      if (s < 1 || b < a) throw new Error(`${kind}: the range "${p}" must go up (a-b with a <= b, step >= 1)`);
      if ((b - a) / s + 1 > MAX_AXIS_VALUES) throw new Error(`${kind}: the range "${p}" has more than ${MAX_AXIS_VALUES} values`);
      for (let v = a; v <= b; v += s) out.push(v);
    } else if (/^\d+$/.test(p)) out.push(Number(p));
    else throw new Error(`${kind}: "${p}" is not a whole number or a range like 1-4`);
  }
  if (out.length > MAX_AXIS_VALUES) throw new Error(`${kind}: ${out.length} values; an axis has at most ${MAX_AXIS_VALUES}`);
  return out;
}

/** The tag every cell and the grid record carry. */
export function gridTag(gridId: string): string {
  return `grid:${gridId}`;
}

/**
 * Saved things of the library (issue 15, item 9): named noise schedules and sampling / training
 * presets, in the library's SQLite file, exportable and importable as one JSON file.
 *
 * Every body is checked before it is written, with the rules that apply where it is used, so a
 * saved preset never fails later for a reason that could have been said now:
 * - a schedule: `validateScheduleSpec` (diffusion/process.ts), the check the trainer's schedule
 *   resolution and the sampler run;
 * - a training preset: `resolveTrainConfig` (training/config.ts), the check `runs:start` runs
 *   (the body is stored as given, so defaults that change later still apply);
 * - a sampling preset: the sampler fields of the `sample:generate` request schema.
 * Errors are bad_request and name the field (`body.betaEnd`, `presets[2].body.lr`).
 */
import { ApiError } from '../api/errors';
import {
  PRESET_FILE_FORMAT,
  PRESET_FILE_VERSION,
  PresetFileSchema,
  SamplingPresetBodySchema,
  type ImportPresetsResult,
  type Preset,
  type PresetFile,
  type PresetKind,
} from '../api/presets';
import { DiffusionConfigError, validateScheduleSpec } from '../diffusion/index';
import { resolveTrainConfig, TrainConfigError } from '../training/config';
import type { ServiceContext } from './context';

const KIND_WORDS: Record<PresetKind, string> = { schedule: 'schedule', sampling: 'sampling preset', training: 'training preset' };

/** `field: message`, unless the message already starts with the field's name. */
function named(field: string, message: string): string {
  return message.startsWith(field) ? message : `${field}: ${message}`;
}

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * A preset body checked for its kind; the value to store. `field` prefixes the names in errors
 * (`body`, `presets[3].body`).
 */
export function checkPresetBody(kind: PresetKind, body: unknown, field: string): unknown {
  switch (kind) {
    case 'schedule':
      try {
        return validateScheduleSpec(body, field);
      } catch (e) {
        if (e instanceof DiffusionConfigError) throw new ApiError('bad_request', named(e.field, e.message), { field: e.field });
        throw e;
      }
    case 'training': {
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('bad_request', `${field} must be an object of training settings`, { field });
      try {
        resolveTrainConfig(body as Record<string, unknown>);
      } catch (e) {
        if (e instanceof TrainConfigError) throw new ApiError('bad_request', `${field}.${e.field}: ${e.message}`, { field: `${field}.${e.field}` });
        if (e instanceof DiffusionConfigError) throw new ApiError('bad_request', named(`${field}.${e.field}`, e.message), { field: `${field}.${e.field}` });
        throw e;
      }
      return body;
    }
    case 'sampling': {
      const r = SamplingPresetBodySchema.safeParse(body);
      if (!r.success) {
        const i = r.error.issues[0];
        const f = field + zodPath(i.path);
        throw new ApiError('bad_request', `${f}: ${i.message}`, { field: f, issues: r.error.issues.map((x) => ({ field: field + zodPath(x.path), message: x.message })) });
      }
      return r.data;
    }
  }
}

export class PresetService {
  constructor(private readonly ctx: ServiceContext) {}

  list(kind?: PresetKind): Promise<Preset[]> {
    return this.ctx.store.presets.list(kind);
  }

  async save(req: { kind: PresetKind; name: string; body: unknown }): Promise<{ preset: Preset; replaced: boolean }> {
    const body = checkPresetBody(req.kind, req.body, 'body');
    return this.ctx.store.presets.upsert(req.kind, req.name, body);
  }

  async rename(id: string, name: string): Promise<Preset> {
    const p = await this.get(id);
    if (p.name === name) return p;
    if (!(await this.ctx.store.presets.rename(id, name))) {
      throw new ApiError('conflict', `There is already a ${KIND_WORDS[p.kind]} named "${name}"; pick another name or delete that one first.`, { field: 'name' });
    }
    return this.get(id);
  }

  remove(id: string): Promise<boolean> {
    return this.ctx.store.presets.remove(id);
  }

  /** The preset of a kind by name; not_found lists the names there are. */
  async byName(kind: PresetKind, name: string): Promise<Preset> {
    const p = await this.ctx.store.presets.byName(kind, name);
    if (p) return p;
    const names = (await this.list(kind)).map((x) => `"${x.name}"`);
    throw new ApiError('not_found', `No ${KIND_WORDS[kind]} named "${name}" in this library. Saved ones: ${names.join(', ') || 'none'} (sfumato presets list).`, { kind, name });
  }

  async export(req: { ids?: string[]; kind?: PresetKind }): Promise<PresetFile> {
    let list = await this.list(req.kind);
    if (req.ids) {
      const wanted = new Set(req.ids);
      list = list.filter((p) => wanted.has(p.id));
      const missing = req.ids.filter((id) => !list.some((p) => p.id === id));
      if (missing.length) throw new ApiError('not_found', `No preset ${missing.join(', ')}${req.kind ? ` of kind ${req.kind}` : ''}; list them with sfumato presets list.`, { ids: missing });
    }
    return {
      format: PRESET_FILE_FORMAT,
      version: PRESET_FILE_VERSION,
      exportedAt: new Date().toISOString(),
      presets: list.map((p) => ({ kind: p.kind, name: p.name, body: p.body })),
    };
  }

  /** Checks the whole file first (nothing is written when one preset is bad), then writes it in one transaction. */
  async import(req: { file: unknown; onConflict?: 'rename' | 'replace' | 'skip' }): Promise<ImportPresetsResult> {
    const r = PresetFileSchema.safeParse(req.file);
    if (!r.success) {
      const i = r.error.issues[0];
      const f = zodPath(i.path).replace(/^\./, '') || '(file)';
      throw new ApiError('bad_request', `The presets file is not valid: ${f}: ${i.message}. Nothing was imported.`, { field: f });
    }
    const entries = r.data.presets.map((p, k) => {
      try {
        return { kind: p.kind, name: p.name, body: checkPresetBody(p.kind, p.body, `presets[${k}].body`) };
      } catch (e) {
        if (e instanceof ApiError) throw new ApiError('bad_request', `The presets file is not valid: ${KIND_WORDS[p.kind]} "${p.name}": ${e.message}. Nothing was imported.`, e.details);
        throw e;
      }
    });
    return this.ctx.store.presets.importAll(entries, req.onConflict ?? 'rename');
  }

  private async get(id: string): Promise<Preset> {
    const p = await this.ctx.store.presets.get(id);
    if (!p) throw new ApiError('not_found', `No preset ${id}; list them with sfumato presets list.`, { id });
    return p;
  }
}

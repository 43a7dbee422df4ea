/**
 * X/Y grids: check every cell's settings against its model, group the cells that share a
 * checkpoint and sampler settings, and run them all as one job (jobs/grid-job.ts). Each cell is
 * recorded as a normal gallery sample (tagged `grid:<id>`, its record naming the grid and its
 * position); the labelled grid image becomes a record of kind 'grid' carrying the full recipe.
 */
import { promises as fs } from 'node:fs';
import { randomInt } from 'node:crypto';
import { ApiError } from '../api/errors';
import { AXIS_KINDS, applyAxis, gridCells, gridTag, type CellSettings, type GridRequest } from '../api/grid';
import type { GridAxisSpec, GridRecipe, GridResult, JobProgress, SampleRecord } from '../api/types';
import { DiffusionConfigError, makeProcess, validateSamplerSettings } from '../diffusion/index';
import type { GridJobSpec, SampleJobSpec } from '../jobs/protocol';
import { newId } from '../db/ids';
import type { StoredCheckpoint } from '../db/repositories';
import { emitProgress, type ServiceContext } from './context';
import { checkpointSource, type CheckpointSource } from './models';
import { resolveGuidance, type SamplingService } from './sampling';
import { APP_VERSION } from './system';

type Cell = CellSettings & { x: number; y: number };

export class GridService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly sampling: SamplingService,
  ) {}

  async run(req: GridRequest, onProgress?: (p: JobProgress) => void): Promise<GridResult> {
    const ckAxis = req.x.kind === 'checkpoint' ? req.x : req.y.kind === 'checkpoint' ? req.y : undefined;
    const axisName = (a: GridAxisSpec) => (a === req.x ? 'X' : 'Y');
    // The base model: what the request names, else the checkpoint axis's first value.
    const baseCk = req.runId || req.checkpointId || req.modelId ? await this.sampling.checkpointFor(req) : ckAxis ? undefined : await this.sampling.checkpointFor(req);
    const sources = new Map<string, { checkpoint: StoredCheckpoint; source: CheckpointSource }>();
    if (baseCk) sources.set(baseCk.id, { checkpoint: baseCk, source: await checkpointSource(this.ctx.store, baseCk) });
    if (ckAxis) {
      for (const v of ckAxis.values) {
        const id = String(v);
        if (sources.has(id)) continue;
        const c = await this.ctx.store.checkpoints.get(id);
        if (!c) throw new ApiError('not_found', `${axisName(ckAxis)} axis (checkpoint): no checkpoint ${id} in this library. List them with \`sfumato runs get <run>\` and use their ids.`, { field: `${ckAxis === req.x ? 'x' : 'y'}.values` });
        sources.set(id, { checkpoint: c, source: await checkpointSource(this.ctx.store, c) });
      }
    }
    const baseId = baseCk?.id ?? String(ckAxis!.values[0]);
    const base = sources.get(baseId)!;
    const size = base.source.config.imageSize;
    for (const [id, s] of sources) {
      if (s.source.config.imageSize !== size) {
        throw new ApiError('bad_request', `Checkpoint axis: ${id} makes ${s.source.config.imageSize} px images but ${baseId} makes ${size} px; a grid's cells must all be the same size. Pick checkpoints of one model size.`, { field: ckAxis === req.x ? 'x.values' : 'y.values' });
      }
    }
    const seed0 = req.seed ?? randomInt(0, 2 ** 31);
    const baseSettings = { seed: seed0, sampler: req.sampler ?? 'ddim', steps: req.steps, options: req.options ?? {}, ...(req.class !== undefined ? { class: req.class } : {}), ...(req.guidance !== undefined ? { guidance: req.guidance } : {}) };
    const cells: Cell[] = gridCells(baseSettings, req.x, req.y).map((c) => ({ ...c, checkpointId: c.checkpointId ?? baseId }));
    for (const c of cells) this.checkCell(c, req, sources, baseSettings, baseId);
    // The base settings must be valid too: they are the grid record's own recipe.
    const baseSteps = this.validSteps(baseSettings, base.source);

    const gridId = newId('grid');
    const jobId = newId('job');
    // Group the cells that one sampling pass can make (same checkpoint and sampler settings).
    const groups = new Map<string, { cells: number[]; first: Cell }>();
    cells.forEach((c, i) => {
      const key = JSON.stringify([c.checkpointId, c.sampler, c.steps ?? null, c.options, c.class ?? null, c.guidance ?? null]);
      const g = groups.get(key) ?? { cells: [], first: c };
      g.cells.push(i);
      groups.set(key, g);
    });
    const specs: SampleJobSpec[] = [];
    const cellIds: string[] = new Array<string>(cells.length);
    for (const g of groups.values()) {
      const src = sources.get(g.first.checkpointId!)!;
      const seeds = g.cells.map((i) => cells[i].seed);
      const { spec } = this.sampling.sampleSpec(
        {
          checkpoint: src.checkpoint,
          source: src.source,
          sampler: g.first.sampler,
          steps: g.first.steps,
          options: g.first.options,
          seeds,
          origins: seeds.map(() => ({ kind: 'seed' })),
          parentId: null,
          engine: req.engine,
          guidance: { class: g.first.class, scale: g.first.guidance },
        },
        jobId,
      );
      spec.grids = g.cells.map((i) => ({ id: gridId, x: cells[i].x, y: cells[i].y }));
      g.cells.forEach((i, k) => (cellIds[i] = spec.names[k]));
      specs.push(spec);
    }
    const recipe: GridRecipe = {
      base: {
        checkpointId: baseId,
        seed: seed0,
        sampler: baseSettings.sampler,
        ...(req.steps !== undefined ? { steps: req.steps } : {}),
        options: baseSettings.options,
        ...(req.engine ? { engine: req.engine } : {}),
        ...(req.class !== undefined ? { class: req.class } : {}),
        ...(req.guidance !== undefined ? { guidance: req.guidance } : {}),
      },
      x: req.x,
      y: req.y,
    };
    const ckLabels = await this.checkpointLabels([...sources.values()].map((s) => s.checkpoint));
    const label = (kind: GridAxisSpec['kind'], v: string | number) => (kind === 'checkpoint' ? (ckLabels.get(String(v)) ?? String(v)) : String(v));
    const outDirRel = specs[0].outDirRel;
    const gridRecord: SampleRecord = {
      ...specs[0].record,
      id: gridId,
      file: `${outDirRel}/${gridId}.png`,
      seed: seed0,
      sampler: baseSettings.sampler,
      steps: baseSteps,
      samplerOptions: baseSettings.options,
      schedule: base.source.config.schedule,
      prediction: base.source.config.objective,
      checkpoint: { id: base.checkpoint.id, sha256: base.checkpoint.sha256 },
      runId: base.source.runId,
      nfe: 0,
      origin: { kind: 'seed' },
      backend: '',
      appVersion: APP_VERSION,
      createdAt: new Date().toISOString(),
      parentId: null,
      kind: 'grid',
      grid: { id: gridId, recipe, cells: cellIds },
    };
    const spec: GridJobSpec = {
      kind: 'grid',
      jobId,
      groups: specs,
      cells: [...groups.values()].map((g) => g.cells),
      image: {
        record: gridRecord,
        outDir: this.ctx.library.abs(outDirRel),
        outDirRel,
        imageSize: size,
        xTitle: AXIS_KINDS[req.x.kind].label,
        yTitle: AXIS_KINDS[req.y.kind].label,
        xValues: req.x.values.map((v) => label(req.x.kind, v)),
        yValues: req.y.values.map((v) => label(req.y.kind, v)),
      },
    };
    return this.runJob(spec, cells.length, gridId, base.source.runId, onProgress);
  }

  /** One cell's settings against its model; the error names the axis and value to change. */
  private checkCell(c: Cell, req: GridRequest, sources: Map<string, { source: CheckpointSource }>, base: Omit<CellSettings, 'checkpointId'>, baseId: string): void {
    const src = sources.get(c.checkpointId!)!.source;
    try {
      this.validSteps(c, src);
    } catch (e) {
      if (!(e instanceof DiffusionConfigError)) throw e;
      // Blame the axis whose value alone is invalid on the base settings; else the pair.
      const alone = (a: GridAxisSpec, i: number): boolean => {
        const s = { ...applyAxis(base, a.kind, a.values[i]), checkpointId: a.kind === 'checkpoint' ? String(a.values[i]) : baseId };
        try {
          this.validSteps(s, sources.get(s.checkpointId)!.source);
          return false;
        } catch {
          return true;
        }
      };
      const xv = req.x.values[c.x];
      const yv = req.y.values[c.y];
      const [who, field] = alone(req.x, c.x)
        ? [`X axis (${req.x.kind}) value ${JSON.stringify(xv)}`, 'x.values']
        : alone(req.y, c.y)
          ? [`Y axis (${req.y.kind}) value ${JSON.stringify(yv)}`, 'y.values']
          : [`the cell X ${req.x.kind} = ${JSON.stringify(xv)}, Y ${req.y.kind} = ${JSON.stringify(yv)}`, 'x.values'];
      throw new ApiError('bad_request', `${who} does not work with this model: ${e.message}. Remove it from the axis or change the base settings.`, { field, axisField: e.field });
    }
  }

  /** Validated steps of a setting for a model (throws DiffusionConfigError). */
  private validSteps(c: Omit<CellSettings, 'checkpointId'>, src: CheckpointSource): number {
    resolveGuidanceChecked(src, c);
    const settings = validateSamplerSettings({ name: c.sampler, ...(c.sampler === 'pf-ode' ? {} : { steps: c.steps ?? 20 }), ...c.options }, makeProcess(src.config.schedule), 'sampler');
    return settings.steps ?? 1;
  }

  /** "step 1200" for a run's checkpoint; a model's shows its id. */
  private async checkpointLabels(cks: StoredCheckpoint[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const c of cks) out.set(c.id, c.runId ? `step ${c.step}` : (c.modelId ?? c.id));
    return out;
  }

  private async runJob(spec: GridJobSpec, nCells: number, gridId: string, runId: string | null, onProgress?: (p: JobProgress) => void): Promise<GridResult> {
    const { jobId } = spec;
    const cells: (SampleRecord | undefined)[] = new Array<SampleRecord | undefined>(nCells);
    let grid: SampleRecord | undefined;
    let prog = { done: 0, total: spec.groups.reduce((n, g) => n + g.seeds.length * (g.steps ?? 1), 0) };
    const ids = () => cells.filter((c): c is SampleRecord => !!c).map((c) => c.id);
    const emit = (e: Omit<JobProgress, 'jobId' | 'kind' | 'runId'>) => {
      const full: JobProgress = { jobId, kind: 'sample', ...(runId ? { runId } : {}), ...e };
      onProgress?.(full);
      emitProgress(this.ctx, full);
    };
    const job = this.ctx.jobs.start(
      jobId,
      spec,
      async (msg) => {
        if (msg.type === 'sample-preview') {
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: ids(), previewImage: msg.dataUrl, previewIndex: msg.image });
        } else if (msg.type === 'sample-progress') {
          prog = { done: msg.done, total: msg.total };
          emit({ state: 'running', done: msg.done, total: msg.total, sampleIds: ids() });
        } else if (msg.type === 'sample') {
          try {
            const rec = await this.ctx.store.samples.insert(msg.record);
            await this.ctx.store.samples.tag([rec.id], [gridTag(gridId)], []);
            if (msg.index < 0) grid = rec;
            else cells[msg.index] = rec;
          } catch (e) {
            await fs.rm(this.ctx.library.abs(msg.record.file), { force: true }).catch(() => undefined);
            throw e;
          }
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: ids() });
        }
      },
      runId ? { runId } : {},
      {
        onDiscard: async (msg) => {
          if (msg.type === 'sample') await fs.rm(this.ctx.library.abs(msg.record.file), { force: true }).catch(() => undefined);
        },
      },
    );
    if (job.info.state === 'queued') {
      emit({ state: 'queued', done: 0, total: prog.total, sampleIds: [], message: 'waiting for another sampling job to finish' });
      void job.started.then(() => emit({ state: 'running', done: 0, total: prog.total, sampleIds: [] }));
    }
    const outcome = await job.done;
    const done = cells.filter((c): c is SampleRecord => !!c);
    if (outcome.state === 'failed' || outcome.state === 'interrupted') {
      emit({ state: 'failed', done: prog.done, total: prog.total, sampleIds: ids(), error: { code: 'internal', message: outcome.error?.message ?? 'the grid failed' } });
      const code = outcome.error?.code === 'bad_request' || outcome.error?.code === 'unavailable' ? outcome.error.code : 'internal';
      throw new ApiError(code, `The X/Y grid failed: ${outcome.error?.message ?? 'the job ended early'}`, { samplesWritten: ids() });
    }
    const cancelled = outcome.state === 'cancelled';
    emit({ state: cancelled ? 'cancelled' : 'completed', done: cancelled ? prog.done : prog.total, total: prog.total, sampleIds: [...ids(), ...(grid ? [grid.id] : [])] });
    return { jobId, gridId, ...(grid ? { grid } : {}), cells: done, cancelled };
  }
}

/** resolveGuidance as a DiffusionConfigError (the grid's per-cell blame logic catches those). */
function resolveGuidanceChecked(src: CheckpointSource, c: { class?: string; guidance?: number }): void {
  try {
    resolveGuidance(src.config, { class: c.class, scale: c.guidance });
  } catch (e) {
    const field = ((e as ApiError).details as { field?: unknown } | undefined)?.field;
    throw new DiffusionConfigError(typeof field === 'string' ? field : 'class', (e as Error).message);
  }
}

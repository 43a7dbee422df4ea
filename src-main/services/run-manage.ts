/**
 * Runs as things you manage: their names (a default made from dataset, kind and date; rename),
 * and deletion (db/run-delete.ts keeps the checkpoints gallery images were generated from).
 */
import { adapterFileOf } from '../network/lora-file';
import { promises as fs } from 'node:fs';
import { ApiError } from '../api/errors';
import type { Run, RunDeleteResult } from '../api/types';
import type { ServiceContext } from './context';

/** Statuses with a job alive or a paused job to continue: such a run is cancelled before it is deleted. */
const UNDELETABLE = new Set<Run['status']>(['queued', 'running', 'paused']);

/**
 * A new run's name when none is given: "<dataset> · <preset> · <YYYY-MM-DD>", the preset being
 * what the Train form calls the starting point (Tiny, Small, …) or, from the CLI, "scratch" or
 * "fine-tune".
 */
export function defaultRunName(datasetName: string, preset: string, createdAt: string): string {
  return `${datasetName} · ${preset} · ${createdAt.slice(0, 10)}`.slice(0, 120);
}

export async function renameRun(ctx: ServiceContext, id: string, name: string): Promise<Run> {
  const run = await ctx.store.runs.get(id);
  if (!run || run.deleted) throw new ApiError('not_found', `No run ${id}. List runs with \`sfumato runs list\`.`);
  await ctx.store.runs.rename(id, name);
  return (await ctx.store.runs.get(id))!;
}

/**
 * Deletes a run: rows first (one transaction), then the files whose rows went. A checkpoint a
 * gallery sample (in the trash or not) was generated from stays, row and file, so reproduce and
 * "sample this checkpoint" keep working; the run stays as a tombstone the lists do not show.
 */
export async function deleteRun(ctx: ServiceContext, id: string, hasJob: boolean): Promise<RunDeleteResult> {
  const run = await ctx.store.runs.get(id);
  if (!run || run.deleted) throw new ApiError('not_found', `No run ${id}. List runs with \`sfumato runs list\`.`);
  if (hasJob || UNDELETABLE.has(run.status)) {
    throw new ApiError('conflict', `Run "${run.name}" (${id}) is ${run.status}; cancel it first (\`sfumato runs cancel ${id}\` or Cancel on the Train page), then delete it.`, {
      field: 'id',
    });
  }
  const { kept, files } = await ctx.store.runs.remove(id);
  const notRemoved: { file: string; message: string }[] = [];
  // a LoRA run's checkpoints each have an adapter file beside them (network/lora-file.ts)
  for (const file of files.flatMap((f) => (f.endsWith('.sfwt') ? [f, adapterFileOf(f)] : [f]))) {
    try {
      await fs.rm(ctx.library.abs(file), { force: true });
    } catch (e) {
      notRemoved.push({ file: ctx.library.abs(file), message: (e as Error).message });
    }
  }
  // The run's folder goes when nothing in it is kept (empty folders too; a kept checkpoint keeps it).
  if (!kept.length) await fs.rm(ctx.library.abs(ctx.library.rel('runs', id)), { recursive: true, force: true }).catch(() => undefined);
  return { deleted: true, keptCheckpoints: kept.length, ...(notRemoved.length ? { notRemoved } : {}) };
}

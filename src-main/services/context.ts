/**
 * What every service shares: the library folder, the store, the job manager and the progress
 * events. The composition root (sfumato.ts) builds one and hands it to each service.
 */
import type { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { ApiError } from '../api/errors';
import type { JobProgress, SystemInfo } from '../api/types';
import { readRegularFile } from '../datasets/user-file';
import { DatasetError } from '../datasets/errors';
import type { JobManager } from '../jobs/manager';
import type { Library } from '../db/library';
import type { Store } from '../db/repositories';

export interface ServiceContext {
  readonly library: Library;
  readonly store: Store;
  readonly jobs: JobManager;
  /** 'jobs:progress' events for the app window, the web socket and the CLI */
  readonly events: EventEmitter;
  readonly mode: SystemInfo['mode'];
  /** stops long work of this process that is not a job (a dataset import): the CLI's Ctrl-C */
  readonly signal?: AbortSignal;
}

/**
 * Progress of jobs that record nothing (reproduce, animations): not for the app's job list, but a
 * caller that started one (the CLI) can show it.
 */
export const SCRATCH_PROGRESS = 'jobs:scratch-progress';

/**
 * A run started with evalLikelihoodEvery wrote a checkpoint at such a step: `{ runId, checkpointId }`
 * (runs.ts emits, likelihood.ts measures held-out bits/dim and records it with the run).
 */
export const LIKELIHOOD_AT_CHECKPOINT = 'runs:likelihood-at-checkpoint';

export function emitProgress(ctx: ServiceContext, p: JobProgress): void {
  ctx.events.emit('jobs:progress', p);
}

/**
 * A user-named file read safely: regular files only (a FIFO or device is refused at once instead
 * of blocking), at most `maxBytes`. Errors name the file, say what is wrong and what to do.
 */
export async function readUserFile(file: string, maxBytes: number, field: string): Promise<Buffer> {
  try {
    return await readRegularFile(resolve(file), maxBytes);
  } catch (e) {
    // a missing file is bad input (exit code 2 in the CLI), like every other refusal here
    if (e instanceof DatasetError) throw new ApiError('bad_request', `${file} ${e.message}`, { field, reason: e.code });
    throw e;
  }
}

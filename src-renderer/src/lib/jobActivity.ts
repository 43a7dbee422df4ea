/**
 * What the app-wide job indicator, the title badge, the completion toasts and the desktop
 * notifications make of `jobs:progress` events. Pure (no Vue, no DOM, no api), so the decisions
 * are unit-tested in Node; stores/jobs.ts wires them to the page.
 */
import type { JobProgress, JobState } from '../../../src-main/api/types';

/** Kinds the indicator follows: those whose jobs always end with a final event. */
export type TrackedKind = 'train' | 'sample';

/** A training or sampling job that has not ended yet. */
export interface ActiveJob {
  jobId: string;
  kind: TrackedKind;
  state: 'queued' | 'running';
  /** units done and total; done < 0 or total <= 0: not known yet */
  done: number;
  total: number;
  runId?: string;
  message?: string;
  /** when the app first saw the job (ms since the epoch) */
  since: number;
}

/** A job's final event, with what the app knew about it before. */
export interface EndedJob {
  jobId: string;
  kind: TrackedKind;
  state: Exclude<JobState, 'queued' | 'running'>;
  runId?: string;
  done: number;
  total: number;
  /** how long the app saw it run (ms); 0 when only the end was seen */
  ranMs: number;
  message?: string;
  error?: string;
  sampleIds?: string[];
}

/** A job longer than this is a "long job": worth a desktop notification and the permission ask. */
export const LONG_JOB_MS = 10_000;

export function isTracked(p: JobProgress): p is JobProgress & { kind: TrackedKind } {
  // Time estimates run a few training steps under the pseudo run id `estimate`: not a job to show.
  return (p.kind === 'train' || p.kind === 'sample') && p.runId !== 'estimate';
}

export function isFinal(state: JobState): state is EndedJob['state'] {
  return state !== 'queued' && state !== 'running';
}

/**
 * Fold one event into the map of active jobs (mutated). Returns the ended job when this event is
 * a job's last one. Log lines (done = -1) keep the last known count.
 */
export function applyProgress(jobs: Map<string, ActiveJob>, p: JobProgress, now: number): EndedJob | null {
  if (!isTracked(p)) return null;
  const prev = jobs.get(p.jobId);
  if (isFinal(p.state)) {
    jobs.delete(p.jobId);
    return {
      jobId: p.jobId,
      kind: p.kind,
      state: p.state,
      runId: p.runId ?? prev?.runId,
      done: p.done >= 0 ? p.done : (prev?.done ?? 0),
      total: p.total > 0 ? p.total : (prev?.total ?? 0),
      ranMs: prev ? now - prev.since : 0,
      message: p.message,
      error: p.error?.message,
      sampleIds: p.sampleIds,
    };
  }
  jobs.set(p.jobId, {
    jobId: p.jobId,
    kind: p.kind,
    state: p.state as ActiveJob['state'],
    done: p.done >= 0 ? p.done : (prev?.done ?? -1),
    total: p.total > 0 ? p.total : (prev?.total ?? 0),
    runId: p.runId ?? prev?.runId,
    message: p.message ?? prev?.message,
    since: prev?.since ?? now,
  });
  return null;
}

/** Whole percent done, or null while it is not known (queued, loading the model). */
export function jobPercent(job: Pick<ActiveJob, 'state' | 'done' | 'total'>): number | null {
  if (job.state !== 'running' || !(job.total > 0) || !(job.done >= 0)) return null;
  return Math.min(100, Math.floor((100 * job.done) / job.total));
}

/** "Training run_ab12" / "Sampling" — what the indicator calls a job. */
export function jobLabel(job: Pick<ActiveJob, 'kind' | 'runId'>): string {
  if (job.kind === 'train') return job.runId ? `Training ${job.runId}` : 'Training';
  return 'Sampling';
}

/** The job the title and the rail summary speak for: a running training job first, then any running, then queued. */
export function leadJob(jobs: readonly ActiveJob[]): ActiveJob | null {
  return jobs.find((j) => j.state === 'running' && j.kind === 'train') ?? jobs.find((j) => j.state === 'running') ?? jobs[0] ?? null;
}

/** Set while the window was away when a job ended; cleared when the user comes back. */
export type TitleBadge = 'done' | 'failed' | null;

/**
 * The window title: `(42%) Sfumato` while a job runs, `(queued) Sfumato` while one waits,
 * `✓ Sfumato` (or `⚠ Sfumato` after a failure) for a job that ended while the user was away.
 */
export function titleFor(jobs: readonly ActiveJob[], badge: TitleBadge, base: string): string {
  const mark = badge === 'done' ? '✓ ' : badge === 'failed' ? '⚠ ' : '';
  const lead = leadJob(jobs);
  if (!lead) return `${mark}${base}`;
  const pct = jobPercent(lead);
  const progress = lead.state === 'queued' ? '(queued)' : pct === null ? '(…)' : `(${pct}%)`;
  return `${mark}${progress} ${base}`;
}

/** What the user hears about an ended job: the toast (with its action) and the desktop notification. */
export interface EndNotice {
  kind: 'ok' | 'error' | 'info';
  /** toast text */
  text: string;
  action?: 'sample-run' | 'open-gallery' | 'open-run';
  /** desktop notification title and body */
  title: string;
  body: string;
  badge: TitleBadge;
}

/** `: why.` with the closing full stop the message may lack, or `.` without a message. */
function because(error: string | undefined): string {
  if (!error) return '.';
  const t = error.trim();
  return `: ${t}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** null: nothing to say (a sampling job the user cancelled, an unknown state). */
export function endNotice(e: EndedJob): EndNotice | null {
  if (e.kind === 'train') {
    const run = e.runId ?? 'the run';
    if (e.state === 'completed') {
      // A paused run also ends its job "completed"; the service says so in the message.
      if (e.message?.startsWith('paused')) {
        return { kind: 'info', text: `Training ${run} ${e.message}. Resume it on the Train page.`, action: 'open-run', title: 'Training paused', body: `${run} ${e.message}.`, badge: null };
      }
      return {
        kind: 'ok',
        text: `Training ${run} finished (${e.done} steps).`,
        action: 'sample-run',
        title: 'Training finished',
        body: `${run} finished ${e.done} steps. Open Sfumato to sample it.`,
        badge: 'done',
      };
    }
    if (e.state === 'cancelled') return { kind: 'info', text: `Training ${run} was cancelled at step ${e.done}.`, action: 'open-run', title: 'Training cancelled', body: `${run} stopped at step ${e.done}.`, badge: null };
    const why = because(e.error);
    const verb = e.state === 'interrupted' ? 'was interrupted' : 'failed';
    return {
      kind: 'error',
      text: `Training ${run} ${verb} at step ${e.done}${why} Open the run on the Train page to see its log${e.state === 'interrupted' ? ' or resume it' : ''}.`,
      action: 'open-run',
      title: `Training ${verb}`,
      body: `${run} ${verb} at step ${e.done}${why}`,
      badge: 'failed',
    };
  }
  const n = e.sampleIds?.length ?? 0;
  const images = `${n} image${n === 1 ? '' : 's'}`;
  if (e.state === 'completed') {
    return { kind: 'ok', text: `Sampling finished: ${images} in the gallery.`, action: 'open-gallery', title: 'Sampling finished', body: `${images} ready in the gallery.`, badge: 'done' };
  }
  if (e.state === 'cancelled') return null;
  const saved = n ? ` The ${images} made before it stopped are in the gallery.` : '';
  return {
    kind: 'error',
    text: `Sampling failed${because(e.error)}${saved} Try again on the Sample page.`,
    title: 'Sampling failed',
    body: e.error ?? 'The sampling job ended early.',
    badge: 'failed',
  };
}

/** Training is always a long job; sampling once it has run past LONG_JOB_MS. */
export function isLongJob(job: { kind: TrackedKind; since?: number; ranMs?: number }, now: number): boolean {
  if (job.kind === 'train') return true;
  const ran = job.ranMs ?? (job.since !== undefined ? now - job.since : 0);
  return ran >= LONG_JOB_MS;
}

/** A desktop notification for an ended job: only for long jobs, only while the user is elsewhere, only with permission. */
export function shouldNotify(o: { long: boolean; away: boolean; permission: string | undefined }): boolean {
  return o.long && o.away && o.permission === 'granted';
}

/**
 * Whether to offer the browser's notification permission now. Web mode only (the desktop app
 * grants it to itself), never on page load (only for a long job), never again once the browser
 * said no (`declined`, kept in localStorage), at most once per page session.
 */
export function shouldAskPermission(o: { transport: 'ipc' | 'web'; permission: string | undefined; declined: boolean; askedThisSession: boolean; longJob: boolean }): boolean {
  return o.transport === 'web' && o.permission === 'default' && !o.declined && !o.askedThisSession && o.longJob;
}

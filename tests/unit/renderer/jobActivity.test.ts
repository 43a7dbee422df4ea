/**
 * The decisions behind the nav rail's job indicator, the title badge, the completion toasts and the
 * desktop notifications (src-renderer/src/lib/jobActivity.ts): pure functions over real
 * `jobs:progress` event shapes.
 */
import { describe, expect, it } from 'vitest';
import {
  applyProgress,
  endNotice,
  isLongJob,
  jobPercent,
  LONG_JOB_MS,
  shouldAskPermission,
  shouldNotify,
  titleFor,
  type ActiveJob,
} from '../../../src-renderer/src/lib/jobActivity';
import type { JobProgress } from '../../../src-main/api/types';

const train = (over: Partial<JobProgress>): JobProgress => ({ jobId: 'job_t', kind: 'train', state: 'running', done: 0, total: 40, runId: 'run_a', ...over });
const sample = (over: Partial<JobProgress>): JobProgress => ({ jobId: 'job_s', kind: 'sample', state: 'running', done: 0, total: 80, runId: 'run_a', ...over });

describe('following jobs from progress events', () => {
  it('tracks a training job from queued through running to its end, keeping counts across log lines', () => {
    const jobs = new Map<string, ActiveJob>();
    expect(applyProgress(jobs, train({ state: 'queued', message: 'waiting for another training job to finish' }), 1000)).toBeNull();
    expect(jobs.get('job_t')).toMatchObject({ state: 'queued', since: 1000 });
    applyProgress(jobs, train({ done: 10 }), 2000);
    applyProgress(jobs, train({ done: -1, message: 'training on wasm' }), 2500);
    expect(jobs.get('job_t')).toMatchObject({ state: 'running', done: 10, total: 40, since: 1000 });
    expect(jobPercent(jobs.get('job_t')!)).toBe(25);
    const ended = applyProgress(jobs, train({ state: 'completed', done: 40 }), 31_000);
    expect(jobs.size).toBe(0);
    expect(ended).toMatchObject({ kind: 'train', state: 'completed', runId: 'run_a', done: 40, ranMs: 30_000 });
  });

  it('ignores time estimates, imports and exports (exports send no final event)', () => {
    const jobs = new Map<string, ActiveJob>();
    applyProgress(jobs, train({ runId: 'estimate' }), 0);
    applyProgress(jobs, { jobId: 'job_e', kind: 'export', state: 'running', done: 1, total: 4 }, 0);
    applyProgress(jobs, { jobId: 'job_i', kind: 'import', state: 'running', done: 1, total: 4 }, 0);
    expect(jobs.size).toBe(0);
  });

  it('a final event for a job never seen running still ends it (a page opened mid-job)', () => {
    const ended = applyProgress(new Map(), train({ state: 'failed', done: -1, error: { code: 'internal', message: 'out of memory' } }), 5);
    expect(ended).toMatchObject({ state: 'failed', done: 0, ranMs: 0, error: 'out of memory' });
  });
});

describe('the window title', () => {
  const running = (done: number, total = 40, kind: 'train' | 'sample' = 'train'): ActiveJob => ({ jobId: `j${kind}`, kind, state: 'running', done, total, since: 0 });
  it('shows the running job’s percent, a queued job, and the badge after a job ended while away', () => {
    expect(titleFor([], null, 'Sfumato')).toBe('Sfumato');
    expect(titleFor([running(17)], null, 'Sfumato')).toBe('(42%) Sfumato');
    expect(titleFor([{ ...running(0), state: 'queued' }], null, 'Sfumato')).toBe('(queued) Sfumato');
    expect(titleFor([running(-1, 0)], null, 'Sfumato')).toBe('(…) Sfumato');
    expect(titleFor([], 'done', 'Sfumato')).toBe('✓ Sfumato');
    expect(titleFor([], 'failed', 'Sfumato')).toBe('⚠ Sfumato');
    expect(titleFor([running(5, 10, 'sample'), running(30)], 'done', 'Sfumato')).toBe('✓ (75%) Sfumato'); // training speaks first
  });
});

describe('what an ended job says', () => {
  it('a finished training run offers "Sample this run" and sets the ✓ badge', () => {
    const n = endNotice({ jobId: 'j', kind: 'train', state: 'completed', runId: 'run_a', done: 40, total: 40, ranMs: 20_000 });
    expect(n).toMatchObject({ kind: 'ok', action: 'sample-run', badge: 'done', title: 'Training finished' });
    expect(n!.text).toContain('run_a');
  });
  it('a paused run is not "finished"', () => {
    const n = endNotice({ jobId: 'j', kind: 'train', state: 'completed', runId: 'run_a', done: 12, total: 40, ranMs: 1, message: 'paused at step 12' });
    expect(n).toMatchObject({ kind: 'info', action: 'open-run', badge: null });
    expect(n!.text).toBe('Training run_a paused at step 12. Resume it on the Train page.');
  });
  it('a failed run names the run, the step and the cause, and says where to look', () => {
    const n = endNotice({ jobId: 'j', kind: 'train', state: 'failed', runId: 'run_a', done: 7, total: 40, ranMs: 1, error: 'The disk is full' });
    expect(n!.text).toBe('Training run_a failed at step 7: The disk is full. Open the run on the Train page to see its log.');
    expect(n).toMatchObject({ kind: 'error', badge: 'failed', action: 'open-run' });
  });
  it('finished sampling offers "Open in gallery"; a cancelled one says nothing', () => {
    const n = endNotice({ jobId: 'j', kind: 'sample', state: 'completed', runId: 'run_a', done: 80, total: 80, ranMs: 1, sampleIds: ['smp_1', 'smp_2', 'smp_3', 'smp_4'] });
    expect(n).toMatchObject({ kind: 'ok', action: 'open-gallery', text: 'Sampling finished: 4 images in the gallery.' });
    expect(endNotice({ jobId: 'j', kind: 'sample', state: 'cancelled', done: 3, total: 80, ranMs: 1 })).toBeNull();
  });
});

describe('desktop notifications and the permission ask', () => {
  it('training is always a long job; sampling after LONG_JOB_MS', () => {
    expect(isLongJob({ kind: 'train', ranMs: 0 }, 0)).toBe(true);
    expect(isLongJob({ kind: 'sample', ranMs: LONG_JOB_MS - 1 }, 0)).toBe(false);
    expect(isLongJob({ kind: 'sample', ranMs: LONG_JOB_MS }, 0)).toBe(true);
    expect(isLongJob({ kind: 'sample', since: 1000 }, 1000 + LONG_JOB_MS)).toBe(true);
  });
  it('notifies only for a long job, while the user is elsewhere, with permission', () => {
    expect(shouldNotify({ long: true, away: true, permission: 'granted' })).toBe(true);
    expect(shouldNotify({ long: true, away: false, permission: 'granted' })).toBe(false);
    expect(shouldNotify({ long: false, away: true, permission: 'granted' })).toBe(false);
    expect(shouldNotify({ long: true, away: true, permission: 'default' })).toBe(false);
    expect(shouldNotify({ long: true, away: true, permission: undefined })).toBe(false);
  });
  it('asks in web mode on a long job only, once a session, never after a "no"', () => {
    const base = { transport: 'web' as const, permission: 'default', declined: false, askedThisSession: false, longJob: true };
    expect(shouldAskPermission(base)).toBe(true);
    expect(shouldAskPermission({ ...base, longJob: false })).toBe(false);
    expect(shouldAskPermission({ ...base, declined: true })).toBe(false);
    expect(shouldAskPermission({ ...base, askedThisSession: true })).toBe(false);
    expect(shouldAskPermission({ ...base, permission: 'denied' })).toBe(false);
    expect(shouldAskPermission({ ...base, permission: 'granted' })).toBe(false);
    expect(shouldAskPermission({ ...base, transport: 'ipc' })).toBe(false);
  });
});

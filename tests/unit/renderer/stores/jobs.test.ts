/**
 * The app-wide jobs store (src-renderer/src/stores/jobs.ts): jobs already running when the page
 * opens, the window title, the toast when a job ends (not on the page that already shows it), the
 * "done while you were away" badge, and the periodic check that drops jobs whose final event was missed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Pinia } from 'pinia';
import { nextTick } from 'vue';
import { fake } from '../helpers/fake-api';
import { disposePinia, freshPinia } from '../helpers/pinia';
import { useJobsStore } from '../../../../src-renderer/src/stores/jobs';
import { useNavStore } from '../../../../src-renderer/src/stores/nav';
import { useSampleStore } from '../../../../src-renderer/src/stores/sample';
import { useUiStore } from '../../../../src-renderer/src/stores/ui';
import type { JobInfo, JobProgress } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const trainEvent = (over: Partial<JobProgress>): JobProgress => ({ jobId: 'job_t', kind: 'train', state: 'running', done: 0, total: 300, runId: 'run_a', ...over });
const info = (id: string, kind: JobInfo['kind'], state: JobInfo['state'], runId?: string): JobInfo => ({ id, kind, state, runId, startedAt: '2026-03-01T10:00:00.000Z' });

let pinia: Pinia;
beforeEach(() => {
  fake.reset();
  document.title = 'Sfumato';
  location.hash = '#/home';
  pinia = freshPinia();
  fake.on('jobs:list', () => ({ jobs: [] }));
});
afterEach(() => {
  disposePinia(pinia);
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('jobs store', () => {
  it('shows training and sampling jobs already running when the page opens (not estimates or exports)', async () => {
    fake.on('jobs:list', () => ({
      jobs: [info('t', 'train', 'running', 'run_a'), info('s', 'sample', 'queued'), info('e', 'export', 'running'), info('est', 'train', 'running', 'estimate')],
    }));
    const jobs = useJobsStore();
    await flush();
    expect(jobs.jobs.map((j) => [j.jobId, j.state])).toEqual([
      ['t', 'running'],
      ['s', 'queued'],
    ]);
  });

  it('puts the leading job’s progress in the window title, and takes it away when the job ends', async () => {
    const jobs = useJobsStore();
    fake.emit(trainEvent({ done: 75 }));
    await nextTick();
    expect(jobs.jobs).toHaveLength(1);
    expect(document.title).toBe('(25%) Sfumato');
    fake.emit(trainEvent({ state: 'completed', done: 300 }));
    await nextTick();
    expect(jobs.jobs).toEqual([]);
    expect(document.title).toBe('Sfumato');
  });

  it('a training run that ends on another page gets a toast whose action opens it on the Sample page', async () => {
    useJobsStore();
    const ui = useUiStore();
    fake.emit(trainEvent({ done: 10 }));
    fake.emit(trainEvent({ state: 'completed', done: 300 }));
    expect(ui.toasts).toHaveLength(1);
    const [toast] = ui.toasts;
    expect(toast).toMatchObject({ kind: 'ok', text: 'Training run_a finished (300 steps).', action: { label: 'Sample this run' } });
    await toast.action!.run();
    expect(useNavStore().page).toBe('sample');
    expect(useSampleStore().form.source).toBe('run:run_a');
  });

  it('no toast for a sampling job that ends on the Sample page while the user is there', async () => {
    vi.spyOn(document, 'hasFocus').mockReturnValue(true);
    useNavStore().go('sample');
    useJobsStore();
    fake.emit({ jobId: 'js', kind: 'sample', state: 'running', done: 1, total: 8 });
    fake.emit({ jobId: 'js', kind: 'sample', state: 'completed', done: 8, total: 8, sampleIds: ['a', 'b'] });
    expect(useUiStore().toasts).toEqual([]);
  });

  it('a job that ends while the window is away marks the title until the user comes back', async () => {
    const focus = vi.spyOn(document, 'hasFocus').mockReturnValue(false);
    const jobs = useJobsStore();
    fake.emit(trainEvent({ done: 10 }));
    fake.emit(trainEvent({ state: 'failed', done: 12, error: { code: 'internal', message: 'out of memory' } }));
    await nextTick();
    expect(jobs.badge).toBe('failed');
    expect(document.title).toBe('⚠ Sfumato');
    expect(useUiStore().toasts[0].text).toBe('Training run_a failed at step 12: out of memory. Open the run on the Train page to see its log.');
    focus.mockReturnValue(true);
    window.dispatchEvent(new Event('focus'));
    await nextTick();
    expect(jobs.badge).toBeNull();
    expect(document.title).toBe('Sfumato');
  });

  it('a job announced while the list of jobs is being fetched stays shown (the list predates it)', async () => {
    let answer!: () => void;
    fake.on('jobs:list', () => new Promise((r) => (answer = () => r({ jobs: [] }))));
    const jobs = useJobsStore();
    // a queued job sends one event, then nothing until it starts
    fake.emit(trainEvent({ jobId: 'job_q', state: 'queued', done: 0, message: 'waiting for another training job to finish' }));
    answer();
    await flush();
    expect(jobs.jobs.map((j) => [j.jobId, j.state])).toEqual([['job_q', 'queued']]);
  });

  it('drops a job whose final event was missed, at the next check with the service', async () => {
    vi.useFakeTimers();
    let live = [info('job_t', 'train', 'running', 'run_a')];
    fake.on('jobs:list', () => ({ jobs: live }));
    const jobs = useJobsStore();
    fake.emit(trainEvent({ done: 10 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(jobs.jobs).toHaveLength(1);
    live = [];
    await vi.advanceTimersByTimeAsync(15_000);
    expect(jobs.jobs).toEqual([]);
  });
});

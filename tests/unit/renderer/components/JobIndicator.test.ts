/** The nav rail's job indicator (src-renderer/src/components/JobIndicator.vue) fed by real progress events. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import type { Pinia } from 'pinia';
import JobIndicator from '../../../../src-renderer/src/components/JobIndicator.vue';
import { useNavStore } from '../../../../src-renderer/src/stores/nav';
import { useRunsStore } from '../../../../src-renderer/src/stores/runs';
import { fake } from '../helpers/fake-api';
import { runDetail } from '../helpers/fixtures';
import { disposePinia, freshPinia } from '../helpers/pinia';
import type { JobProgress } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const train = (jobId: string, runId: string, over: Partial<JobProgress> = {}): JobProgress => ({ jobId, kind: 'train', state: 'running', done: 0, total: 200, runId, ...over });

let pinia: Pinia;
let wrapper: VueWrapper | undefined;
beforeEach(() => {
  fake.reset();
  fake.on('jobs:list', () => ({ jobs: [] }));
  pinia = freshPinia();
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
  disposePinia(pinia);
});

async function indicator() {
  wrapper = mount(JobIndicator, { global: { plugins: [pinia] } });
  await flush();
  return wrapper;
}
const rows = (w: VueWrapper) => w.findAll('[data-testid="job-item"]');

describe('job indicator', () => {
  it('shows nothing while no job runs', async () => {
    const w = await indicator();
    expect(w.find('[data-testid="job-indicator"]').exists()).toBe(false);
  });

  it('lists running and queued jobs with their progress, and says what a queued one waits for', async () => {
    const w = await indicator();
    fake.emit(train('j1', 'run_a', { done: 50 }));
    fake.emit(train('j2', 'run_b', { state: 'queued', message: 'waiting for run_a to finish' }));
    fake.emit({ jobId: 's1', kind: 'sample', state: 'running', done: -1, total: 0 });
    await flush();
    expect(w.get('[data-testid="job-summary"]').text()).toBe('Jobs · 2 running · 1 queued');
    const [a, b, s] = rows(w);
    expect(a.text()).toContain('Training run_a');
    expect(a.get('[data-testid="job-status"]').text()).toBe('25%');
    expect(a.attributes('title')).toBe('Training run_a — 25% — step 50 of 200');
    expect(a.get('progress').attributes('value')).toBe('25');
    expect(b.get('[data-testid="job-status"]').text()).toBe('queued');
    expect(b.attributes('title')).toBe('Training run_b — queued — waiting for run_a to finish');
    expect(s.get('[data-testid="job-status"]').text()).toBe('starting');
    expect(s.get('progress').attributes()).not.toHaveProperty('value'); // indeterminate
  });

  it('shows three jobs and counts the rest', async () => {
    const w = await indicator();
    for (let i = 0; i < 5; i++) fake.emit({ jobId: `s${i}`, kind: 'sample', state: 'running', done: 1, total: 10 });
    await flush();
    expect(rows(w)).toHaveLength(3);
    expect(w.text()).toContain('and 2 more');
  });

  it('a job disappears when it ends', async () => {
    const w = await indicator();
    fake.emit(train('j1', 'run_a', { done: 10 }));
    await flush();
    expect(rows(w)).toHaveLength(1);
    fake.emit(train('j1', 'run_a', { state: 'completed', done: 200 }));
    await flush();
    expect(w.find('[data-testid="job-indicator"]').exists()).toBe(false);
  });

  it('clicking a training job opens its run on the Train page', async () => {
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const w = await indicator();
    fake.emit(train('j1', 'run_a', { done: 10 }));
    await flush();
    await rows(w)[0].trigger('click');
    await flush();
    expect(useNavStore().page).toBe('train');
    expect(useRunsStore().selectedId).toBe('run_a');
  });
});

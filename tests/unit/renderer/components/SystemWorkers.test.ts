/** The System page's Workers panel (src-renderer/src/pages/SystemPage.vue): shown only for a server with a queue. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import type { Pinia } from 'pinia';
import SystemPage from '../../../../src-renderer/src/pages/SystemPage.vue';
import type { SystemInfo } from '../../../../src-main/api/types';
import { fake } from '../helpers/fake-api';
import { disposePinia, freshPinia } from '../helpers/pinia';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const base: SystemInfo = {
  appVersion: '0.1.0',
  mode: 'web',
  libraryPath: '/lib',
  demoDatasetDir: null,
  versions: {},
  backend: { active: 'onnxruntime', unavailable: {} },
};

let pinia: Pinia;
let wrapper: VueWrapper | undefined;
beforeEach(() => {
  fake.reset();
  fake.on('models:list', () => ({ models: [], imported: [] }));
  fake.on('jobs:list', () => ({ jobs: [] }));
  pinia = freshPinia();
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
  disposePinia(pinia);
});

async function page(info: SystemInfo) {
  fake.on('system:info', () => info);
  wrapper = mount(SystemPage, { global: { plugins: [pinia] } });
  await flush();
  await flush();
  return wrapper;
}

describe('System page: workers', () => {
  it('has no Workers panel without a queue', async () => {
    const w = await page(base);
    expect(w.find('[data-testid="workers"]').exists()).toBe(false);
  });

  it('lists each worker with host, providers, load and jobs', async () => {
    const w = await page({
      ...base,
      queue: {
        url: 'redis://127.0.0.1:6379',
        workers: [
          { id: 'gpu-box', host: 'gpu-box', pid: 42, providers: ['onnxruntime', 'cuda'], concurrency: 2, running: ['job_a'], load: 1.5, lastSeen: new Date().toISOString() },
          { id: 'laptop', host: 'laptop', pid: 7, providers: [], concurrency: 1, running: [], load: 0.25, lastSeen: new Date().toISOString() },
        ],
      },
    });
    const panel = w.get('[data-testid="workers"]');
    expect(panel.text()).toContain('redis://127.0.0.1:6379');
    const rows = panel.findAll('tbody tr').map((r) => r.findAll('td').map((c) => c.text()));
    expect(rows).toEqual([
      ['gpu-box', 'gpu-box', 'onnxruntime, cuda', '1.50', '1 / 2'],
      ['laptop', 'laptop', '—', '0.25', '0 / 1'],
    ]);
  });

  it('says how to start a worker when none checked in', async () => {
    const w = await page({ ...base, queue: { url: 'redis://10.0.0.5:6379', workers: [] } });
    expect(w.get('[data-testid="workers"]').text()).toContain('sfumato worker --server URL --token T --queue redis://10.0.0.5:6379');
  });
});

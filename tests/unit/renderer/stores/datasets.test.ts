/** The Datasets page's store (src-renderer/src/stores/datasets.ts) against a fake api. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { fake } from '../helpers/fake-api';
import { useDatasetsStore } from '../../../../src-renderer/src/stores/datasets';
import type { Dataset, DatasetDetail } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const dataset = (id: string): Dataset => ({ id, name: id, sourceDir: `/pics/${id}`, imageSize: 32, background: '#ffffff', itemCount: 3, errorCount: 0, createdAt: '2026-03-01T10:00:00Z' });
const detail = (id: string): DatasetDetail => ({ ...dataset(id), items: [], errors: [] });

beforeEach(() => {
  fake.reset();
  setActivePinia(createPinia());
});

describe('datasets store', () => {
  it('asks for a folder before importing or previewing', async () => {
    const d = useDatasetsStore();
    d.dir = '   ';
    await d.importFolder();
    await d.previewFolder();
    expect(d.importError).toBe('Type the path of a folder of images first.');
    expect(d.previewError).toBe('Type the path of a folder of images first.');
    expect(fake.calls).toEqual([]);
  });

  it('imports with the chosen settings, shows progress meanwhile, then lists and selects the new dataset', async () => {
    let finish!: () => void;
    fake.on('datasets:import', () => new Promise((r) => (finish = () => r({ dataset: dataset('ds_new'), imported: 3, errors: [{ file: 'x.txt', code: 'unsupported', message: 'not an image' }], duplicates: [] }))));
    fake.on('datasets:list', () => ({ datasets: [dataset('ds_new')] }));
    fake.on('datasets:get', ({ id }) => ({ dataset: detail(id) }));
    const d = useDatasetsStore();
    d.dir = ' /pics/cats ';
    d.imageSize = 16;
    d.crop = 'fit';
    const pending = d.importFolder();
    fake.emit({ jobId: 'imp', kind: 'import', state: 'running', done: 1, total: 3 });
    expect(d.progress).toMatchObject({ done: 1, total: 3 });
    finish();
    await pending;
    expect(fake.requests('datasets:import')).toEqual([{ dir: '/pics/cats', imageSize: 16, crop: 'fit', background: '#ffffff' }]);
    expect(d.lastImport).toMatchObject({ datasetId: 'ds_new', imported: 3 });
    expect(d.datasets.map((x) => x.id)).toEqual(['ds_new']);
    expect(d.selected?.id).toBe('ds_new');
    expect(d.importing).toBe(false);
    expect(d.progress).toBeNull();
  });

  it('a preview with no readable image says so', async () => {
    fake.on('datasets:preview', () => ({ items: [] }));
    const d = useDatasetsStore();
    d.dir = '/empty';
    await d.previewFolder();
    expect(fake.requests('datasets:preview')[0]).toMatchObject({ dir: '/empty', count: 4 });
    expect(d.previewError).toBe('No readable images found in that folder.');
  });

  it('removing the selected dataset clears the selection; a failure shows the message', async () => {
    fake.on('datasets:get', ({ id }) => ({ dataset: detail(id) }));
    fake.on('datasets:remove', () => ({ removed: true }) as never);
    fake.on('datasets:list', () => ({ datasets: [] }));
    const d = useDatasetsStore();
    await d.select('ds_a');
    expect(d.selected?.id).toBe('ds_a');
    await d.remove('ds_a');
    expect(d.selectedId).toBeNull();
    expect(d.selected).toBeNull();
    fake.on('datasets:remove', () => {
      throw new Error('Dataset ds_b is used by a running training job; cancel it first.');
    });
    await d.remove('ds_b');
    expect(d.listError).toMatch(/running training job/);
    await flush();
  });

  it('an answer for a dataset no longer selected is not shown', async () => {
    let slowDone!: () => void;
    fake.on('datasets:get', ({ id }) => (id === 'slow' ? new Promise((r) => (slowDone = () => r({ dataset: detail('slow') }))) : { dataset: detail(id) }));
    const d = useDatasetsStore();
    const first = d.select('slow');
    await d.select('fast');
    slowDone();
    await first;
    expect(d.selected?.id).toBe('fast');
  });
});

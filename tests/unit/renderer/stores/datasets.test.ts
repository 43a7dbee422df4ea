/** The Datasets page's store (src-renderer/src/stores/datasets.ts) against a fake api. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { fake } from '../helpers/fake-api';
import { useDatasetsStore } from '../../../../src-renderer/src/stores/datasets';
import type { Dataset, DatasetDetail } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const dataset = (id: string): Dataset => ({ id, name: id, sourceDir: `/pics/${id}`, imageSize: 32, background: '#ffffff', itemCount: 3, excludedCount: 0, contentHash: 'h0', captionCount: 0, errorCount: 0, createdAt: '2026-03-01T10:00:00Z', labels: 'none', classes: [] });
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
    fake.on('datasets:import', () => new Promise((r) => (finish = () => r({ dataset: dataset('ds_new'), imported: 3, errors: [{ file: 'x.txt', code: 'unsupported', message: 'not an image' }], duplicates: [], captionFiles: 0, ignoredFiles: 0, classes: [] }))));
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
    expect(fake.requests('datasets:import')).toEqual([{ dir: '/pics/cats', imageSize: 16, crop: 'fit', background: '#ffffff', labels: 'none' }]);
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

  it('excludes an image and takes it back: the detail and the list follow the answer', async () => {
    const item = { id: 'item_1', datasetId: 'ds_a', index: 0, file: 'a.png', format: 'png', width: 8, height: 8, sha256: 'x', thumb: 't.png', excluded: false, class: null };
    fake.on('datasets:list', () => ({ datasets: [dataset('ds_a')] }));
    fake.on('datasets:get', () => ({ dataset: { ...detail('ds_a'), items: [item] } }));
    fake.on('datasets:exclude', ({ excluded }) => ({ dataset: { ...dataset('ds_a'), itemCount: excluded ? 2 : 3, excludedCount: excluded ? 1 : 0 } }));
    const d = useDatasetsStore();
    await d.refresh();
    await d.select('ds_a');
    await d.toggleExcluded('item_1');
    expect(fake.requests('datasets:exclude')).toEqual([{ id: 'ds_a', itemIds: ['item_1'], excluded: true }]);
    expect(d.selected?.items[0].excluded).toBe(true);
    expect(d.selected?.itemCount).toBe(2);
    expect(d.datasets[0].excludedCount).toBe(1);
    await d.toggleExcluded('item_1');
    expect(fake.requests('datasets:exclude')[1]).toEqual({ id: 'ds_a', itemIds: ['item_1'], excluded: false });
    expect(d.selected?.items[0].excluded).toBe(false);
  });

  it('renames the selected dataset, and shows a refused name', async () => {
    fake.on('datasets:list', () => ({ datasets: [dataset('ds_a')] }));
    fake.on('datasets:get', ({ id }) => ({ dataset: detail(id) }));
    fake.on('datasets:rename', ({ name }) => ({ dataset: { ...dataset('ds_a'), name } }));
    const d = useDatasetsStore();
    await d.refresh();
    await d.select('ds_a');
    expect(await d.rename('Cats')).toBe(true);
    expect(d.selected?.name).toBe('Cats');
    expect(d.datasets[0].name).toBe('Cats');
  });

  it('browses folders (web mode) and uses the chosen one as the import folder', async () => {
    fake.on('folders:list', ({ path }) => ({ path: path ?? '/home/me', parent: path ? '/home/me' : null, imageCount: 0, folders: [{ name: 'pics', path: '/home/me/pics', imageCount: 4 }], roots: ['/home/me'], truncated: false }));
    const d = useDatasetsStore();
    await d.browse();
    expect(d.folder?.path).toBe('/home/me');
    await d.browse('/home/me/pics');
    d.chooseFolder();
    expect(d.dir).toBe('/home/me/pics');
    expect(d.browsing).toBe(false);
  });

  it('loads the prepared images page by page, once per page', async () => {
    fake.on('datasets:get', ({ id }) => ({ dataset: detail(id) }));
    fake.on('datasets:images', ({ offset }) => ({ size: 32, images: [{ itemId: 'item_1', index: offset, src: 'data:image/png;base64,AA' }] }));
    const d = useDatasetsStore();
    await d.select('ds_a');
    await d.loadImagesAround(3);
    await d.loadImagesAround(5);
    await d.loadImagesAround(130);
    expect(fake.requests('datasets:images')).toEqual([
      { id: 'ds_a', offset: 0, limit: 128 },
      { id: 'ds_a', offset: 128, limit: 128 },
    ]);
    expect(d.trainingImages.get(128)).toBe('data:image/png;base64,AA');
  });
});

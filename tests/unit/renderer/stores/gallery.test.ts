/**
 * The gallery's store (src-renderer/src/stores/gallery.ts) against a fake `gallery:*` service that
 * holds records in memory: filters become queries, pages load as the grid asks for them and stale
 * answers are dropped, favourites follow edits, and emptying the trash says which files stayed.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { fake } from '../helpers/fake-api';
import { sampleRecord } from '../helpers/fixtures';
import { PAGE_SIZE, useGalleryStore } from '../../../../src-renderer/src/stores/gallery';
import type { GalleryQuery } from '../../../../src-main/api/requests';
import type { SampleRecord } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

/** An in-memory gallery: `n` records, every 3rd a favourite. */
function serve(n: number): { records: SampleRecord[]; favorites: Set<string> } {
  const records = Array.from({ length: n }, (_, i) => sampleRecord(`s${i}`, { seed: i }));
  const favorites = new Set(records.filter((_, i) => i % 3 === 0).map((r) => r.id));
  fake.on('gallery:query', (q: GalleryQuery) => {
    const rows = q.favorite ? records.filter((r) => favorites.has(r.id)) : records;
    const page = rows.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? 200));
    return { samples: page, total: rows.length, favorites: page.filter((r) => favorites.has(r.id)).map((r) => r.id) };
  });
  fake.on('gallery:meta', ({ id }) => ({ meta: { favorite: favorites.has(id), tags: [], collections: [], deletedAt: null } }));
  fake.on('gallery:update', ({ ids, favorite }) => {
    for (const id of ids) favorite ? favorites.add(id) : favorites.delete(id);
    return { updated: ids.length };
  });
  return { records, favorites };
}

beforeEach(() => {
  fake.reset();
  setActivePinia(createPinia());
});

describe('gallery store: queries and pages', () => {
  it('turns the filters into a query, leaving out empty ones and bad step counts', async () => {
    serve(3);
    const g = useGalleryStore();
    Object.assign(g.filters, { runId: 'run_a', sampler: 'euler', steps: '0', tag: '  keeper ', text: ' cat ', favorite: true, sort: 'seed' });
    await g.refresh();
    const q = fake.requests('gallery:query').at(-1)!;
    expect(q).toEqual({ sort: 'seed', runId: 'run_a', sampler: 'euler', tag: 'keeper', favorite: true, text: 'cat', limit: PAGE_SIZE, offset: 0 });
    g.filters.steps = '12';
    await g.refresh();
    expect(fake.requests('gallery:query').at(-1)).toMatchObject({ steps: 12 });
  });

  it('loads the first page on refresh and later pages as positions are asked for', async () => {
    serve(PAGE_SIZE * 2 + 10);
    const g = useGalleryStore();
    await g.refresh();
    expect(g.total).toBe(PAGE_SIZE * 2 + 10);
    expect(g.at(5)?.id).toBe('s5');
    expect(g.at(PAGE_SIZE + 1)).toBeUndefined(); // not loaded yet: it starts loading
    g.at(PAGE_SIZE + 2); // asked again while loading: no second request
    await flush();
    expect(g.at(PAGE_SIZE + 1)?.id).toBe(`s${PAGE_SIZE + 1}`);
    expect(fake.requests('gallery:query').map((q) => q.offset)).toEqual([0, PAGE_SIZE]);
    g.ensure(PAGE_SIZE * 2, PAGE_SIZE * 2 + 5);
    await flush();
    expect(g.at(PAGE_SIZE * 2 + 9)?.id).toBe(`s${PAGE_SIZE * 2 + 9}`);
  });

  it('an answer to a query the filters have since replaced is dropped', async () => {
    serve(5);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    fake.on('gallery:query', async (q) => {
      if (!q.favorite) await slow;
      return { samples: [sampleRecord(q.favorite ? 'fav' : 'old')], total: 1, favorites: [] };
    });
    const g = useGalleryStore();
    const first = g.refresh();
    g.filters.favorite = true;
    await g.refresh();
    release();
    await first;
    expect(g.at(0)?.id).toBe('fav');
    expect(g.loading).toBe(false);
  });

  it('a failed query shows its message', async () => {
    const g = useGalleryStore();
    await g.refresh();
    expect(g.error).toMatch(/gallery:query/);
  });
});

describe('gallery store: favourites, trash, viewer', () => {
  it('knows the favourites of loaded records and follows a toggle', async () => {
    serve(6);
    const g = useGalleryStore();
    await g.refresh();
    expect(['s0', 's1', 's3'].map(g.isFavorite)).toEqual([true, false, true]);
    expect(await g.toggleFavorite('s1')).toBe(true);
    expect(g.isFavorite('s1')).toBe(true);
    expect(await g.toggleFavorite('s0')).toBe(false);
    expect(g.isFavorite('s0')).toBe(false);
    expect(fake.requests('gallery:update')).toEqual([
      { ids: ['s1'], favorite: true },
      { ids: ['s0'], favorite: false },
    ]);
  });

  it('opening a record loads its meta; deleting the open one closes the viewer', async () => {
    serve(4);
    fake.on('gallery:delete', ({ ids }) => ({ deleted: ids.length }));
    const g = useGalleryStore();
    await g.refresh();
    await g.show(g.at(3)!);
    expect(g.open?.id).toBe('s3');
    expect(g.meta).toMatchObject({ favorite: true });
    expect(await g.remove(['s3'])).toBe(1);
    expect(g.open).toBeNull();
  });

  it('emptying the trash says which files stayed and what to do', async () => {
    serve(0);
    fake.on('gallery:emptyTrash', () => ({
      deleted: 3,
      notRemoved: [
        { id: 'a', file: 'samples/a.png', message: 'EACCES: permission denied' },
        { id: 'b', file: 'samples/b.png', message: 'EBUSY' },
      ],
    }));
    const g = useGalleryStore();
    expect(await g.emptyTrash()).toBe(3);
    expect(fake.requests('gallery:emptyTrash')).toEqual([{}]);
    expect(g.actionError).toBe(
      '2 image(s) could not be deleted and stay in the trash: samples/a.png (EACCES: permission denied) and 1 more. Check that the library folder is writable, then empty the trash again.',
    );
  });

  it('a finished sampling job refreshes the gallery; progress while running does not', async () => {
    serve(2);
    const g = useGalleryStore();
    fake.emit({ jobId: 'j', kind: 'sample', state: 'running', done: 1, total: 4 });
    await flush();
    expect(fake.requests('gallery:query')).toHaveLength(0);
    fake.emit({ jobId: 'j', kind: 'sample', state: 'completed', done: 4, total: 4 });
    await flush();
    expect(fake.requests('gallery:query')).toHaveLength(1);
    expect(g.total).toBe(2);
  });
});

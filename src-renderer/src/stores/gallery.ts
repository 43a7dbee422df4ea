import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowReactive, watch } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import type { GalleryQuery } from '../../../src-main/api/requests';
import type { ReproduceResult, SampleMeta, SampleRecord, SamplerName } from '../../../src-main/api/types';

/** Rows are fetched in pages of this many records, as the virtual grid scrolls to them. */
export const PAGE_SIZE = 240;

export interface GalleryFilters {
  runId: string;
  checkpointSha256: string;
  sampler: '' | SamplerName;
  steps: string;
  tag: string;
  favorite: boolean;
  from: string;
  to: string;
  text: string;
  sort: 'newest' | 'oldest' | 'seed';
  trash: boolean;
}

export const useGalleryStore = defineStore('gallery', () => {
  const filters = reactive<GalleryFilters>({ runId: '', checkpointSha256: '', sampler: '', steps: '', tag: '', favorite: false, from: '', to: '', text: '', sort: 'newest', trash: false });
  const total = ref(0);
  /** page index -> records (shallow: records are plain data) */
  const pages = shallowReactive(new Map<number, SampleRecord[]>());
  /** ids of loaded records that are favourites (the tiles' ★), kept in step with the pages and edits */
  const favorites = shallowReactive(new Set<string>());
  const pending = new Set<number>();
  let generation = 0;
  const loading = ref(false);
  const error = ref<string | null>(null);
  const openId = ref<string | null>(null);
  const openRecord = ref<SampleRecord | null>(null);
  const meta = ref<SampleMeta | null>(null);
  const reproduce = ref<ReproduceResult | null>(null);
  const reproducing = ref(false);
  const actionError = ref<string | null>(null);

  // New images from a finished sampling job appear without a manual refresh.
  useJobProgress(
    (p) => p.kind === 'sample' && p.state !== 'running',
    () => void refresh(),
  );

  function query(): GalleryQuery {
    const q: GalleryQuery = { sort: filters.sort };
    if (filters.runId) q.runId = filters.runId;
    if (filters.checkpointSha256) q.checkpointSha256 = filters.checkpointSha256;
    if (filters.sampler) q.sampler = filters.sampler;
    const steps = Number(filters.steps);
    if (filters.steps.trim() && Number.isInteger(steps) && steps > 0) q.steps = steps;
    if (filters.tag.trim()) q.tag = filters.tag.trim();
    if (filters.favorite) q.favorite = true;
    if (filters.from) q.from = filters.from;
    if (filters.to) q.to = filters.to;
    if (filters.text.trim()) q.text = filters.text.trim();
    if (filters.trash) q.trash = true;
    return q;
  }

  async function fetchPage(index: number, gen = generation): Promise<void> {
    if (pages.has(index) || pending.has(index)) return;
    pending.add(index);
    try {
      const res = await api['gallery:query']({ ...query(), limit: PAGE_SIZE, offset: index * PAGE_SIZE });
      if (gen !== generation) return;
      pages.set(index, res.samples);
      noteFavorites(res);
      total.value = res.total;
      error.value = null;
    } catch (e) {
      if (gen === generation) error.value = errorMessage(e);
    } finally {
      pending.delete(index);
    }
  }

  /** Drop the cache and reload the first page (filters changed, images added or removed). */
  async function refresh(): Promise<void> {
    generation++;
    pending.clear();
    loading.value = true;
    const gen = generation;
    try {
      const res = await api['gallery:query']({ ...query(), limit: PAGE_SIZE, offset: 0 });
      if (gen !== generation) return;
      pages.clear();
      favorites.clear();
      pages.set(0, res.samples);
      noteFavorites(res);
      total.value = res.total;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      if (gen === generation) loading.value = false;
    }
  }

  function noteFavorites(res: { samples: SampleRecord[]; favorites?: string[] }): void {
    const fav = new Set(res.favorites ?? []);
    for (const r of res.samples) {
      if (fav.has(r.id)) favorites.add(r.id);
      else favorites.delete(r.id);
    }
  }

  function isFavorite(id: string): boolean {
    return favorites.has(id);
  }

  /** The record at a position, or undefined while its page loads (and then it loads it). */
  function at(i: number): SampleRecord | undefined {
    const page = Math.floor(i / PAGE_SIZE);
    const rows = pages.get(page);
    if (!rows) {
      void fetchPage(page);
      return undefined;
    }
    return rows[i - page * PAGE_SIZE];
  }

  /** Make sure the pages covering [from, to) are loaded or loading. */
  function ensure(from: number, to: number): void {
    for (let p = Math.floor(from / PAGE_SIZE); p <= Math.floor(Math.max(from, to - 1) / PAGE_SIZE); p++) void fetchPage(p);
  }

  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  watch(
    filters,
    () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => void refresh(), 200);
    },
    { deep: true },
  );

  async function show(rec: SampleRecord): Promise<void> {
    openId.value = rec.id;
    openRecord.value = rec;
    reproduce.value = null;
    actionError.value = null;
    meta.value = null;
    try {
      const { meta: m } = await api['gallery:meta']({ id: rec.id });
      if (openId.value === rec.id) meta.value = m;
    } catch (e) {
      actionError.value = errorMessage(e);
    }
  }

  function close(): void {
    openId.value = null;
    openRecord.value = null;
  }

  async function update(ids: string[], change: { favorite?: boolean; addTags?: string[]; removeTags?: string[] }): Promise<void> {
    try {
      await api['gallery:update']({ ids, ...change });
      for (const id of ids) {
        if (change.favorite === true) favorites.add(id);
        else if (change.favorite === false) favorites.delete(id);
      }
      if (openId.value && ids.includes(openId.value)) meta.value = (await api['gallery:meta']({ id: openId.value })).meta;
      if (filters.favorite || filters.tag) await refresh();
    } catch (e) {
      actionError.value = errorMessage(e);
    }
  }

  async function toggleFavorite(id: string): Promise<boolean> {
    const m = openId.value === id && meta.value ? meta.value : (await api['gallery:meta']({ id })).meta;
    const next = !m.favorite;
    await update([id], { favorite: next });
    return next;
  }

  async function remove(ids: string[]): Promise<number> {
    try {
      const { deleted } = await api['gallery:delete']({ ids });
      if (openId.value && ids.includes(openId.value)) close();
      await refresh();
      return deleted;
    } catch (e) {
      actionError.value = errorMessage(e);
      return 0;
    }
  }

  async function restore(ids: string[]): Promise<void> {
    try {
      await api['gallery:restore']({ ids });
      if (openId.value && ids.includes(openId.value)) close();
      await refresh();
    } catch (e) {
      actionError.value = errorMessage(e);
    }
  }

  async function emptyTrash(ids?: string[]): Promise<number> {
    try {
      const { deleted, notRemoved } = await api['gallery:emptyTrash'](ids ? { ids } : {});
      close();
      await refresh();
      if (notRemoved?.length) {
        // Those samples stay in the trash (their files are still on disk); say which and why.
        const first = notRemoved[0];
        actionError.value =
          `${notRemoved.length} image(s) could not be deleted and stay in the trash: ${first.file} (${first.message})` +
          `${notRemoved.length > 1 ? ` and ${notRemoved.length - 1} more` : ''}. Check that the library folder is writable, then empty the trash again.`;
      }
      return deleted;
    } catch (e) {
      actionError.value = errorMessage(e);
      return 0;
    }
  }

  async function runReproduce(id: string): Promise<void> {
    reproducing.value = true;
    reproduce.value = null;
    actionError.value = null;
    try {
      reproduce.value = await api['gallery:reproduce']({ id });
    } catch (e) {
      actionError.value = errorMessage(e);
    } finally {
      reproducing.value = false;
    }
  }

  /** "How typical is this image for its model": bits/dim under its checkpoint, stored with the record. */
  const typicalityRunning = ref(false);
  async function runTypicality(id: string): Promise<void> {
    typicalityRunning.value = true;
    actionError.value = null;
    try {
      const { typicality } = await api['gallery:typicality']({ id, method: 'pf-ode', probes: 4, seed: 0, tol: 1e-3 });
      if (openId.value === id && meta.value) meta.value = { ...meta.value, typicality };
    } catch (e) {
      actionError.value = errorMessage(e);
    } finally {
      typicalityRunning.value = false;
    }
  }

  /** Ids of everything the current filter shows (up to `max`), for export. */
  async function allIds(max = 2000): Promise<string[]> {
    const res = await api['gallery:query']({ ...query(), limit: max, offset: 0 });
    return res.samples.map((s) => s.id);
  }

  const open = computed(() => openRecord.value);

  return {
    filters,
    total,
    pages,
    favorites,
    isFavorite,
    loading,
    error,
    open,
    openId,
    meta,
    reproduce,
    reproducing,
    typicalityRunning,
    runTypicality,
    actionError,
    at,
    ensure,
    refresh,
    show,
    close,
    update,
    toggleFavorite,
    remove,
    restore,
    emptyTrash,
    runReproduce,
    allIds,
  };
});

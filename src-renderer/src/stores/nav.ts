import { defineStore } from 'pinia';
import { getCurrentScope, onScopeDispose, ref } from 'vue';

/** The app's pages, in nav order. A tiny hash router: `#/train` shows the Train page. */
export const PAGES = [
  { id: 'home', label: 'Home', icon: 'home' },
  { id: 'datasets', label: 'Datasets', icon: 'images' },
  { id: 'schedules', label: 'Schedules', icon: 'curve' },
  { id: 'train', label: 'Train', icon: 'train' },
  { id: 'models', label: 'Models', icon: 'wand' },
  { id: 'sample', label: 'Sample', icon: 'sparkle' },
  { id: 'gallery', label: 'Gallery', icon: 'grid' },
  { id: 'playground', label: 'Sampler lab', icon: 'lab' },
  { id: 'system', label: 'System', icon: 'chip' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

const DEFAULT_PAGE: PageId = 'home';

function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return PAGES.some((p) => p.id === id) ? (id as PageId) : DEFAULT_PAGE;
}

export const useNavStore = defineStore('nav', () => {
  const page = ref<PageId>(pageFromHash(location.hash));

  const onHashChange = () => {
    page.value = pageFromHash(location.hash);
  };
  window.addEventListener('hashchange', onHashChange);
  if (getCurrentScope()) onScopeDispose(() => window.removeEventListener('hashchange', onHashChange));

  /** Switch page; the hash changes too, so Back/Forward and reloads keep the page. */
  function go(id: PageId): void {
    page.value = id;
    const hash = `#/${id}`;
    if (location.hash !== hash) location.hash = hash;
  }

  function hrefOf(id: PageId): string {
    return `#/${id}`;
  }

  return { page, go, hrefOf };
});

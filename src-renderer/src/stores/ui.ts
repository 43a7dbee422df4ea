import { defineStore } from 'pinia';
import { ref, watch } from 'vue';

export type Theme = 'dark' | 'light';

export interface Toast {
  id: number;
  text: string;
  /** an optional action button (e.g. "Undo") */
  action?: { label: string; run: () => void | Promise<void> };
  kind: 'info' | 'error' | 'ok';
}

const THEME_KEY = 'sfumato-theme';

function readTheme(): Theme {
  try {
    return localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}

/** App-wide UI state: the colour theme (persisted) and the toast stack. */
export const useUiStore = defineStore('ui', () => {
  const theme = ref<Theme>(readTheme());
  const toasts = ref<Toast[]>([]);
  let nextId = 1;

  function applyTheme(t: Theme): void {
    document.documentElement.dataset.theme = t;
    document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', t);
  }
  applyTheme(theme.value);
  watch(theme, (t) => {
    applyTheme(t);
    try {
      localStorage.setItem(THEME_KEY, t);
    } catch {
      /* private mode: the choice lasts this session */
    }
  });

  function toggleTheme(): void {
    theme.value = theme.value === 'dark' ? 'light' : 'dark';
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  /** Show a toast for `ms` (longer when it carries an action). Returns its id. */
  function toast(text: string, opts: { action?: Toast['action']; kind?: Toast['kind']; ms?: number } = {}): number {
    const id = nextId++;
    toasts.value = [...toasts.value.slice(-3), { id, text, action: opts.action, kind: opts.kind ?? 'info' }];
    setTimeout(() => dismiss(id), opts.ms ?? (opts.action ? 8000 : 4000));
    return id;
  }

  return { theme, toasts, toggleTheme, toast, dismiss };
});

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

/** The theme the user picked (stored), or null when they never picked one. */
function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

const osQuery = (): MediaQueryList | null => (typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: light)') : null);
const osTheme = (): Theme => (osQuery()?.matches ? 'light' : 'dark');

/** App-wide UI state: the colour theme and the toast stack. The theme follows the OS until the user picks one (then stored). */
export const useUiStore = defineStore('ui', () => {
  const picked = ref<Theme | null>(storedTheme());
  const theme = ref<Theme>(picked.value ?? osTheme());
  const toasts = ref<Toast[]>([]);
  let nextId = 1;

  function applyTheme(t: Theme): void {
    document.documentElement.dataset.theme = t;
    document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', t);
  }
  applyTheme(theme.value);
  watch(theme, applyTheme);
  osQuery()?.addEventListener('change', () => {
    if (picked.value === null) theme.value = osTheme();
  });

  function toggleTheme(): void {
    theme.value = picked.value = theme.value === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(THEME_KEY, theme.value);
    } catch {
      /* private mode: the choice lasts this session */
    }
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

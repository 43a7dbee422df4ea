/**
 * App-wide keys: Ctrl/Cmd+Enter generates on the Sample page (from anywhere on it, inside a field
 * too), and `?` opens the list of every shortcut (not while typing in a field). Pages and the
 * viewer keep their own keys (GalleryPage, Lightbox). Call once, from App.vue; the listener goes
 * with the component.
 */
import { getCurrentScope, onScopeDispose, ref } from 'vue';
import { useNavStore } from '../stores/nav';
import { useSampleStore } from '../stores/sample';

/** whether the shortcut list is open (ShortcutsDialog binds to it) */
export const shortcutsOpen = ref(false);

const NON_TEXT_INPUTS = new Set(['checkbox', 'radio', 'range', 'button', 'submit', 'reset', 'color', 'file', 'image']);

/** Whether a key pressed here is typing (a text field, a select, an editable element). */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== 'string') return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  return tag === 'input' && !NON_TEXT_INPUTS.has((el as HTMLInputElement).type);
}

export function useShortcuts(): { stop: () => void } {
  const nav = useNavStore();
  const sample = useSampleStore();
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.altKey && nav.page === 'sample') {
      // Before the field's own Enter (which would submit the form as well).
      ev.preventDefault();
      ev.stopPropagation();
      void sample.generate();
      return;
    }
    if (ev.key === '?' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !isTyping(ev.target)) {
      ev.preventDefault();
      shortcutsOpen.value = true;
    }
  };
  document.addEventListener('keydown', onKey, { capture: true });
  const stop = () => document.removeEventListener('keydown', onKey, { capture: true });
  if (getCurrentScope()) onScopeDispose(stop);
  return { stop };
}

/** A fresh Pinia per test, and a way to dispose of its stores (their listeners and timers) after it. */
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import type { EffectScope } from 'vue';

export function freshPinia(): Pinia {
  const pinia = createPinia();
  setActivePinia(pinia);
  return pinia;
}

/** Stop every store of `pinia` (runs their onScopeDispose: intervals, window listeners). */
export function disposePinia(pinia: Pinia): void {
  (pinia as unknown as { _e: EffectScope })._e.stop();
}

import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from 'vue';
import { onJobProgress } from '../api';
import type { JobProgress } from '../../../src-main/api/types';

export interface JobProgressSubscription {
  /** the latest event that passed the filter (null until one arrives) */
  latest: ShallowRef<JobProgress | null>;
  /** unsubscribe; also runs when the surrounding effect scope (component, store) is disposed */
  stop: () => void;
}

/**
 * Subscribe to `jobs:progress` events that pass `filter`; `onEvent` sees each of them.
 * Works in components and in Pinia setup stores (both run inside an effect scope).
 */
export function useJobProgress(
  filter: (p: JobProgress) => boolean,
  onEvent?: (p: JobProgress) => void,
): JobProgressSubscription {
  const latest = shallowRef<JobProgress | null>(null);
  let unsubscribe: (() => void) | undefined = onJobProgress((p) => {
    if (!filter(p)) return;
    latest.value = p;
    onEvent?.(p);
  });
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  if (getCurrentScope()) onScopeDispose(stop);
  return { latest, stop };
}

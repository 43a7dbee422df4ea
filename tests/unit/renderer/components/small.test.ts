/** The small display components: ProgressBar.vue and StatusBadge.vue. */
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import ProgressBar from '../../../../src-renderer/src/components/ProgressBar.vue';
import StatusBadge from '../../../../src-renderer/src/components/StatusBadge.vue';

describe('ProgressBar', () => {
  it('shows the percentage in words and on the bar', () => {
    const w = mount(ProgressBar, { props: { done: 30, total: 120, label: 'Sampling', detail: '3 of 12 images' } });
    expect(w.text()).toContain('Sampling — 25%');
    expect(w.text()).toContain('3 of 12 images');
    const bar = w.get('progress');
    expect(bar.attributes()).toMatchObject({ value: '25', max: '100', 'aria-label': 'Sampling' });
  });

  it('is indeterminate (no value) while the total is unknown or for a log line', () => {
    for (const [done, total] of [
      [0, 0],
      [-1, 40],
    ]) {
      const w = mount(ProgressBar, { props: { done, total, label: 'Starting' } });
      expect(w.text()).toBe('Starting');
      expect(w.get('progress').attributes()).not.toHaveProperty('value');
    }
  });

  it('never shows more than 100%', () => {
    expect(mount(ProgressBar, { props: { done: 130, total: 120, label: 'x' } }).text()).toBe('x — 100%');
  });
});

describe('StatusBadge', () => {
  it('shows the status with a class per status', () => {
    for (const status of ['running', 'failed', 'completed'] as const) {
      const w = mount(StatusBadge, { props: { status } });
      expect(w.text()).toBe(status);
      expect(w.classes()).toContain(`badge-${status}`);
    }
  });
});

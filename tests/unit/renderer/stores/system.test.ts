/**
 * The system store (src-renderer/src/stores/system.ts) against a fake api: the provider table of
 * system:providers loads on its own (the probe takes seconds), once at a time, and a failed probe
 * is shown as an error without touching the system info.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { ApiError } from '../../../../src-main/api/errors';
import type { ProvidersInfo } from '../../../../src-main/api/types';
import { fake } from '../helpers/fake-api';
import { useSystemStore } from '../../../../src-renderer/src/stores/system';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const TABLE: ProvidersInfo = {
  training: [
    { provider: 'webgpu', available: true, selected: false, why: 'slower than the CPU provider on a 0.5 GFLOP MatMul probe' },
    { provider: 'cpu', available: true, selected: true, why: 'no GPU provider passed its probe' },
  ],
  sampling: [{ provider: 'cpu', available: true, selected: true, why: 'no GPU provider passed its probe' }],
  probedAt: '2026-12-02T00:00:00.000Z',
};

beforeEach(() => {
  fake.reset();
  setActivePinia(createPinia());
});

describe('system store: providers', () => {
  it('loads the provider table once at a time and keeps it', async () => {
    let release!: () => void;
    fake.on('system:providers', () => new Promise<ProvidersInfo>((r) => (release = () => r(TABLE))));
    const s = useSystemStore();
    const first = s.loadProviders();
    const second = s.loadProviders(); // while the first probe runs: no second request
    expect(s.providersLoading).toBe(true);
    release();
    await Promise.all([first, second]);
    expect(fake.requests('system:providers')).toHaveLength(1);
    expect(s.providers).toEqual(TABLE);
    expect(s.providersLoading).toBe(false);
    expect(s.providersError).toBeNull();
  });

  it('a failed probe is an error of its own; the system info is untouched', async () => {
    fake.on('system:providers', () => {
      throw new ApiError('unavailable', 'the provider probe process ended (SIGSEGV) before answering: a GPU driver may have crashed');
    });
    const s = useSystemStore();
    await s.loadProviders();
    expect(s.providers).toBeNull();
    expect(s.providersError).toMatch(/GPU driver may have crashed/);
    expect(s.error).toBeNull();
  });
});

import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKEND_LADDER, BackendUnavailableError, selectTrainingBackend } from '../../../../src-main/training/backends/ladder';

describe('training backend ladder', () => {
  it('picks the best available backend and says why the better ones are not active', async () => {
    const sel = await selectTrainingBackend();
    // onnxruntime runs the whole step natively and keeps the model for previews on tfjs wasm (or cpu)
    if (sel.active === 'onnxruntime') expect(['wasm', 'cpu']).toContain(tf.getBackend());
    else expect(tf.getBackend()).toBe(sel.active);
    const better = BACKEND_LADDER.slice(0, BACKEND_LADDER.indexOf(sel.active));
    expect(Object.keys(sel.reasons).sort()).toEqual([...better].sort());
    for (const b of better) expect(sel.reasons[b]).toMatch(/\S/);
    // on machines without tfjs-node (this project's CI), the missing module is reported, not thrown
    if (sel.active !== 'tensorflow') expect(sel.reasons.tensorflow).toMatch(/tfjs-node-gpu (not installed|failed)/);
    if (sel.active === 'wasm') expect(sel.provider).toMatch(/tfjs-backend-wasm/);
    if (sel.active === 'onnxruntime') expect(sel.provider).toMatch(/onnxruntime-node CPU \(\d+ threads\) for the whole step; tfjs (wasm|cpu) for previews/);
  });

  it('the onnxruntime rung runs a real training step before it is chosen', async () => {
    const sel = await selectTrainingBackend({ override: 'onnxruntime' });
    expect(sel.active).toBe('onnxruntime');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.reasons.wasm).toMatch(/--backend onnxruntime/);
  });

  it('honours an override', async () => {
    const sel = await selectTrainingBackend({ override: 'cpu' });
    expect(sel.active).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(sel.reasons.wasm).toMatch(/--backend cpu/);
    const w = await selectTrainingBackend({ override: 'wasm' });
    expect(w.active).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an unknown or unavailable override is an error that names the backend and the reason', async () => {
    await expect(selectTrainingBackend({ override: 'tpu' })).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(selectTrainingBackend({ override: 'tpu' })).rejects.toThrow(/unknown backend 'tpu'.*--backend/);
    let webgpu: unknown = null;
    try {
      webgpu = await selectTrainingBackend({ override: 'webgpu' });
    } catch (e) {
      expect(e).toBeInstanceOf(BackendUnavailableError);
      expect(JSON.parse(JSON.stringify(e))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', backend: 'webgpu' });
      expect((e as BackendUnavailableError).reason).toMatch(/\S/);
    }
    // where a real GPU adapter exists the override succeeds instead
    if (webgpu) expect((webgpu as { active: string }).active).toBe('webgpu');
  });
});

/**
 * system:info's cheap backend probe reads the ladder table (training/backends/ladder-table.ts):
 * the same order as the real ladder, and for each better rung the table's reason.
 */
import { describe, expect, it } from 'vitest';
import { probeBackends } from '../../../src-main/services/system';
import { BACKEND_LADDER } from '../../../src-main/training/backends/ladder';
import { LADDER } from '../../../src-main/training/backends/ladder-table';

const only = (...pkgs: string[]) => (p: string) => pkgs.includes(p);
const reason = (b: string) => LADDER.find((r) => r.backend === b)!;

describe('probeBackends', () => {
  it('is the real ladder order', () => {
    expect(LADDER.map((r) => r.backend)).toEqual(BACKEND_LADDER);
    expect(BACKEND_LADDER).toEqual(['tensorflow', 'webgpu', 'onnxruntime', 'wasm', 'cpu']);
  });

  it('picks the first rung whose packages resolve, with a reason for each better one', async () => {
    expect(await probeBackends(only('@tensorflow/tfjs-node'))).toEqual({ active: 'tensorflow', unavailable: {} });
    expect(await probeBackends(only())).toEqual({
      active: 'cpu',
      unavailable: { tensorflow: reason('tensorflow').missing, webgpu: reason('webgpu').missing, onnxruntime: reason('onnxruntime').missing, wasm: reason('wasm').missing },
    });
    const ort = await probeBackends(only('onnxruntime-node', '@tensorflow/tfjs-backend-wasm', 'webgpu'));
    expect(ort).toEqual({ active: 'onnxruntime', unavailable: { tensorflow: reason('tensorflow').missing, webgpu: reason('webgpu').installedButProbed } });
    // onnxruntime needs the wasm backend as well (the optimiser runs there)
    expect((await probeBackends(only('onnxruntime-node'))).active).toBe('cpu');
    expect((await probeBackends(only('@tensorflow/tfjs-backend-wasm'))).active).toBe('wasm');
  });

  it('keeps the messages that say what to do', () => {
    expect(reason('tensorflow').missing).toMatch(/npm install @tensorflow\/tfjs-node/);
    expect(reason('onnxruntime').missing).toMatch(/npm ci/);
  });
});

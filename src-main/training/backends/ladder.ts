/**
 * The training backend ladder (docs/design-notes.md §Training backends): tensorflow (tfjs-node-gpu, then tfjs-node) →
 * webgpu (Dawn through the `webgpu` package, only with a real, non-CPU adapter) → onnxruntime →
 * wasm → cpu. The first that starts becomes active; each better one that did not start is
 * reported with the reason, so `system info` and the UI can say why.
 *
 * `onnxruntime` runs the whole optimiser step (gradients, clipping, Adam, EMA) as one ONNX graph on
 * ONNX Runtime's native CPU kernels (training/onnx: onnxruntime-node has no training API, the
 * gradient and the optimiser are themselves a graph), all cores inside each op; the tfjs model
 * (wasm, cpu if wasm fails) is synced from it for previews and checkpoints. It ranks above wasm
 * because it is faster on the CPU measured (bench UNet, batch 16, 2 cores: a whole step in 0.90 s
 * against 2.74 s with two wasm workers) and below the native tfjs and GPU rungs, which run the
 * whole step on their device.
 */
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from './wasm';
import { DomainError } from '../../api/errors';

import { BACKEND_LADDER, type TrainingBackend } from './ladder-table';

// The order (and the cheap check's messages) is a table that services/system.ts reads too.
export { BACKEND_LADDER, type TrainingBackend };

/** Backends whose gradients come from ONNX Runtime rather than the active tfjs backend. */
export function gradientEngineOf(backend: string): 'tfjs' | 'onnxruntime' {
  return backend === 'onnxruntime' ? 'onnxruntime' : 'tfjs';
}

export interface BackendSelection {
  active: TrainingBackend;
  /** which package provides it, e.g. '@tensorflow/tfjs-node' */
  provider: string;
  /** why each backend better than `active` (or, with an override, each other one) is not active */
  reasons: Partial<Record<TrainingBackend, string>>;
}

export class BackendUnavailableError extends DomainError {
  readonly apiCode = 'unavailable';
  override apiDetails(): { backend: string; reason: string } {
    return { backend: this.backend, reason: this.reason };
  }
  readonly code = 'BACKEND_UNAVAILABLE';
  constructor(
    readonly backend: TrainingBackend,
    readonly reason: string,
  ) {
    super(`backend ${backend} is not available: ${reason}. Choose another with --backend (${BACKEND_LADDER.join(', ')}) or leave it unset to pick the best available`);
    this.name = 'BackendUnavailableError';
  }
  toJSON(): { code: string; backend: string; reason: string; message: string } {
    return { code: this.code, backend: this.backend, reason: this.reason, message: this.message };
  }
}

/** Thrown by a probe: the backend cannot start, for `reason`. */
class Unavailable extends Error {}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Dynamic import through a variable, so bundlers and tsc do not require optional packages. */
async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Unavailable(`tf.setBackend('${name}') failed to initialise it`);
  await tf.ready();
}

type Probe = () => Promise<string>;

const probes: Record<TrainingBackend, Probe> = {
  async tensorflow() {
    const notes: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await importOptional(pkg); // registers the 'tensorflow' backend on import
        await activate('tensorflow');
        return pkg;
      } catch (e) {
        notes.push(isModuleNotFound(e) ? `${pkg} not installed` : `${pkg} failed to load: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    throw new Unavailable(notes.join('; '));
  },

  async webgpu() {
    // Needs both the Dawn bindings and the tfjs backend package; neither ships with Sfumato yet.
    let dawn: { create?: (flags: string[]) => unknown; globals?: Record<string, unknown> };
    try {
      dawn = (await importOptional('webgpu')) as typeof dawn;
      await importOptional('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      if (isModuleNotFound(e)) throw new Unavailable('webgpu package not installed');
      throw new Unavailable(`webgpu failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!dawn.create) throw new Unavailable('the webgpu package has no create() entry point');
    Object.assign(globalThis, dawn.globals ?? {});
    const gpu = dawn.create([]) as { requestAdapter(): Promise<{ info?: { adapterType?: string; description?: string; vendor?: string } } | null> };
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Unavailable('no WebGPU adapter found');
    const info = adapter.info ?? {};
    const desc = `${info.vendor ?? ''} ${info.description ?? ''}`.trim();
    // software adapters are slower than wasm (docs/design-notes.md §ONNX Runtime providers: software adapters are ~10x slower)
    if (info.adapterType === 'cpu' || /swiftshader|llvmpipe|lavapipe/i.test(desc)) {
      throw new Unavailable(`only a CPU (software) WebGPU adapter is available (${desc || info.adapterType})`);
    }
    Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis as { navigator?: object }).navigator, gpu }, configurable: true });
    await activate('webgpu');
    return 'webgpu (Dawn) + @tensorflow/tfjs-backend-webgpu';
  },

  async onnxruntime() {
    // a real training step of a tiny UNet proves the native library loads and runs on this machine
    let threads: number;
    try {
      const { probeOrtTraining } = await import('../onnx/engine');
      threads = await probeOrtTraining();
    } catch (e) {
      throw new Unavailable(`ONNX Runtime training graph failed: ${(e as Error).message.split('\n')[0]}`);
    }
    let coordinator = 'wasm';
    try {
      await initWasmBackend();
    } catch {
      await activate('cpu');
      coordinator = 'cpu';
    }
    return `onnxruntime-node CPU (${threads} threads) for the whole step; tfjs ${coordinator} for previews`;
  },

  async wasm() {
    try {
      const info = await initWasmBackend();
      return `@tensorflow/tfjs-backend-wasm (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread)`;
    } catch (e) {
      throw new Unavailable((e as Error).message.split('\n')[0]);
    }
  },

  async cpu() {
    await activate('cpu');
    return '@tensorflow/tfjs-backend-cpu';
  },
};

/**
 * Activates the best available training backend, or exactly `override` when given (throwing
 * BackendUnavailableError with the reason if it cannot start). Returns what is active and why the
 * better ones are not.
 */
export async function selectTrainingBackend(opts: { override?: TrainingBackend | string } = {}): Promise<BackendSelection> {
  const reasons: BackendSelection['reasons'] = {};
  if (opts.override !== undefined) {
    const want = opts.override as TrainingBackend;
    if (!BACKEND_LADDER.includes(want)) {
      throw new BackendUnavailableError(want, `unknown backend '${String(opts.override)}'`);
    }
    try {
      const provider = await probes[want]();
      for (const b of BACKEND_LADDER) if (b !== want) reasons[b] = `not selected: --backend ${want} was requested`;
      return { active: want, provider, reasons };
    } catch (e) {
      throw new BackendUnavailableError(want, (e as Error).message);
    }
  }
  for (const b of BACKEND_LADDER) {
    try {
      const provider = await probes[b]();
      return { active: b, provider, reasons };
    } catch (e) {
      reasons[b] = (e as Error).message;
    }
  }
  // cpu always starts; reaching this means tfjs itself is broken
  throw new BackendUnavailableError('cpu', reasons.cpu ?? 'no backend could be initialised');
}

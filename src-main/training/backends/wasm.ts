/**
 * The tfjs WebAssembly backend in Node: locates the .wasm binaries inside node_modules, enables
 * SIMD when the runtime supports it, and installs Sfumato's fast convolution-gradient kernels.
 *
 * In Node, tfjs-backend-wasm 4.22 is single-threaded (its WASM_HAS_MULTITHREAD_SUPPORT flag is
 * false under Node, tfjs issue #3830); use data-parallel worker processes/threads to use more
 * cores.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { installWasmConvGradKernels } from './wasm-conv-grads';

export interface WasmBackendInfo {
  /** directory holding tfjs-backend-wasm*.wasm */
  wasmDir: string;
  simd: boolean;
  /** always 1 in Node (see header) */
  threads: number;
}

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

/** Directory of the tfjs-backend-wasm binaries, resolved through Node's module resolution. */
export function wasmBinaryDir(): string {
  const req = createRequire(import.meta.url);
  const dir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const missing = WASM_FILES.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length) throw new Error(`tfjs-backend-wasm binaries missing in ${dir}: ${missing.join(', ')}; reinstall with npm ci`);
  return dir;
}

let info: WasmBackendInfo | null = null;

/**
 * Makes 'wasm' the active tfjs backend (initialising it once) with the fast conv-gradient kernels.
 * Throws with the reason when the backend cannot start.
 */
export async function initWasmBackend(opts: { simd?: boolean } = {}): Promise<WasmBackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!info) {
    const wasmDir = wasmBinaryDir();
    const file = (name: (typeof WASM_FILES)[number]) => path.join(wasmDir, name);
    // An explicit map: Node reads the files from disk (emscripten uses fs for plain paths).
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': file('tfjs-backend-wasm.wasm'),
      'tfjs-backend-wasm-simd.wasm': file('tfjs-backend-wasm-simd.wasm'),
      'tfjs-backend-wasm-threaded-simd.wasm': file('tfjs-backend-wasm-threaded-simd.wasm'),
    });
    if (opts.simd === false) tf.env().set('WASM_HAS_SIMD_SUPPORT', false);
    installWasmConvGradKernels();
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    info = { wasmDir, simd, threads: 1 };
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('the tfjs wasm backend failed to initialise (see the log above for the WebAssembly error)');
  await tf.ready();
  return { ...info };
}

/**
 * Facts for `system:info`: versions of the parts Sfumato is made of, and which training backend
 * a job will get (the ladder of docs/design-notes.md §Training backends), with the reason each better one is unavailable.
 */
import { createRequire } from 'node:module';
import type { BackendStatus } from '../api/types';
import { APP_VERSION } from '../version';

export { APP_VERSION };

const require = createRequire(import.meta.url);

function versionOf(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

export function collectVersions(): Record<string, string> {
  const out: Record<string, string> = { sfumato: APP_VERSION, node: process.versions.node };
  if (process.versions.electron) out.electron = process.versions.electron;
  for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'sqlite3', 'sharp', 'vue']) {
    const v = versionOf(name);
    if (v) out[name] = v;
  }
  return out;
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which tfjs backend a training job will get, best first: tensorflow (tfjs-node-gpu / tfjs-node),
 * webgpu, onnxruntime, wasm, cpu. This is the main side's cheap probe (it initialises nothing, so the app's
 * main process stays light); the job process runs the real ladder (training/backends/ladder.ts)
 * and reports the backend it got in its `started` message.
 */
export async function probeBackends(): Promise<BackendStatus> {
  const unavailable: Record<string, string> = {};
  if (resolvable('@tensorflow/tfjs-node-gpu') || resolvable('@tensorflow/tfjs-node')) {
    return { active: 'tensorflow', unavailable };
  }
  unavailable.tensorflow =
    '@tensorflow/tfjs-node is not installed: its install step downloads libtensorflow, which failed or was skipped. Run `npm install @tensorflow/tfjs-node` (or tfjs-node-gpu with CUDA 11.2) where that download works.';
  unavailable.webgpu = resolvable('webgpu')
    ? 'the webgpu package is installed; a job uses it only when Dawn finds a real (non-CPU) GPU adapter.'
    : 'the `webgpu` package is not installed (npm install webgpu to try Dawn on your GPU).';
  // onnxruntime: gradients on ONNX Runtime's native CPU kernels (a job probes it for real)
  if (resolvable('onnxruntime-node') && resolvable('@tensorflow/tfjs-backend-wasm')) return { active: 'onnxruntime', unavailable };
  unavailable.onnxruntime = 'onnxruntime-node is not installed; reinstall with npm ci.';
  if (resolvable('@tensorflow/tfjs-backend-wasm')) return { active: 'wasm', unavailable };
  unavailable.wasm = '@tensorflow/tfjs-backend-wasm is not installed; reinstall with npm ci.';
  return { active: 'cpu', unavailable };
}

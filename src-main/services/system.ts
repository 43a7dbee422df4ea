/**
 * Facts for `system:info`: versions of the parts Sfumato is made of, and which training backend
 * a job will get (the ladder of docs/design-notes.md §Training backends), with the reason each better one is unavailable.
 */
import { createRequire } from 'node:module';
import type { BackendStatus, ProvidersInfo } from '../api/types';
import { ApiError } from '../api/errors';
import type { JobLauncher } from '../jobs/launcher';
import { probeProvidersInJobProcess } from '../jobs/providers-job';
import { LADDER } from '../training/backends/ladder-table';
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
 * Which tfjs backend a training job will get, best first (the ladder table,
 * training/backends/ladder-table.ts). This is the main side's cheap probe: it only checks that
 * each rung's packages resolve and initialises nothing, so the app's main process stays light; the
 * job process runs the real ladder (training/backends/ladder.ts) and reports the backend it got in
 * its `started` message.
 */
export async function probeBackends(isInstalled: (pkg: string) => boolean = resolvable): Promise<BackendStatus> {
  const unavailable: Record<string, string> = {};
  for (const rung of LADDER) {
    const installed = rung.needs.every((group) => group.some(isInstalled));
    if (installed && rung.installedButProbed === undefined) return { active: rung.backend, unavailable };
    unavailable[rung.backend] = installed ? rung.installedButProbed! : rung.missing;
  }
  // the cpu rung needs nothing, so the loop always returns
  throw new Error('the backend ladder has no rung without requirements');
}

/**
 * The ONNX Runtime execution providers of this machine, each probed for training and for sampling
 * (onnx/providers.ts), in a job process: the probe loads GPU drivers and runs real steps, so it
 * stays off the main process (a driver crash there would take the app down). Seconds; the service
 * keeps the answer for the session.
 */
export async function probeProviders(launcher: JobLauncher): Promise<ProvidersInfo> {
  try {
    return await probeProvidersInJobProcess(launcher);
  } catch (e) {
    throw new ApiError('unavailable', (e as Error).message);
  }
}

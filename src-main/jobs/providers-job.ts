/**
 * The provider table of `sfumato info` and the System page, computed in a job process
 * (protocol.ts ToJob 'probe-providers'): every available ONNX Runtime execution provider probed with a
 * tiny training step and a tiny denoiser run against the CPU provider (onnx/providers.ts), and
 * the launcher side that starts such a process and waits for its one answer.
 */
import type { ProvidersInfo } from '../api/types';
import type { JobLauncher } from './launcher';
import type { FromJob } from './protocol';

/** In the job process: both tables, every candidate probed (exhaustive). */
export async function probeProviderTable(): Promise<ProvidersInfo> {
  // imported here: the main side loads this file for probeProvidersInJobProcess only
  const { chooseProvider, denoiserProbeWorkload, exportUNetToOnnx, randomUNetTensors } = await import('../onnx/index');
  const { PROBE_UNET, trainingProbeWorkload } = await import('../training/onnx/provider-probe');
  const training = await chooseProvider({ requested: 'auto', workload: trainingProbeWorkload(), exhaustive: true });
  const unet = exportUNetToOnnx(
    { config: PROBE_UNET, tensors: randomUNetTensors(PROBE_UNET, 5) },
    { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }, appVersion: 'provider-probe' },
  );
  const sampling = await chooseProvider({ requested: 'auto', workload: denoiserProbeWorkload(unet, PROBE_UNET.imageSize), exhaustive: true });
  return { training: training.table, sampling: sampling.table, probedAt: new Date().toISOString() };
}

/** On the main side: starts a job process for the table and resolves with its answer. */
export function probeProvidersInJobProcess(launcher: JobLauncher, timeoutMs = 10 * 60_000): Promise<ProvidersInfo> {
  return new Promise((resolve, reject) => {
    const proc = launcher();
    let info: ProvidersInfo | undefined;
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (info && !e) resolve(info);
      else reject(e ?? new Error('the provider probe ended without an answer'));
    };
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      finish(new Error(`the provider probe took over ${Math.round(timeoutMs / 1000)} s and was stopped`));
    }, timeoutMs);
    proc.onMessage((m: FromJob) => {
      if (m.type === 'providers') info = m.info;
      else if (m.type === 'error') finish(new Error(`the provider probe failed: ${m.error.message}`));
      else if (m.type === 'done') {
        finish();
        proc.kill();
      }
    });
    proc.onExit((code, signal) => finish(info ? undefined : new Error(`the provider probe process ended (${signal ?? `exit code ${code}`}) before answering: a GPU driver may have crashed`)));
    proc.send({ type: 'probe-providers' });
  });
}

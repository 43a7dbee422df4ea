/**
 * `sfumato bench queue`: sampling jobs through the BullMQ queue with 1 worker, then 2 workers, on
 * this machine (each worker a real `sfumato worker` process, one ONNX Runtime thread per job), all
 * against a Redis of its own on a free loopback port and a scratch library. One JSON line per
 * worker count (throughput, enqueue-to-start latency p50/p99), then one with the ratio.
 *
 * Enqueue-to-start is the time from the job entering the queue to a worker claiming it from the
 * server: with more jobs than workers it includes waiting behind other jobs, which is what a user
 * sees. Each worker first runs one warm-up job (input fetched into its cache), not timed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface QueueBenchOptions {
  jobs: number;
  images: number;
  steps: number;
  model: string;
  print: (line: Record<string, unknown>) => void;
}

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'sfumato.mjs');

/** A free TCP port on the loopback interface (the OS picks one; closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function until(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`bench queue: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function runQueueBench(o: QueueBenchOptions): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('bench queue needs redis-server (apt-get install redis-server).');
  const { Sfumato } = await import('../services/sfumato');
  const { startWebServer } = await import('../server/http');
  const dir = mkdtempSync(join(tmpdir(), 'sfumato-bench-queue-'));
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const workers: ChildProcess[] = [];
  try {
    await until('redis', () => spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).stdout?.toString().trim() === 'PONG', 20_000);
    const s = await Sfumato.open({ libraryPath: join(dir, 'library'), mode: 'web', queue: { url: redisUrl } });
    const token = 'b'.repeat(32);
    const srv = await startWebServer(s, { port: 0, token });
    const startWorker = async (id: string) => {
      const w = spawn(process.execPath, [CLI, 'worker', '--server', `http://127.0.0.1:${srv.port}`, '--token', token, '--queue', redisUrl, '--cache-dir', join(dir, `cache-${id}`), '--id', id, '--threads', '1'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      workers.push(w);
      let log = '';
      w.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      await until(`worker ${id}`, () => {
        if (w.exitCode !== null) throw new Error(`worker ${id} exited: ${log}`);
        return log.includes('ready:');
      }, 60_000);
    };
    const gen = (seed: number, count: number) => s.generate({ modelId: o.model, count, seed, sampler: 'ddim', steps: o.steps });
    const results: Record<number, number> = {};
    try {
      for (const n of [1, 2]) {
        while (workers.length < n) await startWorker(`bench-w${workers.length + 1}`);
        // warm-up: one small job per worker (input fetched into its cache)
        await Promise.all(Array.from({ length: n }, (_, k) => gen(k, 1)));
        const before = s.queue!.claims.length;
        const t0 = performance.now();
        await Promise.all(Array.from({ length: o.jobs }, (_, k) => gen(1000 + k * o.images, o.images)));
        const wall = (performance.now() - t0) / 1000;
        const lat = s.queue!.claims.slice(before).map((c) => c.at - c.queuedAt).sort((a, b) => a - b);
        const imgPerS = (o.jobs * o.images) / wall;
        results[n] = imgPerS;
        o.print({ bench: 'queue', workers: n, jobs: o.jobs, images_per_job: o.images, steps: o.steps, model: o.model, threads_per_worker: 1, wall_s: +wall.toFixed(3), sample_img_per_s: +imgPerS.toFixed(3), enqueue_to_start_p50_ms: percentile(lat, 50), enqueue_to_start_p99_ms: percentile(lat, 99) });
      }
      o.print({ bench: 'queue', throughput_ratio_2_vs_1: +(results[2] / results[1]).toFixed(3) });
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => (w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : undefined)));
      await srv.close();
      await s.close();
    }
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    spawnSync('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']);
    if (redis.exitCode === null) await new Promise((r) => redis.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

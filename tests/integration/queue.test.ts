/**
 * Jobs on workers through BullMQ on a real Redis (issue 16). Everything is real: a redis-server of
 * our own on a free loopback port (with an append-only file, so a restart keeps the queue), the
 * server (Sfumato + web server with --queue, in this process), and worker processes started with
 * `sfumato worker` exactly as a user would, each running the ordinary job processes. Workers are
 * killed with SIGKILL at exact points (the server holds the worker's message in `beforeRecord`
 * while the test kills it), so nothing here depends on timing.
 *
 * The heaviest test file of the suite for its size: one tiny model, few steps, 16 px images.
 * Skipped (with the reason printed) when redis-server is not installed; `.ci/run` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FromJob } from '../../src-main/jobs/protocol';
import { startWebServer, type WebServer } from '../../src-main/server/http';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';
import { freePort } from '../../src-main/cli/bench-queue';

const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
if (!HAVE_REDIS) console.warn('queue.test.ts skipped: redis-server is not installed (apt-get install redis-server)');

const TOKEN = 'a'.repeat(32);
const WORKER_TOKEN = 'w'.repeat(32);
/** the test server's cap on one uploaded file (a tiny model's checkpoint is far below) */
const UPLOAD_CAP = 1 << 20;

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let lib: ReturnType<typeof tempDir>;
let redisPort: number;
let redisUrl: string;
let redis: ChildProcess | undefined;
let s: Sfumato;
let srv: WebServer;
let datasetId: string;
const workers = new Map<string, ChildProcess>();
/** the test's hook in the server: called before each worker message is recorded */
let hook: ((jobId: string, msg: FromJob) => void | Promise<void>) | undefined;

async function startRedis(): Promise<void> {
  const r = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', lib.dir], { stdio: 'ignore' });
  redis = r;
  await until('redis to answer', () => spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).stdout?.toString().trim() === 'PONG', 20_000);
}

async function stopRedis(): Promise<void> {
  const r = redis;
  if (!r || r.exitCode !== null) return;
  const exited = new Promise((res) => r.once('exit', res));
  spawnSync('redis-cli', ['-p', String(redisPort), 'shutdown']);
  await exited;
  redis = undefined;
}

function spawnWorker(id: string): Promise<ChildProcess> {
  const w = spawn(
    process.execPath,
    [CLI, 'worker', '--server', `http://127.0.0.1:${srv.port}`, '--token', WORKER_TOKEN, '--queue', redisUrl, '--cache-dir', join(lib.dir, `cache-${id}`), '--id', id, '--lock-ms', '2000'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  workers.set(id, w);
  let log = '';
  w.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
    if (process.env.SFUMATO_TEST_VERBOSE) process.stderr.write(c);
  });
  return until(`worker ${id} to be ready`, () => {
    if (w.exitCode !== null) throw new Error(`worker ${id} exited: ${log}`);
    return log.includes('ready:') && w;
  }, 60_000);
}

async function stopWorker(id: string, signal: NodeJS.Signals): Promise<void> {
  const w = workers.get(id);
  workers.delete(id);
  if (!w || w.exitCode !== null || w.signalCode !== null) return;
  const exited = new Promise((r) => w.once('exit', r));
  w.kill(signal);
  await exited;
}

/** The server: Sfumato with the queue (and the test's hook) behind the web server. */
async function openServer(port: number): Promise<void> {
  s = await Sfumato.open({ libraryPath: join(lib.dir, 'library'), mode: 'web', queue: { url: redisUrl, maxUploadBytes: UPLOAD_CAP, beforeRecord: (id, m) => hook?.(id, m) } });
  srv = await startWebServer(s, { port, token: TOKEN, workerToken: WORKER_TOKEN });
}

/** The worker that holds a job now (its last claim). */
function holderOf(jobId: string): string {
  const c = [...s.queue!.claims].reverse().find((x) => x.jobId === jobId);
  if (!c) throw new Error(`job ${jobId} was never claimed`);
  return c.worker;
}

describe.skipIf(!HAVE_REDIS)('jobs on workers through BullMQ on Redis', () => {
  beforeAll(async () => {
    lib = tempDir('sfumato-queue-');
    redisPort = await freePort();
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    await startRedis();
    await openServer(0);
    datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
    await Promise.all([spawnWorker('w1'), spawnWorker('w2')]);
  }, 180_000);

  afterAll(async () => {
    hook = undefined;
    for (const id of [...workers.keys()]) await stopWorker(id, 'SIGKILL');
    await srv?.close();
    await s?.close();
    await stopRedis();
    lib?.cleanup();
  }, 60_000);

  const config = { ...TINY_CONFIG, steps: 8, checkpointEvery: 2, previewEvery: 0 };
  let referenceRun = '';

  it('a training run whose worker is SIGKILLed after its second checkpoint finishes on the other worker like an uninterrupted run', async () => {
    const straight = await s.startRun({ datasetId, seed: 5, config });
    const a = await straight.done;
    expect(a.status).toBe('completed');
    referenceRun = a.id;

    let killed = '';
    hook = async (jobId, msg) => {
      if (msg.type === 'checkpoint' && msg.step === 4 && !killed) {
        killed = holderOf(jobId);
        await stopWorker(killed, 'SIGKILL');
      }
    };
    const { run, done } = await s.startRun({ datasetId, seed: 5, config });
    const b = await done;
    hook = undefined;
    expect(killed).not.toBe('');
    expect(b.status).toBe('completed');
    const jobClaims = s.queue!.claims.filter((c) => c.jobId.startsWith(`train-${run.id}-`));
    expect(jobClaims.length).toBe(2);
    expect(jobClaims[0].worker).toBe(killed);
    expect(jobClaims[1].worker).not.toBe(killed);
    const ra = (await s.api['runs:get']({ id: a.id })).run;
    const rb = (await s.api['runs:get']({ id: run.id })).run;
    expect(rb.losses.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rb.losses).toEqual(ra.losses);
    expect(rb.weightsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(rb.weightsDigest).toBe(ra.weightsDigest);
    // the resumed worker went on from step 4: the checkpoints are the same steps as the reference's
    expect((await s.store.checkpoints.list(run.id)).map((c) => c.step)).toEqual((await s.store.checkpoints.list(a.id)).map((c) => c.step));
    await spawnWorker('w3');
  }, 300_000);

  it('the server stops while a run trains on a worker; at its next start the run resumes in the queue and ends like an uninterrupted run', async () => {
    for (const id of [...workers.keys()]) await stopWorker(id, 'SIGTERM');
    await spawnWorker('r1');
    let killed = '';
    hook = async (jobId, msg) => {
      if (msg.type === 'checkpoint' && msg.step === 4 && !killed) {
        killed = holderOf(jobId);
        await stopWorker(killed, 'SIGKILL');
      }
    };
    const { run, done } = await s.startRun({ datasetId, seed: 5, config });
    done.catch(() => undefined);
    await until('the second checkpoint', async () => !!killed && (await s.store.checkpoints.count(run.id)) >= 2);
    hook = undefined;
    const port = srv.port;
    await srv.close();
    await s.close();
    await openServer(port);
    await spawnWorker('r2');
    const end = await until('the resumed run to end', async () => {
      const x = await s.store.runs.get(run.id);
      return x && ['completed', 'failed', 'cancelled'].includes(x.status) && x;
    }, 240_000);
    expect(end.status).toBe('completed');
    const ra = (await s.api['runs:get']({ id: referenceRun })).run;
    const rb = (await s.api['runs:get']({ id: run.id })).run;
    expect(rb.losses).toEqual(ra.losses);
    expect(rb.weightsDigest).toBe(ra.weightsDigest);
    await spawnWorker('r3');
  }, 300_000);

  it('16 sampling images spread over two workers land as 16 gallery rows', async () => {
    const before = s.queue!.claims.length;
    const results = await Promise.all([0, 1, 2, 3].map((k) => s.generate({ runId: referenceRun, count: 4, seed: 100 + 4 * k, sampler: 'ddim', steps: 3 })));
    const ids = results.flatMap((r) => r.samples.map((x) => x.id));
    expect(ids.length).toBe(16);
    expect(new Set(ids).size).toBe(16);
    for (const id of ids) expect(await s.store.samples.get(id)).toBeTruthy();
    const takers = new Set(s.queue!.claims.slice(before).map((c) => c.worker));
    expect(takers.size).toBe(2);
    // the System page's list: every live worker advertised itself
    const info = await s.systemInfo();
    expect(info.queue?.url).toContain(`127.0.0.1:${redisPort}`);
    expect(info.queue?.workers.map((w) => w.id)).toEqual(expect.arrayContaining([...takers]));
    expect(info.queue?.workers.every((w) => w.providers.length > 0 && w.concurrency === 1)).toBe(true);
    // the same seeds sampled on this machine give the same records' seeds (provenance is whole)
    expect(results.flatMap((r) => r.samples.map((x) => x.seed)).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => 100 + i));
  }, 300_000);

  it('a 64-image job whose worker is killed midway ends with exactly 64 rows, unique keys, no orphan files', async () => {
    let killed = '';
    hook = async (jobId, msg) => {
      if (msg.type === 'sample' && msg.index === 20 && !killed) {
        killed = holderOf(jobId);
        await stopWorker(killed, 'SIGKILL');
      }
    };
    const r = await s.generate({ runId: referenceRun, count: 64, seed: 1000, sampler: 'ddim', steps: 2 });
    hook = undefined;
    expect(killed).not.toBe('');
    expect(r.cancelled).toBe(false);
    expect(r.samples.length).toBe(64);
    expect(new Set(r.samples.map((x) => x.id)).size).toBe(64);
    expect(r.samples.map((x) => x.seed).sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => 1000 + i));
    const claims = s.queue!.claims.filter((c) => c.jobId === r.jobId);
    expect(claims.length).toBe(2);
    // no orphans: every PNG in the samples folders has a row, every row has its PNG
    const rows = (await s.store.samples.query({ limit: 10_000, offset: 0 } as never)).samples;
    const files = new Set<string>();
    const samplesDir = join(lib.dir, 'library', 'samples');
    for (const day of readdirSync(samplesDir)) for (const f of readdirSync(join(samplesDir, day))) files.add(`samples/${day}/${f}`);
    expect([...files].sort()).toEqual(rows.map((x) => x.file).sort());
    await spawnWorker('w4');
  }, 300_000);

  it('jobs queued while Redis is stopped and restarted still run; a job started while it is down fails at once with the reason', async () => {
    for (const id of [...workers.keys()]) await stopWorker(id, 'SIGTERM');
    const pending = [s.generate({ runId: referenceRun, count: 2, seed: 7, sampler: 'ddim', steps: 2 }), s.generate({ runId: referenceRun, count: 2, seed: 9, sampler: 'ddim', steps: 2 })];
    await until('both jobs waiting in Redis', async () => ((await s.queue!.counts()).waiting ?? 0) >= 2);
    await stopRedis();
    // while Redis is down a new job is refused within seconds, with the reason; nothing hangs
    await expect(s.generate({ runId: referenceRun, count: 1, seed: 11, sampler: 'ddim', steps: 2 })).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:\d+ did not take the job/);
    await startRedis();
    await spawnWorker('w5');
    const results = await Promise.all(pending);
    expect(results.map((x) => x.samples.length)).toEqual([2, 2]);
  }, 300_000);

  it('a worker cannot write outside its job folder, upload a damaged file or an image under another key; a lost lease is refused', async () => {
    for (const id of [...workers.keys()]) await stopWorker(id, 'SIGTERM');
    const pending = s.generate({ runId: referenceRun, count: 2, seed: 3, sampler: 'ddim', steps: 2 });
    const jobId = await until('the sampling job', () => s.jobs.list().find((j) => j.kind === 'sample')?.id);
    const base = `http://127.0.0.1:${srv.port}`;
    const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
    const claimed = (await (await fetch(`${base}/api/worker/claim`, { method: 'POST', headers: auth, body: JSON.stringify({ jobId, workerId: 'intruder' }) })).json()) as {
      result: { lease: string; spec: { outDirRel: string; names: string[]; seeds: number[]; record: Record<string, unknown> } };
    };
    const { lease, spec } = claimed.result;
    const png = Buffer.from('not an image');
    const sha = createHash('sha256').update(png).digest('hex');
    const record = { ...spec.record, id: spec.names[0], file: `${spec.outDirRel}/${spec.names[0]}.png`, seed: spec.seeds[0], steps: 2, nfe: 2, origin: { kind: 'seed' }, backend: 'x', createdAt: new Date().toISOString() };
    const upload = (msg: unknown, digest: string, l = lease) =>
      fetch(`${base}/api/worker/jobs/${jobId}/output?lease=${l}`, {
        method: 'POST',
        headers: { ...auth, 'x-sfumato-message': Buffer.from(JSON.stringify(msg)).toString('base64'), 'x-sfumato-sha256': digest },
        body: png,
      });
    expect((await upload({ type: 'sample', index: 0, record: { ...record, file: '../../evil.png' } }, sha)).status).toBe(400);
    expect((await upload({ type: 'sample', index: 0, record: { ...record, file: `${spec.outDirRel}/../../evil.png` } }, sha)).status).toBe(400);
    expect((await upload({ type: 'sample', index: 0, record: { ...record, file: `${spec.outDirRel}/x.sfwt` } }, sha)).status).toBe(400);
    expect((await upload({ type: 'sample', index: 0, record }, 'f'.repeat(64))).status).toBe(400);
    expect((await upload({ type: 'sample', index: 1, record }, sha)).status).toBe(400);
    expect((await upload({ type: 'checkpoint', step: 1, file: `runs/x/checkpoints/a.sfwt`, sha256: sha, weightsDigest: '', loss: null }, sha)).status).toBe(400);
    const huge = await fetch(`${base}/api/worker/jobs/${jobId}/output?lease=${lease}`, {
      method: 'POST',
      headers: { ...auth, 'x-sfumato-message': Buffer.from(JSON.stringify({ type: 'sample', index: 0, record })).toString('base64'), 'x-sfumato-sha256': sha },
      body: Buffer.alloc(UPLOAD_CAP + 1),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { message: string } }).error.message).toMatch(/larger than this server takes/);
    expect(existsSync(join(lib.dir, 'evil.png')) || existsSync(join(lib.dir, 'library', 'evil.png'))).toBe(false);
    expect(existsSync(join(lib.dir, 'library', record.file))).toBe(false);
    // a real worker takes the job from the queue: the intruder's lease is revoked, the job ends whole
    await spawnWorker('w6');
    const r = await pending;
    expect(r.samples.length).toBe(2);
    expect((await upload({ type: 'sample', index: 0, record }, sha)).status).toBe(404);
  }, 300_000);

  it('the CLI as a client of the server (--server --token): sample and runs list with the same --json shapes', async () => {
    // async: the server runs in this process, so a blocking spawnSync would stall it
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, '--server', `http://127.0.0.1:${srv.port}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
        p.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        p.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    const cli = async (...args: string[]) => {
      const r = await run(['--token', TOKEN, ...args, '--json']);
      if (r.status !== 0) throw new Error(`sfumato ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    };
    const sampled = (await cli('sample', '--run', referenceRun, '--count', '2', '--seed', '77', '--steps', '2')) as { samples: { id: string; seed: number; runId: string }[] };
    expect(sampled.samples.map((x) => x.seed)).toEqual([77, 78]);
    for (const x of sampled.samples) expect((await s.store.samples.get(x.id))?.runId).toBe(referenceRun);
    const listed = (await cli('runs', 'list')) as { runs: { id: string }[] };
    const local = await s.api['runs:list']({});
    expect(listed.runs.map((r) => r.id).sort()).toEqual(local.runs.map((r) => r.id).sort());
    const refused = await run(['--token', 'wrong-token', 'runs', 'list', '--json']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refused the token/);
  }, 300_000);

  it('Redis unreachable: opening a server with the queue fails at once with a clear message', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(Sfumato.open({ libraryPath: join(lib.dir, 'other'), mode: 'web', queue: { url: `redis://127.0.0.1:${port}`, redisTimeoutMs: 2000 } })).rejects.toThrow(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);

  it('the worker routes refuse a wrong token; the worker token opens only them and can be revoked', async () => {
    const base = `http://127.0.0.1:${srv.port}`;
    const bad = await fetch(`${base}/api/worker/heartbeat`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' });
    expect(bad.status).toBe(401);
    // the worker token opens only the worker routes
    const other = await fetch(`${base}/api/runs/list`, { method: 'POST', headers: { authorization: `Bearer ${WORKER_TOKEN}` }, body: '{}' });
    expect(other.status).toBe(401);
    const gone = await fetch(`${base}/api/worker/jobs/job_x/output?lease=abc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WORKER_TOKEN}`, 'x-sfumato-message': Buffer.from(JSON.stringify({ type: 'preview', step: 1, file: '../../etc/x.png' })).toString('base64') },
      body: Buffer.from('x'),
    });
    expect(gone.status).toBe(404);
    // revoked: the worker token stops working, the server token still works
    expect((await fetch(`${base}/api/worker-token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const after = await fetch(`${base}/api/worker/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${WORKER_TOKEN}` }, body: '{}' });
    expect(after.status).toBe(401);
  }, 60_000);
});

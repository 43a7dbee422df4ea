/** What travels between a queue server and its workers: typed arrays survive, Redis URLs parse, the right jobs go remote. */
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../../src-main/jobs/protocol';
import { decodeWire, encodeWire, fileOf, redactRedisUrl, redisOptions, runsOnWorkers } from '../../../src-main/jobs/queue-wire';

describe('queue wire', () => {
  it('carries Float32Array and Uint8Array exactly through JSON', () => {
    const f = new Float32Array([0.1, -2.5, Math.PI, 1e-30, -0]);
    const u = new Uint8Array([0, 1, 254, 255]);
    const back = decodeWire<{ f: Float32Array; u: Uint8Array; n: number; nested: { s: string } }>(encodeWire({ f, u, n: 3, nested: { s: 'x' } }));
    expect(back.f).toBeInstanceOf(Float32Array);
    expect([...back.f]).toEqual([...f]);
    expect(Object.is(back.f[4], -0)).toBe(true);
    expect(back.u).toBeInstanceOf(Uint8Array);
    expect([...back.u]).toEqual([...u]);
    expect(back.n).toBe(3);
    expect(back.nested.s).toBe('x');
    // a view into a larger buffer sends only its own bytes
    const big = new Float32Array([9, 8, 7, 6]);
    expect([...decodeWire<Float32Array>(encodeWire(big.subarray(1, 3)))]).toEqual([8, 7]);
  });

  it('parses redis:// URLs with password, user, db and TLS; refuses others with the fix', () => {
    expect(redisOptions('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(redisOptions('redis://:s%40cret@10.0.0.5:6379/2')).toEqual({ host: '10.0.0.5', port: 6379, password: 's@cret', db: 2 });
    expect(redisOptions('rediss://worker:pw@redis.example')).toEqual({ host: 'redis.example', port: 6379, username: 'worker', password: 'pw', tls: {} });
    expect(() => redisOptions('http://x:1')).toThrow(/must start with redis:\/\//);
    expect(() => redisOptions('not a url')).toThrow(/redis:\/\/HOST:PORT/);
    expect(redactRedisUrl('redis://:secret@h:1')).not.toContain('secret');
  });

  it('sends training and gallery sampling to workers; estimates, reproduce, animations, exports and grids stay local', () => {
    const train = { kind: 'train' } as JobSpec;
    expect(runsOnWorkers(train)).toBe(true);
    expect(runsOnWorkers({ kind: 'train', estimateSteps: 3 } as JobSpec)).toBe(false);
    expect(runsOnWorkers({ kind: 'sample' } as JobSpec)).toBe(true);
    expect(runsOnWorkers({ kind: 'sample', scratch: true } as JobSpec)).toBe(false);
    expect(runsOnWorkers({ kind: 'sample', captureFrames: 'x0' } as JobSpec)).toBe(false);
    expect(runsOnWorkers({ kind: 'export' } as JobSpec)).toBe(false);
    expect(runsOnWorkers({ kind: 'grid' } as JobSpec)).toBe(false);
  });

  it('knows which messages carry a file', () => {
    expect(fileOf({ type: 'checkpoint', step: 2, file: 'runs/r/checkpoints/a.sfwt', sha256: '', weightsDigest: '', loss: null })).toBe('runs/r/checkpoints/a.sfwt');
    expect(fileOf({ type: 'preview', step: 2, file: 'runs/r/previews/a.png' })).toBe('runs/r/previews/a.png');
    expect(fileOf({ type: 'log', message: 'x' })).toBeUndefined();
  });
});

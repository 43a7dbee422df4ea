/** Plain records for renderer tests (only the fields the renderer reads are meaningful). */
import type { Checkpoint, Run, RunDetail, SampleRecord, TrainConfig } from '../../../../src-main/api/types';

export function trainConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return { steps: 300, imageSize: 32, batchSize: 8, schedule: 'linear', objective: 'eps', ...over } as unknown as TrainConfig;
}

export function run(id: string, over: Partial<Run> = {}): Run {
  return {
    id,
    name: `name of ${id}`,
    datasetId: 'ds_a',
    status: 'completed',
    config: trainConfig(),
    seed: 1,
    step: 300,
    lastLoss: 0.1,
    backend: 'cpu',
    error: null,
    initFrom: null,
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
    ...over,
  };
}

export function runDetail(id: string, over: Partial<RunDetail> = {}): RunDetail {
  return { ...run(id), weightsDigest: null, previews: [], checkpoints: [], losses: [], likelihood: [], trainableParams: 1000, totalParams: 1000, ...over };
}

export function checkpoint(id: string, runId: string, step: number, createdAt = '2026-03-01T10:00:00.000Z'): Checkpoint {
  return { id, runId, step, file: `runs/${runId}/${id}.sfwt`, sha256: id.padEnd(64, '0'), loss: null, weightsDigest: null, createdAt };
}

export function sampleRecord(id: string, over: Partial<SampleRecord> = {}): SampleRecord {
  return {
    id,
    file: `samples/${id}.png`,
    seed: 7,
    sampler: 'ddim',
    steps: 20,
    samplerOptions: {},
    schedule: 'linear' as never,
    checkpoint: { id: 'ckpt_a', sha256: 'a'.repeat(64) },
    runId: 'run_a',
    width: 32,
    height: 32,
    backend: 'cpu',
    appVersion: '0.1.0',
    prediction: 'eps',
    nfe: 20,
    origin: { kind: 'seed' },
    parentId: null,
    createdAt: '2026-03-01T10:00:00.000Z',
    ...over,
  };
}

/**
 * The one error mapping (api/errors.ts toApiError): every domain error class, the diffusion
 * errors, aborts, raw errno and SQLite errors and wire shapes come out as the contract's
 * ApiError with the same code, whichever transport asks (the job process, HTTP, IPC, the CLI).
 */
import { describe, expect, it } from 'vitest';
import { ApiError, DomainError, HTTP_STATUS, isApiErrorCode, toApiError } from '../../../src-main/api/errors';
import type { ApiErrorCode } from '../../../src-main/api/types';
import { DiffusionConfigError } from '../../../src-main/diffusion/types';
import { AbortError } from '../../../src-main/diffusion/samplers/common';
import { TrainConfigError } from '../../../src-main/training/config';
import { ModelConfigError } from '../../../src-main/network/config';
import { WeightsFormatError } from '../../../src-main/network/weights';
import { DatasetError } from '../../../src-main/datasets/errors';
import { ExportError } from '../../../src-main/gallery/export';
import { StorageFullError } from '../../../src-main/db/files';
import { OrtError } from '../../../src-main/onnx/session';
import { OnnxModelError } from '../../../src-main/onnx/inspect';
import { ProtoDecodeError } from '../../../src-main/onnx/proto';
import { BackendUnavailableError } from '../../../src-main/training/backends/ladder';
import { abortError } from '../../../src-main/gallery/atomic';
import { userMessage } from '../../../src-main/cli/main';
import { dopri5 } from '../../../src-main/diffusion/solvers/dopri5';

const cases: [string, unknown, ApiErrorCode, unknown][] = [
  ['TrainConfigError', new TrainConfigError('lr', 'lr must be positive'), 'bad_request', { field: 'lr' }],
  ['ModelConfigError', new ModelConfigError('groups', 'must divide the channels'), 'bad_request', { field: 'groups' }],
  ['DiffusionConfigError', new DiffusionConfigError('sampler.steps', 'steps must be at least 1'), 'bad_request', { field: 'sampler.steps' }],
  ['WeightsFormatError', new WeightsFormatError('WEIGHTS_CORRUPT', 'the file is corrupt'), 'bad_request', { reason: 'WEIGHTS_CORRUPT' }],
  ['DatasetError not_found', new DatasetError('not_found', '/x does not exist'), 'not_found', { datasetCode: 'not_found' }],
  ['DatasetError no_images', new DatasetError('no_images', 'no images', { errors: [] }), 'bad_request', { datasetCode: 'no_images', errors: [] }],
  ['DatasetError cancelled', new DatasetError('cancelled', 'cancelled'), 'cancelled', { datasetCode: 'cancelled' }],
  ['DatasetError cache_invalid', new DatasetError('cache_invalid', 'damaged'), 'internal', { datasetCode: 'cache_invalid' }],
  ['ExportError exists', new ExportError('exists', 'out.zip exists'), 'conflict', { reason: 'exists' }],
  ['ExportError unsafe_path', new ExportError('unsafe_path', 'bad name'), 'bad_request', { reason: 'unsafe_path' }],
  ['StorageFullError', new StorageFullError('ENOSPC', '/lib/a.png', '/lib'), 'unavailable', { code: 'ENOSPC', file: '/lib/a.png' }],
  ['OrtError ORT_UNAVAILABLE', new OrtError('ORT_UNAVAILABLE', 'no onnxruntime'), 'unavailable', { reason: 'ORT_UNAVAILABLE' }],
  ['OrtError PROVIDER_UNAVAILABLE', new OrtError('PROVIDER_UNAVAILABLE', 'no cuda'), 'unavailable', { reason: 'PROVIDER_UNAVAILABLE' }],
  ['OrtError BAD_INPUT', new OrtError('BAD_INPUT', 'wrong shape'), 'bad_request', { reason: 'BAD_INPUT' }],
  ['OrtError RUN_FAILED', new OrtError('RUN_FAILED', 'kernel failed'), 'internal', { reason: 'RUN_FAILED' }],
  ['OnnxModelError', new OnnxModelError('ONNX_NOT_ONNX', 'not an ONNX file'), 'bad_request', { reason: 'ONNX_NOT_ONNX' }],
  ['ProtoDecodeError', new ProtoDecodeError(true, 'truncated'), 'bad_request', undefined],
  ['BackendUnavailableError', new BackendUnavailableError('webgpu', 'no adapter'), 'unavailable', { backend: 'webgpu', reason: 'no adapter' }],
  ['AbortError', new AbortError(), 'cancelled', undefined],
  ['the platform abort (DOMException)', new DOMException('This operation was aborted', 'AbortError'), 'cancelled', undefined],
  ['gallery abortError without a reason', abortError(), 'cancelled', undefined],
  ['ApiError', new ApiError('conflict', 'taken', { id: 'x' }), 'conflict', { id: 'x' }],
  ['a wire shape', { code: 'not_found', message: 'No run run_x.' }, 'not_found', undefined],
];

describe('toApiError: one mapping for every error', () => {
  it.each(cases)('%s', (_name, err, code, details) => {
    const e = toApiError(err);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe(code);
    expect(e.details).toEqual(details);
    expect(e.message).toBe((err as { message: string }).message);
    // every code the mapping yields has an HTTP status (web mode)
    expect(HTTP_STATUS[e.code]).toBeGreaterThanOrEqual(400);
  });

  it('every domain error class of the layers above api/ is a DomainError (so none falls through as internal)', () => {
    for (const [name, err] of cases) {
      if (name.startsWith('Diffusion') || /abort|Abort|ApiError|wire/.test(name)) continue;
      expect(err, name).toBeInstanceOf(DomainError);
    }
  });

  it('maps by class or code, never by name: an error that only calls itself TrainConfigError is internal', () => {
    const impostor = Object.assign(new Error('lr must be positive'), { name: 'TrainConfigError', field: 'lr' });
    expect(toApiError(impostor).code).toBe('internal');
  });

  it('a full disk is unavailable and says what to do; other errno codes are internal and keep their code', () => {
    const full = toApiError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    expect(full.code).toBe('unavailable');
    expect(full.message).toMatch(/disk is full or read-only.*Free space/);
    const enoent = toApiError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
    expect(enoent.code).toBe('internal');
    expect(enoent.details).toEqual({ code: 'ENOENT' });
  });

  it('never yields a code outside the contract', () => {
    for (const raw of [new Error('x'), 'a string', 42, null, undefined, { code: 'WEIRD', message: 'm' }, Object.assign(new Error('SQLITE_BUSY: locked'), { code: 'SQLITE_BUSY' })]) {
      expect(isApiErrorCode(toApiError(raw).code)).toBe(true);
    }
  });

  it('the CLI reports the same code as the other transports', () => {
    for (const [name, err, code] of cases) {
      if (code === 'internal') continue;
      expect(userMessage(err).code, name).toBe(code);
    }
    expect(userMessage(new TrainConfigError('lr', 'lr must be positive')).message).toBe('lr must be positive');
  });

  it('an aborted ODE solve (the pf-ode sampler) is cancelled, not a bug: the job reports a cancel', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await dopri5(async (_u, y) => y, new Float64Array([1]), 0, 1, { signal: ac.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    expect(toApiError(err).code).toBe('cancelled');
  });
});

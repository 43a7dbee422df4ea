/**
 * Reproduce: regenerate a gallery sample (or the recipe in a PNG Sfumato wrote) from its record
 * into a scratch folder and compare the pixels; the denoising animation of a sample.
 */
import { promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import sharp from 'sharp';
import { ApiError } from '../api/errors';
import type { JobProgress, ReproduceResult, SampleRecord } from '../api/types';
import { SAMPLER_NAMES } from '../diffusion/index';
import { readSampleMetadata } from '../gallery/metadata';
import { pngHeaderSize } from '../png/chunks';
import { isNoSpaceErrno } from '../db/files';
import { newId } from '../db/ids';
import { readUserFile, type ServiceContext } from './context';
import { validateOrigin } from './errors';
import { checkpointSource } from './models';
import type { SamplingService } from './sampling';

/** Most bytes a PNG given to `reproduce` may have (Sfumato's samples are a few KB). */
const MAX_REPRODUCE_FILE_BYTES = 64 * 1024 * 1024;

export class ReproduceService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly sampling: SamplingService,
  ) {}

  /**
   * Regenerate a gallery sample from its record (same checkpoint, sampler, settings, seed and
   * origin) into a scratch folder and compare the pixels with the stored image.
   */
  async sample(sampleId: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    const rec = await this.ctx.store.samples.get(sampleId);
    if (!rec) throw new ApiError('not_found', `No gallery sample ${sampleId}.`);
    if (rec.kind === 'grid') return this.grid(rec, onProgress);
    return this.reproduceRecord(rec, this.ctx.library.abs(rec.file), onProgress);
  }

  /**
   * An X/Y grid is reproduced through its cells: each cell is regenerated from its own record and
   * compared; the grid is identical when every cell is (its image is drawn from the cells).
   */
  private async grid(rec: SampleRecord, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    const ids = rec.grid?.cells ?? [];
    if (!ids.length) throw new ApiError('conflict', `Grid ${rec.id} lists no cells, so there is nothing to reproduce.`);
    let maxDiff = 0;
    let share = 0;
    let identical = true;
    let backend = '';
    for (const id of ids) {
      const cell = await this.ctx.store.samples.get(id);
      if (!cell) throw new ApiError('not_found', `Cell ${id} of grid ${rec.id} is no longer in the gallery (it was deleted for good), so the grid cannot be reproduced; make the grid again.`);
      const r = await this.reproduceRecord(cell, this.ctx.library.abs(cell.file), onProgress);
      identical &&= r.identical;
      maxDiff = Math.max(maxDiff, r.maxDiff);
      share += r.differingShare / ids.length;
      backend ||= r.backend;
    }
    return { sampleId: rec.id, identical, maxDiff, differingShare: share, backend };
  }

  /** Reproduce from a PNG file's embedded Sfumato record (the checkpoint must be in this library). */
  async file(file: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    const bytes = await readUserFile(file, MAX_REPRODUCE_FILE_BYTES, 'file');
    // The pixel count comes from the header, checked before anything decodes the file.
    const dims = pngHeaderSize(bytes);
    if (!dims) throw new ApiError('bad_request', `${file} is not a PNG image. Reproduce reads the PNG files Sfumato writes (they carry the recipe); give one of those.`, { field: 'file' });
    const meta = readSampleMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (!meta.record) {
      // problems about the recipe's bounds first: they name the field and the allowed range
      const problems = [...meta.problems].sort((a, b) => Number(/ must be /.test(b)) - Number(/ must be /.test(a)));
      throw new ApiError('bad_request', `${file} carries no complete Sfumato record${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}; only unmodified images made by Sfumato can be reproduced.`, { field: 'file' });
    }
    // The file's fields were type- and bounds-checked by the reader; what we act on is validated
    // again here: the sampler settings by validateSamplerSettings (in runSampling), the origin
    // below, and the schedule and model come from this library's checkpoint, not from the file.
    const rec = meta.record as unknown as SampleRecord;
    if (rec.kind === 'grid') {
      // a grid image is drawn from its cells: reproduce those, when they are in this library
      const known = rec.id ? await this.ctx.store.samples.get(rec.id) : undefined;
      if (known?.kind === 'grid') return this.grid(known, onProgress);
      throw new ApiError('bad_request', `${file} is an X/Y grid image whose grid (${rec.id}) is not in this library; open the library that made it, or reproduce one of its cell PNGs.`, { field: 'file' });
    }
    if (!(SAMPLER_NAMES as readonly string[]).includes(rec.sampler)) throw new ApiError('bad_request', `${file}: unknown sampler ${JSON.stringify(rec.sampler)}.`);
    if (dims.width !== rec.width || dims.height !== rec.height) {
      throw new ApiError('bad_request', `${file} is ${dims.width} x ${dims.height} px but its record says ${rec.width} x ${rec.height}: the image was resized or altered, so it cannot be compared. Reproduce the original PNG that Sfumato wrote.`, { field: 'file' });
    }
    rec.origin = validateOrigin(rec.origin);
    return this.reproduceRecord(rec, bytes, onProgress);
  }

  /**
   * A denoising animation of a gallery sample: regenerate it (as reproduce does) while recording
   * image 0's predicted x0 (or its state x_t) at every step, then encode GIF or animated WebP.
   */
  async animate(
    id: string,
    opts: { out: string; what?: 'x0' | 'xt'; format?: 'gif' | 'webp'; delayMs?: number; scale?: number; signal?: AbortSignal },
    onProgress?: (p: JobProgress) => void,
  ): Promise<{ file: string; frames: number; identical: boolean }> {
    const rec = await this.ctx.store.samples.get(id);
    if (!rec) throw new ApiError('not_found', `No gallery sample ${id}.`);
    const out = resolve(opts.out);
    const cancelled = () => new ApiError('cancelled', `The animation was cancelled; nothing was written to ${out}.`);
    const frames = { what: opts.what ?? 'x0', out: [] as Uint8Array[] };
    let r: ReproduceResult;
    try {
      r = await this.reproduceRecord(rec, this.ctx.library.abs(rec.file), onProgress, frames);
    } catch (e) {
      throw e instanceof ApiError && e.code === 'cancelled' ? cancelled() : e;
    }
    if (opts.signal?.aborted) throw cancelled();
    const { denoisingAnimation } = await import('../gallery/export');
    const final = await rawPixels(this.ctx.library.abs(rec.file), rec.width);
    const format = opts.format ?? (out.toLowerCase().endsWith('.webp') ? 'webp' : 'gif');
    let bytes: Uint8Array;
    try {
      bytes = await denoisingAnimation([...frames.out, final], rec.width, rec.height, {
        format,
        delayMs: opts.delayMs ?? 120,
        lastFrameDelayMs: 1500,
        scale: opts.scale ?? Math.max(1, Math.floor(256 / rec.width)),
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw cancelled();
      throw e;
    }
    if (opts.signal?.aborted) throw cancelled();
    // Atomic and never over an existing file: a temp file beside `out`, fsync, no-clobber move.
    const { writeNewFile } = await import('../gallery/atomic');
    await writeNewFile(out, bytes).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new ApiError('conflict', `${out} exists; choose another file name.`, { field: 'out' });
      if (isNoSpaceErrno(e)) {
        throw new ApiError(
          'unavailable',
          `Could not write the animation ${out}: ${e.code === 'EROFS' ? 'the disk is read-only' : 'the disk is full'} (${e.code}); nothing was written there. Free space on the disk that holds ${dirname(out)}, or choose another file, and try again.`,
          { field: 'out' },
        );
      }
      throw new ApiError('bad_request', `Cannot write the animation ${out}: ${e.message}. Check that the folder exists and that you may write to it.`, { field: 'out' });
    });
    return { file: out, frames: frames.out.length + 1, identical: r.identical };
  }

  private async reproduceRecord(
    rec: SampleRecord,
    /** the image to compare with: a library file, or the bytes of a user's PNG */
    file: string | Buffer,
    onProgress?: (p: JobProgress) => void,
    frames?: { what: 'x0' | 'xt'; out: Uint8Array[] },
  ): Promise<ReproduceResult> {
    const checkpoint = (rec.checkpoint.id && (await this.ctx.store.checkpoints.get(rec.checkpoint.id))) || (await this.ctx.store.checkpoints.bySha256(rec.checkpoint.sha256));
    if (!checkpoint || checkpoint.sha256 !== rec.checkpoint.sha256) {
      throw new ApiError('not_found', `The checkpoint this image came from (sha256 ${rec.checkpoint.sha256.slice(0, 12)}…) is not in this library.`);
    }
    const source = await checkpointSource(this.ctx.store, checkpoint);
    const size = source.config.imageSize;
    if (rec.width !== size || rec.height !== size) {
      throw new ApiError('conflict', `The image is ${rec.width} x ${rec.height} px but checkpoint ${checkpoint.id} makes ${size} x ${size} images, so it cannot come from that checkpoint unchanged. Reproduce the original PNG that Sfumato wrote.`);
    }
    let sourceImage: Float32Array | undefined;
    if (rec.origin.kind === 'img2img') {
      const src = await this.sampling.sourcePixels({ sourceSampleId: rec.origin.source.sampleId, sourceDatasetItemId: rec.origin.source.datasetItemId }, size);
      if (src.ref.sha256 !== rec.origin.source.sha256) throw new ApiError('conflict', 'The image-to-image source has changed since this image was made; it cannot be reproduced exactly.');
      sourceImage = src.pixels;
    }
    // the adapter it was made with: the same file (by its recorded name) with the same bytes
    const lora = rec.lora ? await this.sampling.resolveLora(checkpoint, rec.lora.file.startsWith('runs/') ? undefined : rec.lora.file, rec.lora.scale, rec.lora.sha256) : undefined;
    const scratchRel = this.ctx.library.rel('tmp', `reproduce-${newId('job')}`);
    const scratch = { abs: this.ctx.library.abs(scratchRel), rel: scratchRel };
    try {
      const r = await this.sampling.runSampling(
        {
          checkpoint,
          source,
          sampler: rec.sampler,
          steps: rec.sampler === 'pf-ode' ? undefined : rec.steps,
          options: rec.samplerOptions,
          seeds: [rec.seed],
          origins: [rec.origin],
          sourceImage,
          parentId: null,
          // the same engine as the original (ONNX Runtime or tfjs): results are exact per engine
          engine: rec.backend.startsWith('onnxruntime') ? 'onnx' : 'tfjs',
          // class-conditional samples: the same class and guidance scale
          ...(rec.guidance ? { guidance: { class: rec.guidance.class, scale: rec.guidance.scale } } : {}),
          frames,
          scratchDir: scratch,
          lora,
        },
        onProgress,
      );
      const again = r.samples[0];
      if (r.cancelled || !again) throw new ApiError('cancelled', 'Reproduce was cancelled before the image was regenerated; nothing was compared and nothing was added to the gallery.');
      const [a, b] = await Promise.all([rawPixels(file, size), rawPixels(this.ctx.library.abs(again.file), size)]);
      let maxDiff = 0;
      let differing = 0;
      const px = Math.min(a.length, b.length) / 3;
      for (let i = 0; i < px; i++) {
        let d = 0;
        for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(a[i * 3 + c] - b[i * 3 + c]));
        if (d > 0) differing++;
        maxDiff = Math.max(maxDiff, d);
      }
      return { sampleId: rec.id, identical: a.length === b.length && maxDiff === 0, maxDiff, differingShare: px ? differing / px : 1, backend: again.backend };
    } finally {
      await fs.rm(scratch.abs, { recursive: true, force: true });
    }
  }
}

/**
 * Decoded RGB bytes of an image (alpha dropped) that should be `size` x `size`: sharp refuses
 * anything larger from its header, before decoding, and the error says what to do.
 */
async function rawPixels(input: string | Buffer, size: number): Promise<Uint8Array> {
  try {
    const { data } = await sharp(input, { limitInputPixels: size * size }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    const what = typeof input === 'string' ? input : 'The image';
    const why = /pixel limit/i.test(String((e as Error)?.message)) ? `is larger than the ${size} x ${size} px the model makes` : `cannot be decoded (${String((e as Error)?.message ?? e).split('\n')[0]})`;
    throw new ApiError('bad_request', `${what} ${why}. Reproduce the original, unmodified PNG that Sfumato wrote.`);
  }
}

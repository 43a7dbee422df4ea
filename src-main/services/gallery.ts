/**
 * The gallery: query, read, organise (favourites, tags, collections), trash and empty the trash,
 * and export (folders, zips, contact sheets, web-mode downloads).
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiError } from '../api/errors';
import type { ExportRequest, GalleryQuery } from '../api/requests';
import type { ExportResult, GalleryPage, JobProgress, SampleMeta, SampleRecord } from '../api/types';
import { newId } from '../db/ids';
import { emitProgress, type ServiceContext } from './context';
import type { ExportDownloads } from './downloads';

export class GalleryService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly downloads: ExportDownloads,
  ) {}

  query(q: GalleryQuery): Promise<GalleryPage> {
    return this.ctx.store.samples.query(q);
  }

  async get(id: string): Promise<SampleRecord> {
    const sample = await this.ctx.store.samples.get(id);
    if (!sample) throw new ApiError('not_found', `No sample ${id}.`);
    return sample;
  }

  async meta(id: string): Promise<SampleMeta> {
    const meta = await this.ctx.store.samples.meta(id);
    if (!meta) throw new ApiError('not_found', `No sample ${id}.`);
    const typicality = await this.ctx.store.likelihood.typicality(id);
    return typicality ? { ...meta, typicality } : meta;
  }

  trash(ids: string[]): Promise<number> {
    return this.ctx.store.samples.trash(ids);
  }

  restore(ids: string[]): Promise<number> {
    return this.ctx.store.samples.restore(ids);
  }

  async update(req: { ids: string[]; favorite?: boolean; addTags?: string[]; removeTags?: string[]; collection?: string }): Promise<{ updated: number }> {
    const { samples } = this.ctx.store;
    if (req.favorite !== undefined) await samples.setFavorite(req.ids, req.favorite);
    if (req.addTags?.length || req.removeTags?.length) await samples.tag(req.ids, req.addTags ?? [], req.removeTags ?? []);
    if (req.collection) await samples.addToCollection(req.collection, req.ids, newId('col'));
    return { updated: req.ids.length };
  }

  async emptyTrash(req: { ids?: string[] }): Promise<{ deleted: number; notRemoved?: { id: string; file: string; message: string }[] }> {
    // Files first, then the rows of the files that are gone: a file that cannot be removed
    // keeps its row in the trash and is reported, never left behind without a row.
    const notRemoved: { id: string; file: string; message: string }[] = [];
    const deleted = await this.ctx.store.samples.emptyTrash(req.ids, async (rows) => {
      const gone: string[] = [];
      for (const r of rows) {
        try {
          await fs.rm(this.ctx.library.abs(r.file), { force: true });
          gone.push(r.id);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          notRemoved.push({
            id: r.id,
            file: r.file,
            message: `Could not remove ${this.ctx.library.abs(r.file)} (${code}); the sample stays in the trash. Check the file's permissions (or close the program using it) and empty the trash again.`,
          });
        }
      }
      return gone;
    });
    return notRemoved.length ? { deleted: deleted.length, notRemoved } : { deleted: deleted.length };
  }

  async export(req: ExportRequest, onProgress?: (p: JobProgress) => void): Promise<ExportResult> {
    const records: SampleRecord[] = [];
    for (const id of req.ids) {
      const r = await this.ctx.store.samples.get(id);
      if (!r) throw new ApiError('not_found', `No gallery sample ${id}.`);
      records.push(r);
    }
    if (!records.length) throw new ApiError('bad_request', 'Nothing to export: give at least one sample id.', { field: 'ids' });
    if (req.upscale !== undefined && !(Number.isInteger(req.upscale) && req.upscale >= 1 && req.upscale <= 16)) {
      throw new ApiError('bad_request', `upscale: give a whole number from 1 to 16 (got ${req.upscale}).`, { field: 'upscale' });
    }
    if (!req.download && !req.to) throw new ApiError('bad_request', 'to: give a folder or a file ending in .zip to export to.', { field: 'to' });
    const jobId = newId('job');
    // A download goes to a fresh random folder under <library>/exports: a zip, or one image when
    // one sample and no contact sheet (downloads.ts serves it once, within an hour).
    const dl = req.download ? await this.downloads.create() : undefined;
    const single = records.length === 1 && !req.contactSheet;
    const to = dl ? (single ? dl.dir : join(dl.dir, 'sfumato-export.zip')) : resolve(req.to!);
    let result: ExportResult | undefined;
    const job = this.ctx.jobs.start(
      jobId,
      {
        kind: 'export',
        jobId,
        samples: records.map((record) => ({ record, absFile: this.ctx.library.abs(record.file) })),
        to,
        format: req.format ?? 'png',
        contactSheet: !!req.contactSheet,
        ...(req.upscale && req.upscale > 1 ? { upscale: req.upscale } : {}),
        ...(dl ? { sheetInZip: true } : {}),
      },
      (msg) => {
        if (msg.type === 'export-progress') {
          const p: JobProgress = { jobId, kind: 'export', state: 'running', done: msg.done, total: msg.total };
          onProgress?.(p);
          emitProgress(this.ctx, p);
        } else if (msg.type === 'export-done') result = msg.result;
      },
    );
    const outcome = await job.done;
    if (dl && !result) await this.downloads.discard(dl.id);
    if (outcome.state === 'cancelled') throw new ApiError('cancelled', 'The export was cancelled; nothing was left half-written.');
    if (!result) {
      const code = outcome.error?.code;
      throw new ApiError(code === 'bad_request' || code === 'conflict' || code === 'unavailable' ? code : 'internal', outcome.error?.message ?? 'The export failed.');
    }
    if (dl) result.download = this.downloads.register(dl.id, single ? join(result.path, result.files[0]) : result.path);
    return result;
  }
}

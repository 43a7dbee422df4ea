/**
 * Datasets: import a folder of images (prepared pixels, thumbnails), preview the preprocessing,
 * read and remove.
 */
import { promises as fs } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { ApiError } from '../api/errors';
import type { ImportDatasetRequest } from '../api/requests';
import type { Dataset, DatasetDetail, DatasetImagesResult, DatasetPreviewResult, ImportDatasetResult, JobProgress } from '../api/types';
import { readCacheRange } from '../datasets/cache';
import { importFolder } from '../datasets/import';
import { prepareBytes, resolvePrepareOptions } from '../datasets/preprocess';
import { isCaptionFile, readFileChecked, walkFolder } from '../datasets/scan';
import { sniff } from '../datasets/sniff';
import { newId } from '../db/ids';
import { emitProgress, type ServiceContext } from './context';
import { toApiError } from '../api/errors';

export class DatasetService {
  constructor(private readonly ctx: ServiceContext) {}

  async import(req: ImportDatasetRequest, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<ImportDatasetResult> {
    const dir = resolve(req.dir);
    const id = newId('ds');
    const jobId = newId('job');
    const imageSize = req.imageSize ?? 32;
    const background = req.background ?? '#ffffff';
    const relDir = this.ctx.library.rel('datasets', id);
    const cacheRel = this.ctx.library.rel('datasets', id, `cache-${imageSize}.bin`);
    const progress = (done: number, total: number, message?: string, state: JobProgress['state'] = 'running') => {
      const p: JobProgress = { jobId, kind: 'import', state, done, total, message, datasetId: id };
      onProgress?.(p);
      emitProgress(this.ctx, p);
    };
    let result;
    try {
      result = await importFolder(dir, {
        size: imageSize,
        background,
        crop: req.crop ?? 'center',
        thumbDir: this.ctx.library.abs(this.ctx.library.rel('datasets', id, 'thumbs')),
        cachePath: this.ctx.library.abs(cacheRel),
        onProgress: (done, total, file) => progress(done, total, file),
        signal: signal ?? this.ctx.signal,
      });
    } catch (e) {
      await fs.rm(this.ctx.library.abs(relDir), { recursive: true, force: true });
      progress(0, 0, (e as Error).message, 'failed');
      throw toApiError(e);
    }
    const labels = req.labels ?? 'none';
    const items = [...result.items].sort((a, b) => a.index - b.index).map((it) => ({
      class: labels === 'subfolders' ? classOfFile(it.file) : null,
      id: newId('item'),
      file: it.file,
      format: it.format,
      width: it.width,
      height: it.height,
      sha256: it.sha256,
      thumb: relative(this.ctx.library.root, it.thumbFile).split('\\').join('/'),
    }));
    let dataset;
    try {
      dataset = await this.ctx.store.datasets.insert({
        id,
        name: req.name ?? basename(dir),
        sourceDir: dir,
        imageSize,
        background,
        cacheFile: cacheRel,
        items,
        errors: result.errors,
        captionCount: result.sidecars.filter(isCaptionFile).length,
        labels,
      });
    } catch (e) {
      // No row, no files: the prepared cache and thumbnails go too.
      await fs.rm(this.ctx.library.abs(relDir), { recursive: true, force: true });
      progress(0, 0, (e as Error).message, 'failed');
      throw toApiError(e);
    }
    progress(items.length, items.length, `imported ${items.length}, ${result.errors.length} problem(s)`, 'completed');
    return {
      dataset,
      imported: items.length,
      errors: result.errors,
      duplicates: result.duplicates.map((d) => ({ file: d.file, duplicateOf: d.duplicateOf })),
      captionFiles: result.sidecars.filter(isCaptionFile).length,
      ignoredFiles: result.sidecars.filter((f) => !isCaptionFile(f)).length + result.skipped.filter((f) => !f.endsWith('/')).length,
      classes: dataset.classes,
    };
  }

  /**
   * Before/after of the preprocessing (resize + crop or fit + background) on the first images of a
   * folder, so the artist can choose the settings before importing. Reads at most `count` images.
   */
  async preview(req: ImportDatasetRequest & { count?: number }): Promise<DatasetPreviewResult> {
    const dir = resolve(req.dir);
    const size = req.imageSize ?? 32;
    const want = req.count ?? 4;
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new ApiError('bad_request', `${dir} is not a folder; give the path of a folder of images.`, { field: 'dir' });
    // The same walk and checks as the import: no FIFOs or devices opened, links only inside the
    // folder, sizes, PNG chunk caps and pixel limits checked before any decoder sees a file.
    const walk = await walkFolder(dir).catch((e: unknown) => {
      throw toApiError(e);
    });
    const o = resolvePrepareOptions({ size, background: req.background ?? '#ffffff', crop: req.crop ?? 'center' });
    const items: DatasetPreviewResult['items'] = [];
    for (const c of walk.candidates) {
      if (items.length >= want) break;
      try {
        const bytes = await readFileChecked(c.absPath, o.limits);
        if (sniff(bytes, c.file).kind !== 'image') continue;
        const prepared = await prepareBytes(bytes, o, c.file);
        // checked above (chunks, header, pixel count): decoding it again for the "before" is bounded
        const before = await sharp(bytes, { limitInputPixels: o.limits.maxPixels }).rotate().resize(96, 96, { fit: 'inside' }).png().toBuffer();
        // The training pixels, enlarged without smoothing so each pixel shows.
        const after = await sharp(Buffer.from(prepared.rgb), { raw: { width: size, height: size, channels: 3 } }).resize(96, 96, { kernel: 'nearest' }).png().toBuffer();
        items.push({ file: c.file, width: prepared.width, height: prepared.height, before: dataUrl(before), after: dataUrl(after) });
      } catch {
        // a broken or refused file: the import lists it with its reason; the preview just skips it
      }
    }
    return { items };
  }

  async get(id: string): Promise<DatasetDetail> {
    const d = await this.ctx.store.datasets.get(id);
    if (!d) throw new ApiError('not_found', `No dataset ${id}. List datasets with \`sfumato datasets list\`.`);
    return { ...d, items: await this.ctx.store.datasets.items(id), errors: await this.ctx.store.datasets.errors(id) };
  }

  async remove(id: string): Promise<boolean> {
    const d = await this.ctx.store.datasets.get(id);
    if (!d) return false;
    const removed = await this.ctx.store.datasets.remove(id);
    await fs.rm(this.ctx.library.abs(this.ctx.library.rel('datasets', id)), { recursive: true, force: true });
    return removed;
  }

  async list() {
    return this.ctx.store.datasets.list();
  }

  private async mustGet(id: string): Promise<Dataset> {
    const d = await this.ctx.store.datasets.get(id);
    if (!d) throw new ApiError('not_found', `No dataset ${id}. List datasets with \`sfumato datasets list\`.`);
    return d;
  }

  async rename(id: string, name: string): Promise<Dataset> {
    await this.mustGet(id);
    await this.ctx.store.datasets.rename(id, name);
    return this.mustGet(id);
  }

  /**
   * Excludes images from training (or includes them again). The prepared cache is not touched:
   * runs started afterwards train on the included images; runs started before keep theirs.
   */
  async exclude(id: string, itemIds: readonly string[], excluded: boolean): Promise<Dataset> {
    await this.mustGet(id);
    const { unknown } = await this.ctx.store.datasets.setExcluded(id, itemIds, excluded);
    if (unknown.length)
      throw new ApiError('not_found', `${unknown.length === 1 ? `Image ${unknown[0]} is` : `Images ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} are`} not in dataset ${id}; nothing was changed. Reload the dataset and try again.`, {
        field: 'itemIds',
        unknown,
      });
    return this.mustGet(id);
  }

  /**
   * Renames a class of a labelled dataset, or merges it into another when `to` is already a class.
   * Runs already started keep the labels they recorded (run_images), so resume is unchanged.
   */
  async renameClass(id: string, from: string, to: string): Promise<Dataset> {
    const d = await this.mustGet(id);
    const names = await this.ctx.store.datasets.classNames(id);
    if (!names.includes(from)) {
      throw new ApiError('bad_request', names.length ? `Dataset ${id} has no class "${from}"; its classes are ${names.join(', ')}.` : `Dataset ${d.name} has no classes; import it with --labels subfolders.`, { field: 'from' });
    }
    if (from !== to) await this.ctx.store.datasets.renameClass(id, from, to);
    return this.mustGet(id);
  }

  /** A page of the prepared images, as the model sees them (PNG at training size; the page scales them up without smoothing). */
  async images(id: string, offset: number, limit: number): Promise<DatasetImagesResult> {
    await this.mustGet(id);
    const cacheRel = await this.ctx.store.datasets.cacheFile(id);
    const items = await this.ctx.store.datasets.items(id);
    let page;
    try {
      page = await readCacheRange(this.ctx.library.abs(cacheRel!), offset, limit);
    } catch (e) {
      throw toApiError(e);
    }
    const byIndex = new Map(items.map((it) => [it.index, it.id]));
    const images: DatasetImagesResult['images'] = [];
    const per = page.size * page.size * page.channels;
    for (let k = 0; k < page.count; k++) {
      const index = page.offset + k;
      const itemId = byIndex.get(index);
      if (!itemId) continue;
      const png = await sharp(Buffer.from(page.pixels.subarray(k * per, (k + 1) * per)), { raw: { width: page.size, height: page.size, channels: page.channels as 3 } })
        .png()
        .toBuffer();
      images.push({ itemId, index, src: dataUrl(png) });
    }
    return { size: page.size, images };
  }
}

/** The class of an imported file under `--labels subfolders`: the first folder of its relative path (none: unlabelled). */
export function classOfFile(file: string): string | null {
  const parts = file.split(/[\\/]/);
  return parts.length > 1 && parts[0] ? parts[0] : null;
}

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

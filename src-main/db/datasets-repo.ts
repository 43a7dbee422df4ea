/**
 * The datasets repository: datasets, their items (with the `excluded` flag), and which images each
 * training run was started on.
 *
 * A dataset's prepared pixel cache never changes after import. Excluding an image only flips its
 * flag: runs started afterwards train on the included images (their cache indices are recorded in
 * `run_images`), and a run started before keeps the indices it recorded, so resuming it trains on
 * exactly the images it began with. Runs older than that table have no row: they trained on every
 * image of the cache.
 */
import { createHash } from 'node:crypto';
import type { Dataset, DatasetItem, ImportError } from '../api/types';
import type { Db } from './db';

export const now = (): string => new Date().toISOString();

interface DatasetRow {
  id: string;
  name: string;
  source_dir: string;
  image_size: number;
  background: string;
  cache_file: string;
  item_count: number;
  error_count: number;
  errors_json: string;
  created_at: string;
  caption_count: number;
  excluded_count: number;
  labels: string | null;
}

interface ItemRow {
  id: string;
  dataset_id: string;
  idx: number;
  file: string;
  format: string;
  width: number;
  height: number;
  sha256: string;
  thumb: string;
  excluded: number;
  class: string | null;
}

const toItem = (r: ItemRow): DatasetItem => ({
  id: r.id,
  datasetId: r.dataset_id,
  index: r.idx,
  file: r.file,
  format: r.format,
  width: r.width,
  height: r.height,
  sha256: r.sha256,
  thumb: r.thumb,
  excluded: r.excluded === 1,
  class: r.class ?? null,
});

/**
 * The content hash of a dataset: sha256 over the training size and the sha256 of each included
 * source file, in cache order. Excluding or including an image changes it; renaming does not.
 */
export function datasetContentHash(imageSize: number, includedSha256s: readonly string[]): string {
  const h = createHash('sha256');
  h.update(`sfumato-dataset-v1\n${imageSize}\n`);
  for (const s of includedSha256s) h.update(`${s}\n`);
  return h.digest('hex');
}

export interface NewDataset {
  id: string;
  name: string;
  sourceDir: string;
  imageSize: number;
  background: string;
  cacheFile: string;
  items: (Omit<DatasetItem, 'datasetId' | 'index' | 'excluded' | 'class'> & { class?: string | null })[];
  /** how the items' classes were found ('none': every class is null) */
  labels?: 'none' | 'subfolders';
  errors: ImportError[];
  /** caption sidecars (.txt, .caption) found beside the images; not used yet */
  captionCount?: number;
}

/** The images a run trains on: cache indices and the content hash of that set. */
export interface TrainingImages {
  indices: number[];
  datasetHash: string;
  /** class-conditional runs: each image's label (index into the run's classes; K = unlabelled) */
  labels?: number[];
}

const SELECT_DATASET = `SELECT d.*, (SELECT COUNT(*) FROM dataset_items i WHERE i.dataset_id = d.id AND i.excluded = 1) AS excluded_count FROM datasets d`;

export class DatasetRepo {
  constructor(private readonly db: Db) {}

  private async toDataset(r: DatasetRow): Promise<Dataset> {
    const shas = await this.db.all<{ sha256: string }>('SELECT sha256 FROM dataset_items WHERE dataset_id = ? AND excluded = 0 ORDER BY idx', [r.id]);
    const classes = await this.db.all<{ name: string; count: number }>(
      'SELECT class AS name, COUNT(*) AS count FROM dataset_items WHERE dataset_id = ? AND excluded = 0 AND class IS NOT NULL GROUP BY class ORDER BY class',
      [r.id],
    );
    return {
      id: r.id,
      name: r.name,
      sourceDir: r.source_dir,
      imageSize: r.image_size,
      background: r.background,
      itemCount: r.item_count,
      excludedCount: r.excluded_count,
      contentHash: datasetContentHash(r.image_size, shas.map((s) => s.sha256)),
      captionCount: r.caption_count,
      errorCount: r.error_count,
      createdAt: r.created_at,
      labels: r.labels === 'subfolders' ? 'subfolders' : 'none',
      classes: classes.map((c) => ({ name: c.name, count: Number(c.count) })),
    };
  }

  async insert(d: NewDataset): Promise<Dataset> {
    const createdAt = now();
    await this.db.transaction(async () => {
      await this.db.run(
        `INSERT INTO datasets (id, name, source_dir, image_size, background, cache_file, item_count, error_count, errors_json, created_at, caption_count, labels)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [d.id, d.name, d.sourceDir, d.imageSize, d.background, d.cacheFile, d.items.length, d.errors.length, JSON.stringify(d.errors), createdAt, d.captionCount ?? 0, d.labels ?? 'none'],
      );
      let idx = 0;
      for (const it of d.items) {
        await this.db.run(
          `INSERT INTO dataset_items (id, dataset_id, idx, file, format, width, height, sha256, thumb, class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [it.id, d.id, idx++, it.file, it.format, it.width, it.height, it.sha256, it.thumb, it.class ?? null],
        );
      }
    });
    return (await this.get(d.id))!;
  }

  async get(id: string): Promise<Dataset | undefined> {
    const r = await this.db.get<DatasetRow>(`${SELECT_DATASET} WHERE d.id = ?`, [id]);
    return r && this.toDataset(r);
  }

  async cacheFile(id: string): Promise<string | undefined> {
    const r = await this.db.get<{ cache_file: string }>('SELECT cache_file FROM datasets WHERE id = ?', [id]);
    return r?.cache_file;
  }

  async errors(id: string): Promise<ImportError[]> {
    const r = await this.db.get<{ errors_json: string }>('SELECT errors_json FROM datasets WHERE id = ?', [id]);
    return r ? (JSON.parse(r.errors_json) as ImportError[]) : [];
  }

  async list(): Promise<Dataset[]> {
    const rows = await this.db.all<DatasetRow>(`${SELECT_DATASET} ORDER BY d.created_at DESC, d.id`);
    const out: Dataset[] = [];
    for (const r of rows) out.push(await this.toDataset(r));
    return out;
  }

  /** Every item, included or not, in cache order. */
  async items(datasetId: string): Promise<DatasetItem[]> {
    const rows = await this.db.all<ItemRow>('SELECT * FROM dataset_items WHERE dataset_id = ? ORDER BY idx', [datasetId]);
    return rows.map(toItem);
  }

  /** One item with its position in the dataset's pixel cache. */
  async item(id: string): Promise<DatasetItem | undefined> {
    const r = await this.db.get<ItemRow>('SELECT * FROM dataset_items WHERE id = ?', [id]);
    return r && toItem(r);
  }

  async rename(id: string, name: string): Promise<boolean> {
    const r = await this.db.run('UPDATE datasets SET name = ? WHERE id = ?', [name, id]);
    return r.changes > 0;
  }

  /**
   * Excludes (or includes again) items of a dataset; the dataset's item count follows. Returns the
   * ids that are not items of this dataset (nothing is changed when there are any).
   */
  async setExcluded(datasetId: string, itemIds: readonly string[], excluded: boolean): Promise<{ unknown: string[] }> {
    let unknown: string[] = [];
    await this.db.transaction(async () => {
      unknown = [];
      for (const itemId of itemIds) {
        const r = await this.db.get<{ id: string }>('SELECT id FROM dataset_items WHERE id = ? AND dataset_id = ?', [itemId, datasetId]);
        if (!r) unknown.push(itemId);
      }
      if (unknown.length) return;
      for (const itemId of itemIds) await this.db.run('UPDATE dataset_items SET excluded = ? WHERE id = ?', [excluded ? 1 : 0, itemId]);
      await this.db.run('UPDATE datasets SET item_count = (SELECT COUNT(*) FROM dataset_items WHERE dataset_id = ? AND excluded = 0) WHERE id = ?', [datasetId, datasetId]);
    });
    return { unknown };
  }

  /** The included images now: their cache indices, classes (null: unlabelled) and the dataset's content hash. */
  async trainingImages(datasetId: string): Promise<TrainingImages & { imageSize: number; classes: (string | null)[] }> {
    const d = await this.db.get<{ image_size: number }>('SELECT image_size FROM datasets WHERE id = ?', [datasetId]);
    const rows = await this.db.all<{ idx: number; sha256: string; class: string | null }>('SELECT idx, sha256, class FROM dataset_items WHERE dataset_id = ? AND excluded = 0 ORDER BY idx', [datasetId]);
    const imageSize = d?.image_size ?? 0;
    return { indices: rows.map((r) => r.idx), classes: rows.map((r) => r.class ?? null), datasetHash: datasetContentHash(imageSize, rows.map((r) => r.sha256)), imageSize };
  }

  /** Records the images a run was started on (kept for resume; removed with the run). */
  async recordRunImages(runId: string, images: TrainingImages): Promise<void> {
    await this.db.run('INSERT OR REPLACE INTO run_images (run_id, dataset_hash, indices_json, labels_json) VALUES (?, ?, ?, ?)', [
      runId,
      images.datasetHash,
      JSON.stringify(images.indices),
      images.labels ? JSON.stringify(images.labels) : null,
    ]);
  }

  /** The images a run was started on; undefined for runs started before they were recorded (all of the cache). */
  async runImages(runId: string): Promise<TrainingImages | undefined> {
    const r = await this.db.get<{ dataset_hash: string; indices_json: string; labels_json: string | null }>('SELECT dataset_hash, indices_json, labels_json FROM run_images WHERE run_id = ?', [runId]);
    return r && { datasetHash: r.dataset_hash, indices: JSON.parse(r.indices_json) as number[], ...(r.labels_json ? { labels: JSON.parse(r.labels_json) as number[] } : {}) };
  }

  /**
   * Renames class `from` of a dataset to `to`; when `to` is already a class the two merge. Returns
   * the number of images changed. Runs already started keep the labels they recorded.
   */
  async renameClass(datasetId: string, from: string, to: string): Promise<number> {
    const r = await this.db.run('UPDATE dataset_items SET class = ? WHERE dataset_id = ? AND class = ?', [to, datasetId, from]);
    return r.changes;
  }

  /** Every class name of a dataset, excluded images included. */
  async classNames(datasetId: string): Promise<string[]> {
    const rows = await this.db.all<{ class: string }>('SELECT DISTINCT class FROM dataset_items WHERE dataset_id = ? AND class IS NOT NULL ORDER BY class', [datasetId]);
    return rows.map((r) => r.class);
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.run('DELETE FROM datasets WHERE id = ?', [id]);
    return r.changes > 0;
  }
}

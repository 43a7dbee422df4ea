/** The emoji fixtures imported into `dir` at `size` px and read back as a trainer's data. */
import { join } from 'node:path';
import { readCache, type DatasetCache } from '../../src-main/datasets/cache';
import { importFolder } from '../../src-main/datasets/import';
import { EMOJI_DIR } from './library';

export async function emojiTrainingData(dir: string, size = 8): Promise<DatasetCache> {
  await importFolder(EMOJI_DIR, { size, thumbDir: join(dir, 'thumbs'), cachePath: join(dir, 'cache.bin') });
  return readCache(join(dir, 'cache.bin'));
}

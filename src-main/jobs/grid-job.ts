/**
 * The X/Y grid job, run inside a job process: each group of cells (one checkpoint and sampler
 * setting) goes through the sampling job itself, so a cell is exactly what a plain generate with
 * its settings makes; then the cells' PNGs are read back and composed into the labelled grid
 * image (gallery/grid.ts), written atomically with its record and announced with index -1.
 * Cancelling stops between (or inside) groups: finished cells stay, no grid image is written.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { FromJob, GridJobSpec, JobContext } from './protocol';
import { runSampleJob } from './sample-job';
import { composeGrid, gridLayout } from '../gallery/grid';
import { embedSampleMetadata } from '../gallery/metadata';
import { libraryRootOf, writeFileAtomic } from '../db/files';
import { AbortError } from '../diffusion/index';

export async function runGridJob(spec: GridJobSpec, ctx: JobContext): Promise<void> {
  const nCells = spec.cells.reduce((n, c) => n + c.length, 0);
  const cellFiles: string[] = new Array<string>(nCells);
  // Progress over the whole grid in image-steps: groups done + the current group's own count,
  // the groups still to come estimated from their step counts until they report.
  const estimate = spec.groups.map((g) => g.seeds.length * (g.steps ?? 1));
  let doneBefore = 0;
  let started = false;
  let backend = '';
  let nfe = 0;
  for (let g = 0; g < spec.groups.length; g++) {
    if (ctx.signal.aborted) throw new AbortError();
    const group = spec.groups[g];
    const map = spec.cells[g];
    let groupTotal = estimate[g];
    const sub: JobContext = {
      signal: ctx.signal,
      pauseRequested: ctx.pauseRequested,
      post: (msg: FromJob) => {
        if (msg.type === 'started') {
          if (!started) ctx.post(msg);
          started = true;
        } else if (msg.type === 'sample-progress') {
          groupTotal = msg.total;
          const rest = estimate.slice(g + 1).reduce((a, b) => a + b, 0);
          ctx.post({ type: 'sample-progress', done: doneBefore + msg.done, total: doneBefore + msg.total + rest });
        } else if (msg.type === 'sample-preview') {
          ctx.post({ ...msg, image: map[msg.image] });
        } else if (msg.type === 'sample') {
          cellFiles[map[msg.index]] = join(group.outDir, `${group.names[msg.index]}.png`);
          backend ||= msg.record.backend;
          nfe += msg.record.nfe;
          ctx.post({ ...msg, index: map[msg.index] });
        } else ctx.post(msg);
      },
    };
    await runSampleJob(group, sub);
    doneBefore += groupTotal;
  }
  if (ctx.signal.aborted) throw new AbortError();
  const im = spec.image;
  const size = im.imageSize;
  const layout = gridLayout({ imageSize: size, xTitle: im.xTitle, yTitle: im.yTitle, xValues: im.xValues, yValues: im.yValues });
  const cells = await Promise.all(
    cellFiles.map(async (f) => {
      const { data } = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }),
  );
  const png = await composeGrid(cells, size, layout);
  // the grid's own record: nfe is every cell's, backend the first cell's
  const record = { ...im.record, width: layout.width, height: layout.height, backend, nfe, createdAt: new Date().toISOString() };
  const name = im.record.file.slice(im.record.file.lastIndexOf('/') + 1);
  await writeFileAtomic(join(im.outDir, name), embedSampleMetadata(png, record), { folder: libraryRootOf(im.outDir, im.outDirRel) });
  ctx.post({ type: 'sample', index: -1, record });
}

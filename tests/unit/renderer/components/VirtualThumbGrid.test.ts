/**
 * The virtualised thumbnail grid (src-renderer/src/components/VirtualThumbGrid.vue, real
 * @tanstack/vue-virtual): only the rows in view (plus overscan) are in the DOM, tiles fill the
 * width, and scrolling brings the next rows in.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import VirtualThumbGrid, { type Thumb } from '../../../../src-renderer/src/components/VirtualThumbGrid.vue';
import { stubClientSize } from '../helpers/dom';

const flush = () => new Promise<void>((r) => setTimeout(r, 20));
const thumbs = (n: number): Thumb[] => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, src: `/thumbs/${i}.png`, alt: `image ${i}`, title: `file${i}.png` }));

let restore: () => void;
let wrapper: VueWrapper | undefined;
beforeEach(() => {
  // 602 px wide scroller (600 px inside its border), 360 px tall: at tile 64 with 6 px gaps,
  // floor(606 / 70) = 8 columns of (600 − 7·6) / 8 = 69.75 px, rows 75.75 px apart
  restore = stubClientSize('vgrid', 602, 360);
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
  restore();
});

async function grid(items: Thumb[]) {
  wrapper = mount(VirtualThumbGrid, { attachTo: document.body, props: { items, tile: 64, height: 360, testid: 'grid', itemTestid: 'thumb' } });
  await flush();
  return wrapper;
}
const shown = (w: VueWrapper) => w.findAll('[data-testid="thumb"]').map((i) => i.attributes('alt'));

describe('virtual thumbnail grid', () => {
  it('renders only the rows in view plus a few, not all 10,000 images', async () => {
    const w = await grid(thumbs(10_000));
    const imgs = shown(w);
    const cols = 8;
    const rowPx = 69.75 + 6;
    const visibleRows = Math.ceil(360 / rowPx);
    expect(imgs.length % cols).toBe(0);
    expect(imgs.length).toBeGreaterThanOrEqual(visibleRows * cols);
    expect(imgs.length).toBeLessThanOrEqual((visibleRows + 4 + 1) * cols); // overscan 4
    expect(imgs.slice(0, 3)).toEqual(['image 0', 'image 1', 'image 2']);
    // the inner box is as tall as all the rows, so the scrollbar is right
    const rows = Math.ceil(10_000 / cols);
    const inner = w.get('.vgrid-inner').element as HTMLElement;
    expect(parseFloat(inner.style.height)).toBeCloseTo(rows * rowPx, 0);
  });

  it('tiles fill the row exactly: columns × size + gaps = width', async () => {
    const w = await grid(thumbs(30));
    const img = w.get('[data-testid="thumb"]').element as HTMLElement;
    const size = parseFloat(img.style.width);
    expect(img.style.height).toBe(img.style.width);
    expect(size).toBe(69.75);
    expect(8 * size + 7 * 6).toBe(600);
    expect(shown(w)).toHaveLength(30); // few items: all shown
    const first = w.get('[data-testid="thumb"]');
    expect(first.attributes()).toMatchObject({ src: '/thumbs/0.png', title: 'file0.png', loading: 'lazy' });
  });

  it('scrolling brings later rows in and drops the first ones', async () => {
    const w = await grid(thumbs(10_000));
    const scroller = w.get('[data-testid="grid"]').element as HTMLElement;
    scroller.scrollTop = 5000;
    scroller.dispatchEvent(new Event('scroll'));
    await flush();
    const imgs = shown(w);
    expect(imgs).not.toContain('image 0');
    const firstRowInView = Math.floor(5000 / 75.75); // row 66
    expect(imgs).toContain(`image ${firstRowInView * 8}`);
    expect(imgs).toContain(`image ${(firstRowInView + 4) * 8 + 7}`); // the last row in view
    expect(imgs.length).toBeLessThan(200);
  });
});

/**
 * The image viewer (src-renderer/src/components/Lightbox.vue): pixel-exact whole zoom with
 * nearest-neighbour rendering, keyboard navigation, A/B compare side by side and under a slider cut
 * on whole source pixels, fullscreen, and Esc to close.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import Lightbox from '../../../../src-renderer/src/components/Lightbox.vue';
import { sampleRecord } from '../helpers/fixtures';
import { stubClientSize } from '../helpers/dom';
import type { SampleRecord } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const A = sampleRecord('a', { seed: 11, width: 64, height: 64, file: 'samples/a.png' });
const B = sampleRecord('b', { seed: 22, width: 64, height: 64, file: 'samples/b.png' });

let restoreSize: () => void;
let wrapper: VueWrapper | undefined;
beforeEach(() => {
  restoreSize = stubClientSize('stage', 800, 600);
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
  restoreSize();
  vi.restoreAllMocks();
  // happy-dom has no Fullscreen API; the tests that need it add it
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).requestFullscreen;
  delete (document as unknown as Record<string, unknown>).exitFullscreen;
  delete (document as unknown as Record<string, unknown>).fullscreenElement;
});

function open(props: Partial<{ rec: SampleRecord | undefined; index: number; total: number; other: SampleRecord | null; compare: boolean; favorite: boolean }> = {}) {
  wrapper = mount(Lightbox, { attachTo: document.body, props: { rec: A, index: 2, total: 10, other: null, compare: false, favorite: false, ...props } });
  return wrapper;
}
const key = (w: VueWrapper, k: string, extra: KeyboardEventInit = {}) => w.get('[data-testid="lightbox"]').trigger('keydown', { key: k, ...extra });
const px = (el: Element) => {
  const s = (el as HTMLElement).style;
  return [parseFloat(s.width), parseFloat(s.height)];
};

describe('viewer: pixel-exact zoom', () => {
  it('fits the largest whole zoom and draws with nearest-neighbour sampling', () => {
    const w = open();
    const img = w.get('[data-testid="lightbox-image"]');
    expect(img.attributes('src')).toBe('/api/files/samples/a.png');
    // stage 800×600, image 64×64: 600/64 = 9.4 → 9×
    expect(px(img.element)).toEqual([576, 576]);
    expect(w.get('[data-testid="lightbox-zoom"]').text()).toBe('9× fit');
    expect(getComputedStyle(img.element).imageRendering).toBe('pixelated');
  });

  it('+ and − step one whole level; 1 is actual size, 0 fits again; the ends disable the buttons', async () => {
    const w = open();
    await key(w, '+');
    expect(px(w.get('[data-testid="lightbox-image"]').element)).toEqual([640, 640]);
    await key(w, '-');
    await key(w, '-');
    expect(w.get('[data-testid="lightbox-zoom"]').text()).toBe('8×');
    await key(w, '1');
    expect(px(w.get('[data-testid="lightbox-image"]').element)).toEqual([64, 64]);
    expect(w.get('button[aria-label="Zoom out (−)"]').attributes()).toHaveProperty('disabled');
    for (let i = 0; i < 20; i++) await key(w, '+');
    expect(w.get('[data-testid="lightbox-zoom"]').text()).toBe('16×');
    expect(w.get('button[aria-label="Zoom in (+)"]').attributes()).toHaveProperty('disabled');
    await key(w, '0');
    expect(w.get('[data-testid="lightbox-zoom"]').text()).toBe('9× fit');
  });

  it('every zoom is a whole multiple of the image size, also for odd sizes', async () => {
    const w = open({ rec: sampleRecord('odd', { width: 17, height: 23 }) });
    for (let i = 0; i < 16; i++) {
      const [wd, ht] = px(w.get('[data-testid="lightbox-image"]').element);
      expect(Number.isInteger(wd / 17)).toBe(true);
      expect(wd / 17).toBe(ht / 23);
      await key(w, '-');
    }
  });
});

describe('viewer: keys', () => {
  it('← / → move, Esc closes, * favourites, C and Space toggle compare', async () => {
    const w = open();
    for (const k of ['ArrowRight', 'ArrowLeft', 'Escape', '*', 'c', ' ']) await key(w, k);
    expect(w.emitted('move')).toEqual([[1], [-1]]);
    expect(w.emitted('close')).toHaveLength(1);
    expect(w.emitted('favorite')).toHaveLength(1);
    expect(w.emitted('toggle-compare')).toHaveLength(2);
  });

  it('leaves modified keys to the browser, and Space to a focused button', async () => {
    const w = open();
    await key(w, 'ArrowRight', { ctrlKey: true });
    await w.get('[data-testid="lightbox-close"]').trigger('keydown', { key: ' ' });
    expect(w.emitted('move')).toBeUndefined();
    expect(w.emitted('toggle-compare')).toBeUndefined();
  });

  it('the arrow buttons stop at the first and last image; the position is shown', () => {
    expect(open({ index: 0 }).get('button[aria-label="Previous image (←)"]').attributes()).toHaveProperty('disabled');
    wrapper!.unmount();
    const w = open({ index: 9, total: 10 });
    expect(w.get('button[aria-label="Next image (→)"]').attributes()).toHaveProperty('disabled');
    expect(w.get('[data-testid="lightbox-position"]').text()).toBe('10 / 10');
  });

  it('while the record loads it says so and favouriting is off', () => {
    const w = open({ rec: undefined });
    expect(w.find('[data-testid="lightbox-image"]').exists()).toBe(false);
    expect(w.get('[data-testid="lightbox-caption"]').text()).toBe('loading…');
    expect(w.get('[data-testid="lightbox-favorite"]').attributes()).toHaveProperty('disabled');
  });
});

describe('viewer: A/B compare', () => {
  it('side by side: both images at one whole zoom that fits both panes', () => {
    const w = open({ compare: true, other: B });
    const imgs = w.findAll('[data-testid="compare-image"]');
    expect(imgs.map((i) => i.attributes('src'))).toEqual(['/api/files/samples/a.png', '/api/files/samples/b.png']);
    // (800 − 24) / 2 / 64 = 6.06 → 6×
    expect(imgs.map((i) => px(i.element))).toEqual([
      [384, 384],
      [384, 384],
    ]);
    expect(w.text()).toContain('A seed 11');
    expect(w.text()).toContain('B seed 22');
  });

  it('slider: B is cut on a whole source pixel, and [ / ] move the cut', async () => {
    const w = open({ compare: true, other: B });
    await key(w, 's');
    expect(w.get('[data-testid="lightbox-mode-slider"]').attributes('aria-checked')).toBe('true');
    const level = 9; // one pane again: 600/64
    const clip = () => (w.findAll('[data-testid="compare-image"]')[1].element as HTMLElement).style.clipPath;
    expect(clip()).toBe(`inset(0 0 0 ${32 * level}px)`);
    await key(w, ']');
    // 0.6 × 64 = 38.4 source pixels → cut after pixel 38
    expect(clip()).toBe(`inset(0 0 0 ${38 * level}px)`);
    for (let i = 0; i < 10; i++) await key(w, '[');
    expect(clip()).toBe('inset(0 0 0 0px)');
  });

  it('says when B is pinned to the image shown as A', () => {
    const w = open({ compare: true, other: A });
    expect(w.find('[data-testid="lightbox-pinned"]').exists()).toBe(true);
  });

  it('S does nothing without a second image', async () => {
    const w = open({ compare: true, other: null });
    await key(w, 's');
    expect(w.find('[data-testid="lightbox-compare-view"]').exists()).toBe(false);
    expect(w.find('[data-testid="lightbox-image"]').exists()).toBe(true);
  });
});

describe('viewer: fullscreen', () => {
  it('F asks for fullscreen on the viewer, and leaves it when already fullscreen', async () => {
    const request = vi.fn(async () => undefined);
    const exit = vi.fn(async () => undefined);
    Object.assign(HTMLElement.prototype, { requestFullscreen: request });
    Object.assign(document, { exitFullscreen: exit });
    const w = open();
    await key(w, 'f');
    expect(request).toHaveBeenCalledTimes(1);
    expect(request.mock.contexts[0]).toBe(w.get('[data-testid="lightbox"]').element);
    let current: Element | null = w.get('[data-testid="lightbox"]').element;
    Object.defineProperty(document, 'fullscreenElement', { configurable: true, get: () => current });
    document.dispatchEvent(new Event('fullscreenchange'));
    await w.vm.$nextTick();
    expect(w.get('[data-testid="lightbox-fullscreen"]').attributes('aria-pressed')).toBe('true');
    await w.get('[data-testid="lightbox-fullscreen"]').trigger('click');
    expect(exit).toHaveBeenCalledTimes(1);
    current = null;
  });

  it('a refused fullscreen says so and what to do instead', async () => {
    Object.assign(HTMLElement.prototype, { requestFullscreen: vi.fn(async () => Promise.reject(new TypeError('Permissions check failed'))) });
    const w = open();
    await key(w, 'F');
    await new Promise((r) => setTimeout(r, 0));
    expect(w.get('[role="alert"]').text()).toMatch(/Fullscreen is not allowed here.*Use the window’s own fullscreen instead/);
  });
});

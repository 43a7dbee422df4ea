/**
 * The custom schedule editor (src-renderer/src/components/LogSnrEditor.vue): pointer drags, double
 * clicks and keys emit new curves, and every curve it emits is one the trainer accepts
 * (validateLogSnrPoints: monotone, inside the range), however wild the pointer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import LogSnrEditor from '../../../../src-renderer/src/components/LogSnrEditor.vue';
import { isValidCurve, LOGSNR_MAX, LOGSNR_MIN, type LogSnrPoints } from '../../../../src-renderer/src/lib/logsnr-edit';
import { validateLogSnrPoints } from '../../../../src-main/diffusion/index';

const START: LogSnrPoints = [
  [0, 9],
  [0.25, 3],
  [0.5, 0],
  [0.75, -3.2],
  [1, -10],
];

// The editor draws in a 640×420 viewBox (happy-dom has no layout: the default width) with
// padding left 46, right 14, top 12, bottom 40; the test places the element at that size.
const W = 640;
const H = 420;
const xOf = (t: number) => 46 + t * (W - 46 - 14);
const yOf = (l: number) => 12 + ((LOGSNR_MAX - l) / (LOGSNR_MAX - LOGSNR_MIN)) * (H - 12 - 40);

let wrapper: VueWrapper | undefined;
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
});

/** Mount as a parent would use it: v-model-like, the emitted curve becomes the next props. */
function editor(points: LogSnrPoints = START, invalid = false) {
  const w = mount(LogSnrEditor, {
    attachTo: document.body,
    props: { points, invalid, 'onUpdate:points': (p: [number, number][]) => void w.setProps({ points: p }) },
  });
  const svg = w.get('svg').element as SVGSVGElement;
  svg.getBoundingClientRect = () => ({ left: 0, top: 0, x: 0, y: 0, width: W, height: H, right: W, bottom: H, toJSON: () => ({}) }) as DOMRect;
  wrapper = w;
  return w;
}
const emitted = (w: VueWrapper) => (w.emitted('update:points') ?? []).map((e) => e[0] as LogSnrPoints);
const last = (w: VueWrapper) => emitted(w).at(-1)!;
const valid = (pts: LogSnrPoints) => {
  expect(isValidCurve(pts)).toBe(true);
  expect(() => validateLogSnrPoints(pts)).not.toThrow();
};

async function drag(w: VueWrapper, i: number, moves: [number, number][]): Promise<void> {
  await w.findAll('[data-testid="logsnr-point"]')[i].trigger('pointerdown', { pointerId: 1 });
  for (const [x, y] of moves) await w.get('svg').trigger('pointermove', { clientX: x, clientY: y });
  await w.get('svg').trigger('pointerup', { pointerId: 1 });
}

describe('log-SNR editor: dragging', () => {
  it('moves a point to where the pointer is', async () => {
    const w = editor();
    await drag(w, 2, [[xOf(0.4), yOf(1.5)]]);
    expect(last(w)[2]).toEqual([0.4, 1.5]);
    valid(last(w));
  });

  it('a drag above the left neighbour or past the right one is clamped, not refused', async () => {
    const w = editor();
    await drag(w, 2, [[xOf(0.9), yOf(12)]]);
    expect(last(w)[2]).toEqual([0.745, 2.99]); // just left of t = 0.75, just below log-SNR 3
    valid(last(w));
  });

  it('the end points keep t = 0 and t = 1 and stay inside the range', async () => {
    const w = editor();
    await drag(w, 4, [[xOf(0.2), yOf(-40)]]);
    expect(last(w)[4]).toEqual([1, LOGSNR_MIN]);
    await drag(w, 0, [[xOf(0.5), yOf(99)]]);
    expect(last(w)[0]).toEqual([0, LOGSNR_MAX]);
    valid(last(w));
  });

  it('every curve emitted during a long random drag is valid', async () => {
    const w = editor();
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1.4 - 0.2; // beyond the box too
    for (const i of [1, 2, 3, 0, 4, 2]) await drag(w, i, Array.from({ length: 25 }, () => [rand() * W, rand() * H] as [number, number]));
    expect(emitted(w).length).toBe(6 * 25);
    for (const pts of emitted(w)) valid(pts);
  });

  it('a pointer move without a drag changes nothing', async () => {
    const w = editor();
    await w.get('svg').trigger('pointermove', { clientX: 100, clientY: 100 });
    expect(w.emitted('update:points')).toBeUndefined();
  });
});

describe('log-SNR editor: double click and keys', () => {
  it('double-click adds a point there; too close to another adds none', async () => {
    const w = editor();
    await w.get('svg').trigger('dblclick', { clientX: xOf(0.6), clientY: yOf(-1) });
    expect(last(w)).toHaveLength(6);
    expect(last(w)[3]).toEqual([0.6, -1]);
    valid(last(w));
    await w.get('svg').trigger('dblclick', { clientX: xOf(0.601), clientY: yOf(-1) });
    expect(emitted(w)).toHaveLength(1);
  });

  it('arrow keys nudge the focused point (Shift ×10); Delete removes an inner point but never an end', async () => {
    const w = editor();
    const pts = () => w.findAll('[data-testid="logsnr-point"]');
    await pts()[2].trigger('keydown', { key: 'ArrowUp' });
    expect(last(w)[2]).toEqual([0.5, 0.1]);
    await pts()[2].trigger('keydown', { key: 'ArrowDown', shiftKey: true });
    expect(last(w)[2]).toEqual([0.5, -0.9]);
    await pts()[2].trigger('keydown', { key: 'ArrowRight' });
    expect(last(w)[2]).toEqual([0.51, -0.9]);
    await pts()[2].trigger('keydown', { key: 'Delete' });
    expect(last(w)).toHaveLength(4);
    const n = emitted(w).length;
    await pts()[0].trigger('keydown', { key: 'Delete' });
    await pts()[3].trigger('keydown', { key: 'Backspace' });
    expect(emitted(w)).toHaveLength(n);
  });
});

describe('log-SNR editor: drawing', () => {
  it('labels both axes and their ticks, and each point for screen readers', () => {
    const w = editor();
    const texts = w.findAll('text').map((t) => t.text());
    expect(texts).toContain('t (0 clean → 1 pure noise)');
    expect(texts).toContain('log-SNR');
    for (const tick of ['-15', '-10', '-5', '0', '5', '10', '15', '0.25', '0.5', '0.75', '1']) expect(texts).toContain(tick);
    const p = w.findAll('[data-testid="logsnr-point"]')[1];
    expect(p.attributes('aria-label')).toBe('Point 2: t 0.25, log-SNR 3');
    expect(p.attributes('aria-valuenow')).toBe('3');
  });

  it('draws the smooth interpolant through the points when valid, straight segments when not', () => {
    const w = editor();
    const d = w.get('path.curve').attributes('d')!;
    expect(d.split('L')).toHaveLength(121);
    // it passes through the middle point (t 0.5, log-SNR 0)
    expect(d).toContain(`${xOf(0.5).toFixed(1)},${yOf(0).toFixed(1)}`);
    wrapper!.unmount();
    const bad = editor(
      [
        [0, 1],
        [0.5, 2],
        [1, -3],
      ],
      true,
    );
    expect(bad.get('path.curve').attributes('d')!.split('L')).toHaveLength(3);
    expect(bad.get('svg').classes()).toContain('invalid');
  });
});

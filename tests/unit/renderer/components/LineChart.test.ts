/**
 * The chart (src-renderer/src/components/LineChart.vue) running real uPlot on a recording canvas:
 * its accessible description, legend, axis labels, log-axis tick labels, and streaming updates that
 * do not rebuild the plot.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mount, type VueWrapper } from '@vue/test-utils';
import type { Pinia } from 'pinia';
import LineChart from '../../../../src-renderer/src/components/LineChart.vue';
import { useUiStore } from '../../../../src-renderer/src/stores/ui';
import { recordingCanvas } from '../helpers/canvas';
import { disposePinia, freshPinia } from '../helpers/pinia';

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
let canvas: ReturnType<typeof recordingCanvas>;
let pinia: Pinia;
let wrapper: VueWrapper | undefined;
beforeEach(() => {
  canvas = recordingCanvas();
  pinia = freshPinia();
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = undefined;
  disposePinia(pinia);
  canvas.restore();
});

function chart(props: Record<string, unknown> = {}) {
  wrapper = mount(LineChart, {
    attachTo: document.body,
    global: { plugins: [pinia] },
    props: { x: [1, 2, 3, 4], ys: [[0.5, 0.4, 0.3, 0.25]], series: [{ label: 'loss', color: '--chart-1' }], description: 'Training loss by step', xLabel: 'step', yLabel: 'loss', ...props },
  });
  return wrapper;
}

describe('line chart', () => {
  it('is an image described for screen readers, with a legend and labelled axes', async () => {
    const w = chart({ ys: [[0.5, 0.4, 0.3, 0.25], [0.5, 0.45, 0.35, 0.3]], series: [{ label: 'loss', color: '--chart-1' }, { label: 'smoothed', color: '#ff0000', dash: [4, 2] }] });
    await flush();
    const root = w.get('[role="img"]');
    expect(root.attributes('aria-label')).toBe('Training loss by step');
    const legend = w.findAll('.u-legend th').map((th) => th.text());
    expect(legend).toEqual(expect.arrayContaining(['step', 'loss', 'smoothed']));
    expect(canvas.texts).toEqual(expect.arrayContaining(['step', 'loss']));
  });

  it('labels a log axis 1e-4 style below 0.01 and with plain numbers above', async () => {
    chart({ x: [1, 2, 3, 4], ys: [[1e-5, 1e-3, 0.1, 10]], logY: true, yLabel: 'gradient norm' });
    await flush();
    // uPlot labels every other decade here (the others are drawn as empty strings)
    expect(canvas.texts).toEqual(expect.arrayContaining(['1e-5', '1e-3', '0.1', '10']));
    for (const bad of ['0', '0.00001', '0.001', '1e-1', '1e+1']) expect(canvas.texts).not.toContain(bad);
  });

  it('new points update the plot in place; new series or a theme change rebuild it', async () => {
    const w = chart();
    await flush();
    const first = w.get('.uplot').element;
    await w.setProps({ x: [1, 2, 3, 4, 5], ys: [[0.5, 0.4, 0.3, 0.25, 0.2]] });
    await flush();
    expect(w.get('.uplot').element).toBe(first);
    expect(w.findAll('.uplot')).toHaveLength(1);
    await w.setProps({ series: [{ label: 'loss (EMA)', color: '--chart-2' }] });
    await flush();
    const second = w.get('.uplot').element;
    expect(second).not.toBe(first);
    expect(w.findAll('.u-legend th').map((th) => th.text())).toContain('loss (EMA)');
    useUiStore().toggleTheme();
    await flush();
    expect(w.get('.uplot').element).not.toBe(second);
    expect(w.findAll('.uplot')).toHaveLength(1); // the old plot is destroyed, not stacked
  });
});

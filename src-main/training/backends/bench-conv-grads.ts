/**
 * Per-op timing of the bench UNet's convolutions (docs/design-notes.md §The bench UNet, batch 16): forward, input gradient
 * and weight gradient, on wasm (ours and tfjs's own input-gradient kernel) and on cpu.
 * A measurement script, not a test:  npx tsx src-main/training/backends/bench-conv-grads.ts [--cpu]
 * Prints a row per shape to stderr and one JSON line to stdout. --cpu also times the cpu backend
 * on four representative shapes (single runs; minutes); --reps N sets repetitions (best of N).
 */
import * as tf from '@tensorflow/tfjs';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../../network/config';
import { unetPlan, type BlockPlan, type ResBlockPlan } from '../../network/architecture';
import { initWasmBackend } from './wasm';
import { wasmConvGradOptions } from './wasm-conv-grads';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvShape {
  hw: number;
  cin: number;
  cout: number;
  k: number;
  stride: 1 | 2;
  count: number;
  /** the first conv's input is the image: its input gradient is never computed */
  needsDx: boolean;
}

/** Every conv of one forward pass, grouped by shape (mirrors unet.ts forward). */
export function benchConvShapes(config: UNetConfig): ConvShape[] {
  const plan = unetPlan(config);
  const list: Omit<ConvShape, 'count'>[] = [];
  const add = (hw: number, cin: number, cout: number, k: number, stride: 1 | 2 = 1, needsDx = true) => list.push({ hw, cin, cout, k, stride, needsDx });
  const res = (hw: number, b: ResBlockPlan) => {
    add(hw, b.cin, b.cout, 3);
    add(hw, b.cout, b.cout, 3);
    if (b.cin !== b.cout) add(hw, b.cin, b.cout, 1);
    if (b.attn) {
      add(hw, b.cout, 3 * b.cout, 1);
      add(hw, b.cout, b.cout, 1);
    }
  };
  let hw = config.imageSize;
  add(hw, config.inChannels, config.baseChannels, 3, 1, false);
  const walk = (blocks: BlockPlan[], dir: 'down' | 'up') => {
    for (const b of blocks) {
      if (b.kind === 'res') res(hw, b);
      else if (dir === 'down') {
        add(hw, b.ch, b.ch, 3, 2);
        hw /= 2;
      } else {
        hw *= 2;
        add(hw, b.ch, b.ch, 3);
      }
    }
  };
  walk(plan.down, 'down');
  res(hw, plan.mid[0]);
  add(hw, plan.mid[1].ch, 3 * plan.mid[1].ch, 1);
  add(hw, plan.mid[1].ch, plan.mid[1].ch, 1);
  res(hw, plan.mid[2]);
  walk(plan.up, 'up');
  add(hw, plan.outCh, config.inChannels, 3);
  const map = new Map<string, ConvShape>();
  for (const c of list) {
    const key = `${c.hw}|${c.cin}|${c.cout}|${c.k}|${c.stride}|${c.needsDx}`;
    const e = map.get(key);
    if (e) e.count++;
    else map.set(key, { ...c, count: 1 });
  }
  return [...map.values()];
}

const CPU_SHAPES = ['32x32 64->64 k3 s1', '32x32 64->64 k3 s2', '16x16 128->128 k3 s1', '8x8 128->128 k3 s1'];

function best(reps: number, f: () => tf.Tensor | tf.TensorInfo): number {
  let t = Infinity;
  for (let r = 0; r < reps + 1; r++) {
    const s = performance.now();
    const y = f();
    const out = y instanceof tf.Tensor ? y : tf.engine().makeTensorFromTensorInfo(y);
    out.dataSync();
    const dt = performance.now() - s;
    out.dispose();
    if (r > 0 || reps === 0) t = Math.min(t, dt);
  }
  return t;
}

async function main() {
  const args = process.argv.slice(2);
  const withCpu = args.includes('--cpu');
  const reps = Number(args[args.indexOf('--reps') + 1] ?? 3) || 3;
  const B = 16;
  const shapes = benchConvShapes(BENCH_UNET_CONFIG as UNetConfig);
  const wasmInfo = await initWasmBackend();
  const rows: Record<string, unknown>[] = [];
  const totals: Record<string, number> = {};
  const addTotal = (k: string, v: number) => (totals[k] = (totals[k] ?? 0) + v);
  for (const c of shapes) {
    const pad: Pad = c.stride === 2 ? [[0, 0], [1, 1], [1, 1], [0, 0]] : 'same';
    const ho = c.hw / c.stride;
    const flops = 2 * B * ho * ho * c.cout * c.cin * c.k * c.k;
    const row: Record<string, unknown> = { shape: `${c.hw}x${c.hw} ${c.cin}->${c.cout} k${c.k} s${c.stride}`, count: c.count, gflop: +(flops / 1e9).toFixed(3) };
    const timeOn = (backend: string, prefix: string, r: number, naiveDx: boolean) => {
      tf.setBackend(backend);
      const x = tf.randomUniform([B, c.hw, c.hw, c.cin], -1, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomUniform([c.k, c.k, c.cin, c.cout], -0.1, 0.1, 'float32', 2) as tf.Tensor4D;
      const dy = tf.randomUniform([B, ho, ho, c.cout], -1, 1, 'float32', 3) as tf.Tensor4D;
      const fwd = best(r, () => tf.conv2d(x, w, c.stride, pad));
      const dxAttrs = { strides: c.stride, pad, dataFormat: 'NHWC', inputShape: x.shape };
      const dx = best(r, () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, dxAttrs as never) as tf.Tensor);
      const dw = best(r, () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.stride, pad, dataFormat: 'NHWC', filterShape: w.shape } as never) as tf.Tensor);
      row[`${prefix}fwd_ms`] = +fwd.toFixed(1);
      row[`${prefix}dx_ms`] = +dx.toFixed(1);
      row[`${prefix}dw_ms`] = +dw.toFixed(1);
      if (prefix === 'wasm_') {
        addTotal(`${prefix}fwd_ms`, fwd * c.count);
        addTotal(`${prefix}dx_ms`, c.needsDx ? dx * c.count : 0);
        addTotal(`${prefix}dw_ms`, dw * c.count);
      }
      if (naiveDx) {
        wasmConvGradOptions.useOriginalInputKernel = true;
        try {
          const naive = best(Math.min(r, 1), () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, dxAttrs as never) as tf.Tensor);
          row[`${prefix}dx_tfjs_ms`] = +naive.toFixed(1);
          addTotal(`${prefix}dx_tfjs_ms`, c.needsDx ? naive * c.count : 0);
        } finally {
          wasmConvGradOptions.useOriginalInputKernel = false;
        }
      }
      row[`${prefix}fwd_gflops`] = +(flops / fwd / 1e6).toFixed(1);
      row[`${prefix}dx_gflops`] = +(flops / dx / 1e6).toFixed(1);
      row[`${prefix}dw_gflops`] = +(flops / dw / 1e6).toFixed(1);
      tf.dispose([x, w, dy]);
    };
    timeOn('wasm', 'wasm_', reps, true);
    if (withCpu && CPU_SHAPES.includes(row.shape as string)) timeOn('cpu', 'cpu_', 0, false);
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  const fwdFlop = shapes.reduce((s, c) => s + c.count * 2 * B * (c.hw / c.stride) ** 2 * c.cout * c.cin * c.k * c.k, 0);
  const summary = { bench: 'conv-grads', backend_info: wasmInfo, batch: B, conv_fwd_gflop: +(fwdFlop / 1e9).toFixed(2), totals_per_step_ms: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, Math.round(v)])), rows };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}

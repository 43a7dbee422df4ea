import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOrtProfile, trainGraphOpClass } from '../../../../src-main/training/onnx/profile';

describe('ORT training-graph profile', () => {
  it('classes kernels by the node names the graph builders give', () => {
    expect(trainGraphOpClass('down.0.0.c1/conv/node', 'FusedConv')).toBe('conv forward');
    expect(trainGraphOpClass('down.0.0.c1/conv/dx/node', 'Conv')).toBe('conv input gradient');
    expect(trainGraphOpClass('down.0.0.c1/conv/dwtap/node_3', 'Gemm')).toBe('conv weight gradient');
    expect(trainGraphOpClass('down.0.0.c1/conv/tap/node', 'Slice')).toBe('conv weight gradient');
    expect(trainGraphOpClass('down.0.0.c1/conv/db/node', 'ReduceSum')).toBe('conv bias gradient');
    expect(trainGraphOpClass('mid1.n2/lnorm/mdyy/node', 'ReduceMean')).toBe('group norm (fwd + bwd)');
    expect(trainGraphOpClass('mid1.n2/silu/dsilu/node', 'Add')).toBe('SiLU (fwd + bwd)');
    expect(trainGraphOpClass('mida/softmax/dot/node', 'ReduceSum')).toBe('attention matmuls and softmax (fwd + bwd)');
    expect(trainGraphOpClass('ReorderInput_12', 'ReorderInput')).toBe('NCHWc layout reorders');
    expect(trainGraphOpClass('down.0.0.c1/conv/w_oihwbibo/node', 'Transpose')).toBe('NCHWc layout reorders');
    expect(trainGraphOpClass('down.0.0.c1/conv/dx/w_blocked/node', 'Transpose')).toBe('NCHWc layout reorders');
    expect(trainGraphOpClass('up.0.0.c1/conv/dyshift/node_4', 'Pad')).toBe('conv weight gradient');
    expect(trainGraphOpClass('up.0.0.c1/conv/wflip/node', 'Slice')).toBe('conv input gradient');
    // the one-graph step's optimiser nodes (step-graph.ts names), even on conv parameters
    expect(trainGraphOpClass('adam/m_over_denom/node', 'Div')).toBe('optimiser: clip, Adam(W), EMA');
    expect(trainGraphOpClass('new.opt.v/node', 'Add')).toBe('optimiser: clip, Adam(W), EMA');
    expect(trainGraphOpClass('clip/scale/node', 'Where')).toBe('optimiser: clip, Adam(W), EMA');
    expect(trainGraphOpClass('ema/keep/node', 'Mul')).toBe('optimiser: clip, Adam(W), EMA');
    expect(trainGraphOpClass('params/split/node', 'Split')).toBe('flat state: parameter split, gradient concat');
    expect(trainGraphOpClass('down.0.0.c1.weight/grad_flat/node_2', 'Reshape')).toBe('flat state: parameter split, gradient concat');
    expect(trainGraphOpClass('grad/concat/node', 'Concat')).toBe('flat state: parameter split, gradient concat');
    expect(trainGraphOpClass('mid1.n1.weight/unflat/node', 'Reshape')).toBe('flat state: parameter split, gradient concat');
    expect(trainGraphOpClass('mida/unflat/node', 'Reshape')).toBe('attention matmuls and softmax (fwd + bwd)');
    expect(trainGraphOpClass('down.0.0.c1/conv/node', 'FusedConv')).toBe('conv forward');
  });

  it('averages the runs after the first and sums per class and op type', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfumato-prof-'));
    try {
      const file = join(dir, 'p.json');
      const node = (ts: number, name: string, op: string, dur: number) => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur, args: { op_name: op } });
      writeFileSync(
        file,
        JSON.stringify([
          { cat: 'Session', name: 'model_run', ts: 0, dur: 9000 },
          node(10, 'a/conv/node', 'Conv', 5000), // warm-up run: skipped
          { cat: 'Session', name: 'model_run', ts: 10_000, dur: 3000 },
          node(10_010, 'a/conv/node', 'Conv', 2000),
          node(10_020, 'a/conv/dx/node', 'Conv', 1000),
          { cat: 'Session', name: 'model_run', ts: 20_000, dur: 5000 },
          node(20_010, 'a/conv/node', 'Conv', 4000),
          node(20_020, 'a/conv/dx/node', 'Conv', 1000),
        ]),
      );
      const p = readOrtProfile(file);
      expect(p.runMs).toBe(4);
      expect(p.kernels).toBe(2);
      expect(p.opClassMs).toEqual({ 'conv forward': 3, 'conv input gradient': 1 });
      expect(p.opTypeMs).toEqual({ Conv: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

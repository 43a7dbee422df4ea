import { describe, expect, it } from 'vitest';
import { BENCH_UNET_CONFIG, ModelConfigError, validateUNetConfig, type UNetConfig } from '../../../src-main/network/config';
import { forwardFlops, paramCountOf, unetParamSpecs } from '../../../src-main/network/architecture';

const tiny: UNetConfig = {
  imageSize: 16,
  inChannels: 3,
  baseChannels: 8,
  channelMults: [1, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 4,
  dropout: 0,
  timeInput: 'discrete',
};

function fieldOf(c: unknown): string {
  try {
    validateUNetConfig(c);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelConfigError);
    return (e as ModelConfigError).field;
  }
  throw new Error('config was accepted');
}

describe('UNet config', () => {
  it('bench config counts exactly 4,437,699 parameters and 31.7 GFLOP at batch 16 (torch_ref.py)', () => {
    expect(paramCountOf(BENCH_UNET_CONFIG as UNetConfig)).toBe(4_437_699);
    expect(forwardFlops(BENCH_UNET_CONFIG as UNetConfig, 16) / 1e9).toBeCloseTo(31.734, 3);
  });

  it('bench parameter names follow the PyTorch state_dict order', () => {
    const names = unetParamSpecs(BENCH_UNET_CONFIG as UNetConfig).map((p) => p.name);
    expect(names.slice(0, 6)).toEqual(['temb.0.weight', 'temb.0.bias', 'temb.2.weight', 'temb.2.bias', 'cin.weight', 'cin.bias']);
    expect(names).toContain('down.0.0.c1.weight');
    expect(names).toContain('down.1.0.weight'); // stride-2 conv
    expect(names).toContain('down.4.1.qkv.weight'); // attention at 8x8
    expect(names).toContain('mida.proj.bias');
    expect(names).toContain('up.2.1.weight'); // conv after the first upsample (up.2.0 is nn.Upsample)
    expect(names.slice(-4)).toEqual(['nout.weight', 'nout.bias', 'cout.weight', 'cout.bias']);
    expect(names.filter((n) => n.endsWith('.qkv.weight'))).toHaveLength(1 + 1 + 2); // down, mid, up (2 blocks at 8x8)
    expect(new Set(names).size).toBe(names.length);
  });

  it('accepts the bench and a tiny config', () => {
    expect(validateUNetConfig({ ...BENCH_UNET_CONFIG })).toBeTruthy();
    expect(validateUNetConfig(tiny)).toBe(tiny);
  });

  it.each([
    ['channelMults', { channelMults: [] }],
    ['channelMults', { channelMults: [1, 0] }],
    ['channelMults', { channelMults: [1, 1.5] }],
    ['attentionResolutions', { attentionResolutions: [4] }],
    ['attentionResolutions', { attentionResolutions: [8, 8] }],
    ['imageSize', { imageSize: 18, channelMults: [1, 2, 2] }],
    ['imageSize', { imageSize: 0 }],
    ['imageSize', { imageSize: 16.5 }],
    ['groups', { groups: 3 }],
    ['groups', { baseChannels: 12, channelMults: [1, 2], groups: 8 }],
    ['baseChannels', { baseChannels: 7, groups: 1 }],
    ['baseChannels', { baseChannels: '8' }],
    ['inChannels', { inChannels: -1 }],
    ['resBlocks', { resBlocks: 0 }],
    ['dropout', { dropout: 1 }],
    ['dropout', { dropout: -0.1 }],
    ['dropout', { dropout: Number.NaN }],
    ['timeInput', { timeInput: 'sigma' }],
    ['channelMult', { channelMult: [1] }],
  ])('rejects bad %s (%j) with a ModelConfigError naming it', (field, patch) => {
    expect(fieldOf({ ...tiny, ...patch })).toBe(field);
  });

  it('rejects missing fields and non-objects', () => {
    const { groups: _g, ...rest } = tiny;
    expect(fieldOf(rest)).toBe('groups');
    expect(fieldOf(null)).toBe('config');
    expect(fieldOf([tiny])).toBe('config');
  });

  it('errors say what to do and survive JSON', () => {
    try {
      validateUNetConfig({ ...tiny, attentionResolutions: [4] });
      throw new Error('accepted');
    } catch (e) {
      const err = e as ModelConfigError;
      expect(err.message).toMatch(/resolution 4 does not occur.*16, 8/);
      expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'MODEL_CONFIG', field: 'attentionResolutions', message: err.message });
    }
  });
});

import type { UNetConfig } from '../../src-main/network/config';

/** The tiny UNet the model and backend tests share: 8 px, two levels, attention at 4 px, every layer type. */
export const TINY_UNET: Readonly<UNetConfig> = Object.freeze({
  imageSize: 8,
  inChannels: 3,
  baseChannels: 8,
  channelMults: [1, 2],
  resBlocks: 1,
  attentionResolutions: [4],
  groups: 4,
  dropout: 0,
  timeInput: 'discrete',
}) as UNetConfig;

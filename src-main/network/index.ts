/** Public surface of the model package: config, UNet, EMA, weights. */
export { BENCH_UNET_CONFIG, ModelConfigError, validateUNetConfig, levelResolutions, type UNetConfig, type TimeInput } from './config';
export { unetPlan, unetParamSpecs, paramCountOf, forwardFlops, type ParamSpec, type UNetPlan } from './architecture';
export { UNet, initialValue, type UNetOptions, type ApplyOptions, type NamedVariable } from './unet';
export { EMA, type EMAOptions } from './ema';
export {
  serializeWeights,
  parseWeights,
  weightsDigest,
  readTensors,
  readUNetWeights,
  assignTensors,
  serializeUNet,
  loadUNetWeights,
  unetFromWeights,
  configOfWeights,
  hasEma,
  WeightsFormatError,
  WEIGHTS_MAGIC,
  WEIGHTS_FORMAT_VERSION,
  EMA_PREFIX,
  type NamedTensorData,
  type ParsedWeights,
  type WeightsMeta,
} from './weights';

/** Public surface of the ONNX package: UNet export, import checks, ORT sessions, bench, protobuf codec. */
export {
  exportUNetToOnnx,
  buildUNetModelProto,
  hwioToOihw,
  transpose2d,
  ONNX_INPUT_SAMPLE,
  ONNX_INPUT_TIMESTEP,
  ONNX_OUTPUT,
  ONNX_BATCH_DIM,
  OPSET,
  META_KEYS,
  SFUMATO_ONNX_FORMAT_VERSION,
  type OnnxExportMeta,
  type OnnxExportOptions,
  type UNetSource,
} from './export';
export { inspectOnnxUNet, OnnxModelError, type OnnxModelErrorCode, type OnnxUNetSignature, type Dim } from './inspect';
export {
  createOrtSession,
  ortNetwork,
  providerPlan,
  physicalCoreCount,
  cudaAddonInstalled,
  loadOrt,
  sessionKey,
  sharedSessionCount,
  releaseAllOrtSessions,
  OrtSession,
  OrtError,
  ORT_PROVIDERS,
  type OrtProvider,
  type OrtErrorCode,
  type OrtSessionOptions,
  type OrtNetworkOptions,
  type OrtValueMeta,
  type ProviderPlan,
  type ProviderPlanInput,
} from './session';
export { benchOrtSampling, measureMatmulPeakGflops, randomUNetTensors, torchRefTimesteps, type OrtSamplingBenchOptions, type OrtSamplingBenchResult, type MatmulPeakResult } from './bench';
export { encodeModel, decodeModel, ProtoDecodeError, type ModelProto } from './proto';

/** Training backends: the ladder (tensorflow → webgpu → wasm → cpu) and the wasm setup. */
export { selectTrainingBackend, BackendUnavailableError, BACKEND_LADDER, type TrainingBackend, type BackendSelection } from './ladder';
export { initWasmBackend, wasmBinaryDir, type WasmBackendInfo } from './wasm';
export { installWasmConvGradKernels, wasmConvGradKernelsInstalled, wasmConvGradOptions, wasmConvGradStats } from './wasm-conv-grads';

/**
 * Export of Sfumato's UNet (src-main/network) to an ONNX model, written in TypeScript.
 *
 * Graph contract (what inspect.ts checks and session.ts feeds):
 *   input  `sample`     float32 [batch, C, H, W]  (NCHW; batch is symbolic, H = W = imageSize)
 *   input  `timestep`   float32 [batch]           the same t the tfjs model receives (UNet.apply):
 *                                                  the training timestep for timeInput 'discrete',
 *                                                  the adapter's c_noise for 'continuous'
 *   input  `class_label` int64 [batch]           class-conditional networks only: each row's class
 *                                                  index (metadata `sfumato.classes` lists the names
 *                                                  in index order; index = their count is the null
 *                                                  class of classifier-free guidance)
 *   output `out_sample` float32 [batch, C, H, W]  the raw network output (eps / x0 / v / score, as
 *                                                  metadata `sfumato.prediction` says); the name is
 *                                                  diffusers' UNet2DModel ONNX output name
 *
 * The network is torch_ref.py's UNet (see network/architecture.ts), built node by node from
 * unetPlan(config): every op has PyTorch/ONNX NCHW semantics, weights are initializers named by
 * their PyTorch state_dict keys in PyTorch layout (conv OIHW, linear [out, in] with Gemm transB=1),
 * converted once from tfjs layout (conv HWIO, linear [in, out]). No layout transposes in the graph.
 *
 * Opset 17 (see OPSET): GroupNorm is written as the decomposition torch.onnx emits for opsets < 18
 * — Reshape [B, G, -1] -> InstanceNormalization (scale 1, bias 0, eps) -> Reshape [B, C, H, W] ->
 * Mul gamma -> Add beta — which every execution provider implements (DirectML, CoreML and WebGPU
 * included). ONNX GroupNormalization-21 (per-channel scale; `groupNorm: 'native'`, opset 21) also
 * runs on ORT 1.30's CPU EP and passes the same parity test, but its forward measured 20-40 % slower
 * on the bench UNet (batch 16, 2 threads: 418 vs 343 ms best of 12, interleaved), so it is opt-in.
 * SiLU is Mul(x, Sigmoid(x)), which ORT fuses (QuickGelu, alpha 1); attention's q^T k and a v^T are
 * Transpose + MatMul, which ORT fuses into FusedMatMul (transA / transB) with the 1/sqrt(C) Mul.
 * At optimisation level 'all' ORT's CPU EP runs every Conv in its blocked NCHWc layout.
 */
import type { Objective } from '../diffusion/model-family';
import { validateUNetConfig, type UNetConfig } from '../network/config';
import { unetParamSpecs, type ParamSpec } from '../network/architecture';
import { EMA_PREFIX, readUNetWeights, weightsDigest, type NamedTensorData } from '../network/weights';
import type { UNet } from '../network/unet';
import { GraphBuilder, valueInfo } from './graph';
import { emitUNet } from './unet-graph';
import { DataType, encodeModel, type ModelProto } from './proto';

/** Value names of the exported graph (and of any ONNX UNet we import). */
export const ONNX_INPUT_SAMPLE = 'sample';
export const ONNX_INPUT_TIMESTEP = 'timestep';
export const ONNX_INPUT_CLASS = 'class_label';
export const ONNX_OUTPUT = 'out_sample';
/** Symbolic batch dimension. */
export const ONNX_BATCH_DIM = 'batch';

/** Opsets: 17 for the portable decomposition, 21 when GroupNormalization-21 is used. */
export const OPSET = { decomposed: 17, native: 21 } as const;
/** IR versions matching those opsets (onnx/docs/Versioning.md: opset 17 -> IR 8, opset 21 -> IR 10). */
const IR_VERSION = { decomposed: 8, native: 10 } as const;

/** Version of the metadata_props layout below; bump when keys change meaning. */
export const SFUMATO_ONNX_FORMAT_VERSION = 1;

/** metadata_props keys written by the exporter. */
export const META_KEYS = {
  formatVersion: 'sfumato.format_version',
  prediction: 'sfumato.prediction',
  schedule: 'sfumato.schedule',
  imageSize: 'sfumato.image_size',
  channels: 'sfumato.channels',
  timeInput: 'sfumato.time_input',
  appVersion: 'sfumato.app_version',
  config: 'sfumato.unet_config',
  weights: 'sfumato.weights',
  weightsDigest: 'sfumato.weights_sha256',
  /** class-conditional networks: JSON list of the class names, in label order */
  classes: 'sfumato.classes',
} as const;

export interface OnnxExportMeta {
  /** what the network predicts (metadata for importers) */
  prediction: Objective;
  /** the schedule the network was trained with (a JSON-able object, e.g. DiscreteScheduleConfig) */
  schedule: unknown;
  /** Sfumato version that wrote the file */
  appVersion: string;
  /** model name (ModelProto.graph.name / doc) */
  name?: string;
  /** class-conditional networks: the class names in label order (metadata `sfumato.classes`) */
  classes?: readonly string[];
  /** more metadata_props (keys must not collide with META_KEYS) */
  extra?: Record<string, string>;
}

export interface OnnxExportOptions {
  /** For a {config, tensors} source: which weights to export. 'auto' (default) = the EMA copies
   *  (EMA_PREFIX + name) when present, else the model weights. Ignored for a UNet instance. */
  weights?: 'auto' | 'model' | 'ema';
  /** GroupNorm lowering (header). Default 'decomposed' (opset 17). */
  groupNorm?: 'decomposed' | 'native';
}

export type UNetSource = UNet | { config: UNetConfig; tensors: readonly NamedTensorData[] };

function isUNet(m: UNetSource): m is UNet {
  return typeof (m as UNet).namedVariables === 'function';
}

/** tfjs-layout weights by name, validated against the config's parameter list. */
function collectWeights(source: UNetSource, which: 'auto' | 'model' | 'ema'): { config: UNetConfig; byName: Map<string, NamedTensorData>; used: 'model' | 'ema'; list: NamedTensorData[] } {
  if (isUNet(source)) {
    const list = readUNetWeights(source);
    return { config: source.config, byName: new Map(list.map((t) => [t.name, t])), used: 'model', list };
  }
  const config = validateUNetConfig(source.config);
  const hasEma = source.tensors.some((t) => t.name.startsWith(EMA_PREFIX));
  const used = which === 'auto' ? (hasEma ? 'ema' : 'model') : which;
  if (used === 'ema' && !hasEma) throw new Error('exportUNetToOnnx: weights "ema" requested but the tensors hold no EMA copies (names starting with "ema.")');
  const prefix = used === 'ema' ? EMA_PREFIX : '';
  const byName = new Map<string, NamedTensorData>();
  for (const t of source.tensors) if (t.name.startsWith(prefix) && (used === 'ema' || !t.name.startsWith(EMA_PREFIX))) byName.set(t.name.slice(prefix.length), t);
  const list: NamedTensorData[] = [];
  for (const spec of unetParamSpecs(config)) {
    const t = byName.get(spec.name);
    if (!t) throw new Error(`exportUNetToOnnx: weights lack ${prefix}${spec.name}; they were written for another configuration`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`exportUNetToOnnx: ${prefix}${spec.name} has shape [${t.shape.join(', ')}], expected tfjs layout [${spec.shape.join(', ')}]`);
    }
    list.push({ ...t, name: spec.name });
  }
  return { config, byName: new Map(list.map((t) => [t.name, t])), used, list };
}

/** tfjs HWIO [kh, kw, cin, cout] -> ONNX/PyTorch OIHW [cout, cin, kh, kw] (architecture.ts header). */
export function hwioToOihw(w: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w[src + o];
      }
  return out;
}

/** tfjs linear [in, out] -> PyTorch [out, in]. */
export function transpose2d(w: Float32Array, [rows, cols]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * Builds the ONNX model of a UNet (or a config + tfjs-layout tensors, e.g. parseWeights().tensors)
 * and serialises it. Pure: no I/O.
 */
export function exportUNetToOnnx(source: UNetSource, meta: OnnxExportMeta, opts: OnnxExportOptions = {}): Uint8Array {
  return encodeModel(buildUNetModelProto(source, meta, opts));
}

/** The ModelProto exportUNetToOnnx serialises (for tests and tools). */
export function buildUNetModelProto(source: UNetSource, meta: OnnxExportMeta, opts: OnnxExportOptions = {}): ModelProto {
  const gnMode = opts.groupNorm ?? 'decomposed';
  const { config, byName, used, list } = collectWeights(source, opts.weights ?? 'auto');
  const specs = new Map<string, ParamSpec>(unetParamSpecs(config).map((s) => [s.name, s]));
  const { imageSize: S, inChannels: C } = config;
  const g = new GraphBuilder();
  const sample = g.fresh(ONNX_INPUT_SAMPLE);
  const timestep = g.fresh(ONNX_INPUT_TIMESTEP);
  const K = config.numClasses ?? 0;
  const classLabel = K > 0 ? g.fresh(ONNX_INPUT_CLASS) : undefined;
  if (K > 0 && meta.classes && meta.classes.length !== K) throw new Error(`exportUNetToOnnx: the network has ${K} classes but ${meta.classes.length} class names were given`);
  g.fresh(ONNX_OUTPUT); // reserved: the last conv's output is renamed to it below

  // parameters: initializers in PyTorch layout under their state_dict names
  const param = (name: string, dims?: number[]): string => {
    const spec = specs.get(name);
    const t = byName.get(name);
    if (!spec || !t) throw new Error(`exportUNetToOnnx: no parameter ${name} (internal error)`);
    if (dims) return g.floatInit(name, dims, t.data); // same values, reshaped (e.g. [C] -> [C, 1, 1])
    if (spec.kind === 'conv' && spec.role === 'weight') return g.floatInit(name, spec.torchShape, hwioToOihw(t.data, spec.shape));
    if (spec.kind === 'linear' && spec.role === 'weight') return g.floatInit(name, spec.torchShape, transpose2d(t.data, spec.shape));
    return g.floatInit(name, spec.torchShape, t.data);
  };
  emitUNet(g, config, { sample, timestep, param, groupNorm: gnMode, classLabel: classLabel ? { kind: 'index', value: classLabel } : undefined });
  // the final conv writes `out_sample` directly (no Identity node)
  const last = g.nodes[g.nodes.length - 1];
  (last.output as string[])[0] = ONNX_OUTPUT;

  const props: Record<string, string> = {
    [META_KEYS.formatVersion]: String(SFUMATO_ONNX_FORMAT_VERSION),
    [META_KEYS.prediction]: meta.prediction,
    [META_KEYS.schedule]: JSON.stringify(meta.schedule),
    [META_KEYS.imageSize]: String(S),
    [META_KEYS.channels]: String(C),
    [META_KEYS.timeInput]: config.timeInput,
    [META_KEYS.appVersion]: meta.appVersion,
    [META_KEYS.config]: JSON.stringify(config),
    [META_KEYS.weights]: used,
    [META_KEYS.weightsDigest]: weightsDigest(list),
  };
  if (K > 0) props[META_KEYS.classes] = JSON.stringify(meta.classes ?? Array.from({ length: K }, (_, i) => `class ${i}`));
  for (const [k, v] of Object.entries(meta.extra ?? {})) {
    if (k in props) throw new Error(`exportUNetToOnnx: extra metadata key ${k} collides with a Sfumato key`);
    props[k] = v;
  }
  const graph = g.graph(
    meta.name ?? 'sfumato_unet',
    [valueInfo(sample, DataType.FLOAT, [ONNX_BATCH_DIM, C, S, S]), valueInfo(timestep, DataType.FLOAT, [ONNX_BATCH_DIM]), ...(classLabel ? [valueInfo(classLabel, DataType.INT64, [ONNX_BATCH_DIM])] : [])],
    [valueInfo(ONNX_OUTPUT, DataType.FLOAT, [ONNX_BATCH_DIM, C, S, S])],
    'Sfumato DDPM UNet (torch_ref.py architecture): sample [batch, C, H, W] float32, timestep [batch] float32 -> out_sample [batch, C, H, W]',
  );
  return {
    irVersion: IR_VERSION[gnMode],
    opsetImport: [{ domain: '', version: OPSET[gnMode] }],
    producerName: 'sfumato',
    producerVersion: meta.appVersion,
    modelVersion: SFUMATO_ONNX_FORMAT_VERSION,
    docString: `${meta.prediction}-prediction UNet exported by Sfumato ${meta.appVersion}`,
    graph,
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
  };
}

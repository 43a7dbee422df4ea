/**
 * Validation of an external ONNX UNet before import: parse the file with our decoder (no ORT
 * session, no weights copied) and check the signature Sfumato can sample:
 *   inputs  `sample`   4-D float32 [B, C, H, W]
 *           `timestep` int64 / int32 / float32 / float64, scalar [] or [B] (or [1])
 *   output  exactly one, 4-D float32, the sample's shape where both are fixed
 * That is what diffusers' UNet2DModel exported with optimum (int64 scalar timestep) and a plain
 * torch.onnx export of a DDPM UNet (float [B] timestep) look like. Anything else gets an
 * OnnxModelError saying what was expected and what was found.
 */
import { ProtoDecodeError, DATA_TYPE_NAMES, DataType, decodeModel, type ModelProto, type ValueInfoProto } from './proto';
import { META_KEYS, ONNX_INPUT_CLASS, ONNX_INPUT_SAMPLE, ONNX_INPUT_TIMESTEP } from './export';
import { DomainError } from '../api/errors';

export type OnnxModelErrorCode =
  | 'ONNX_EMPTY'
  | 'ONNX_TRUNCATED'
  | 'ONNX_NOT_ONNX'
  | 'ONNX_EXTERNAL_DATA'
  | 'ONNX_INPUTS'
  | 'ONNX_SAMPLE'
  | 'ONNX_TIMESTEP'
  | 'ONNX_OUTPUTS';

/** An ONNX file that cannot be imported as a UNet. Survives JSON/IPC as {code, message}. */
export class OnnxModelError extends DomainError {
  /** the file given cannot be imported as a UNet */
  readonly apiCode = 'bad_request';
  override apiDetails(): { reason: string } {
    return { reason: this.code };
  }
  constructor(
    readonly code: OnnxModelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OnnxModelError';
  }
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A dimension: a fixed size, or the symbolic name ('' when unnamed). */
export type Dim = number | string;

export interface OnnxUNetSignature {
  sample: { name: string; dims: Dim[] };
  timestep: { name: string; dtype: 'int64' | 'int32' | 'float32' | 'float64'; rank: 0 | 1; dims: Dim[] };
  output: { name: string; dims: Dim[] };
  /** C (fixed in every UNet we accept) */
  channels: number;
  /** H and W when fixed */
  height?: number;
  width?: number;
  /** a fixed batch size, or undefined when dynamic */
  batch?: number;
  /** opset of the default ("ai.onnx") domain */
  opset: number;
  /** other operator-set domains, e.g. com.microsoft */
  otherOpsets: { domain: string; version: number }[];
  irVersion: number;
  producer: string;
  /** metadata_props as a plain object */
  metadata: Record<string, string>;
  /** class-conditional UNets (an int64 [B] `class_label` input): the class names in label order,
   *  from metadata `sfumato.classes`; label = their count is the null class */
  classes?: string[];
  /** the Sfumato export metadata, when the file came from exportUNetToOnnx */
  sfumato?: { formatVersion: number; prediction: string; schedule: unknown; imageSize: number; channels: number; timeInput?: string; appVersion: string; config?: unknown };
  initializerCount: number;
  nodeCount: number;
}

const TIMESTEP_TYPES: Record<number, OnnxUNetSignature['timestep']['dtype']> = {
  [DataType.INT64]: 'int64',
  [DataType.INT32]: 'int32',
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
};

const typeName = (t: number | undefined): string => (t === undefined ? 'no type' : DATA_TYPE_NAMES[t] ?? `data type ${t}`);
const fmt = (dims: Dim[]): string => `[${dims.map((d) => (typeof d === 'number' ? d : d || '?')).join(', ')}]`;

function tensorOf(v: ValueInfoProto, role: string, code: OnnxModelErrorCode): { elemType: number | undefined; dims: Dim[] } {
  const tt = v.type?.tensorType;
  if (!tt) throw new OnnxModelError(code, `${role} ${v.name ?? '?'} must be a tensor, found a value without tensor type`);
  if (!tt.shape) throw new OnnxModelError(code, `${role} ${v.name} has no shape information; expected a ranked tensor (re-export with shapes)`);
  const dims = (tt.shape.dim ?? []).map((d) => (d.dimValue !== undefined ? d.dimValue : d.dimParam ?? ''));
  return { elemType: tt.elemType, dims };
}

function parse(bytes: Uint8Array): ModelProto {
  if (bytes.length === 0) throw new OnnxModelError('ONNX_EMPTY', 'the file is empty; expected an ONNX model (.onnx)');
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    if (e instanceof ProtoDecodeError && e.truncated) {
      throw new OnnxModelError('ONNX_TRUNCATED', `the ONNX file is truncated (${bytes.length} bytes; ${e.message}); download or copy it again`);
    }
    throw new OnnxModelError('ONNX_NOT_ONNX', `not an ONNX model: the file is not a valid ONNX protobuf (${(e as Error).message})`);
  }
  if (!model.irVersion || !model.graph || !model.opsetImport?.length) {
    const missing = [!model.irVersion && 'ir_version', !model.graph && 'graph', !model.opsetImport?.length && 'opset_import'].filter(Boolean);
    throw new OnnxModelError('ONNX_NOT_ONNX', `not an ONNX model: it lacks ${missing.join(', ')}`);
  }
  return model;
}

/** Parses and checks an ONNX UNet (see header); returns its signature or throws OnnxModelError. */
export function inspectOnnxUNet(bytes: Uint8Array): OnnxUNetSignature {
  const model = parse(bytes);
  const graph = model.graph ?? {};
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const external = (graph.initializer ?? []).filter((t) => t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0);
  if (external.length > 0) {
    throw new OnnxModelError('ONNX_EXTERNAL_DATA', `the model keeps ${external.length} weight tensors in external data files (e.g. ${external[0].name}); import a single-file .onnx (re-export with the weights embedded, e.g. onnx.save(model, path, save_as_external_data=False))`);
  }
  // IR < 4 lists initializers among the inputs as well: those are not inputs a caller feeds
  const inputs = (graph.input ?? []).filter((i) => !initNames.has(i.name));
  const names = inputs.map((i) => i.name ?? '?');
  const expected = `inputs ${ONNX_INPUT_SAMPLE} [B, C, H, W] float32 and ${ONNX_INPUT_TIMESTEP} (int64 or float, scalar or [B])`;
  const sampleVi = inputs.find((i) => i.name === ONNX_INPUT_SAMPLE);
  const tVi = inputs.find((i) => i.name === ONNX_INPUT_TIMESTEP);
  const classVi = inputs.find((i) => i.name === ONNX_INPUT_CLASS);
  if (!sampleVi || !tVi || inputs.length !== (classVi ? 3 : 2)) {
    const missing = [!sampleVi && ONNX_INPUT_SAMPLE, !tVi && ONNX_INPUT_TIMESTEP].filter(Boolean);
    const extra = names.filter((n) => n !== ONNX_INPUT_SAMPLE && n !== ONNX_INPUT_TIMESTEP && n !== ONNX_INPUT_CLASS);
    throw new OnnxModelError('ONNX_INPUTS', `expected ${expected} (class-conditional models: also ${ONNX_INPUT_CLASS} int64 [B]); found inputs ${names.length ? names.join(', ') : '(none)'}${missing.length ? ` — missing ${missing.join(', ')}` : ''}${extra.length ? ` — unexpected ${extra.join(', ')} (other conditioning inputs are not supported)` : ''}`);
  }
  let classes: string[] | undefined;
  if (classVi) {
    const ct = tensorOf(classVi, 'input', 'ONNX_INPUTS');
    if (ct.elemType !== DataType.INT64 || ct.dims.length !== 1) {
      throw new OnnxModelError('ONNX_INPUTS', `input ${ONNX_INPUT_CLASS} must be int64 [B] (each row's class index); found ${typeName(ct.elemType)} ${fmt(ct.dims)}`);
    }
    const meta = (model.metadataProps ?? []).find((p) => p.key === META_KEYS.classes)?.value;
    let parsed: unknown;
    try {
      parsed = meta === undefined ? undefined : JSON.parse(meta);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((n) => typeof n !== 'string')) {
      throw new OnnxModelError('ONNX_INPUTS', `a class-conditional UNet (input ${ONNX_INPUT_CLASS}) needs metadata ${META_KEYS.classes}: a JSON list of its class names in label order (label = their count is the null class); add it with onnx.helper.set_model_props`);
    }
    classes = parsed as string[];
  }

  const sample = tensorOf(sampleVi, 'input', 'ONNX_SAMPLE');
  if (sample.dims.length !== 4) {
    throw new OnnxModelError('ONNX_SAMPLE', `input ${ONNX_INPUT_SAMPLE} must be 4-D [B, C, H, W]; found rank ${sample.dims.length} ${fmt(sample.dims)}`);
  }
  if (sample.elemType !== DataType.FLOAT) {
    throw new OnnxModelError('ONNX_SAMPLE', `input ${ONNX_INPUT_SAMPLE} must be float32; found ${typeName(sample.elemType)} (export the model in float32)`);
  }
  const [b, c, h, w] = sample.dims;
  if (typeof c !== 'number' || c < 1) {
    throw new OnnxModelError('ONNX_SAMPLE', `input ${ONNX_INPUT_SAMPLE} must have a fixed channel count (dim 1); found ${fmt(sample.dims)}`);
  }

  const t = tensorOf(tVi, 'input', 'ONNX_TIMESTEP');
  const dtype = t.elemType !== undefined ? TIMESTEP_TYPES[t.elemType] : undefined;
  if (!dtype) throw new OnnxModelError('ONNX_TIMESTEP', `input ${ONNX_INPUT_TIMESTEP} must be int64 or float (float32/float64, or int32); found ${typeName(t.elemType)}`);
  if (t.dims.length > 1) throw new OnnxModelError('ONNX_TIMESTEP', `input ${ONNX_INPUT_TIMESTEP} must be a scalar or 1-D [B]; found rank ${t.dims.length} ${fmt(t.dims)}`);
  if (t.dims.length === 1) {
    const d = t.dims[0];
    const ok = typeof d === 'string' || d === 1 || d === b;
    if (!ok) throw new OnnxModelError('ONNX_TIMESTEP', `input ${ONNX_INPUT_TIMESTEP} must be [B] with B the sample's batch (${typeof b === 'number' ? b : b || '?'}) or [1]; found ${fmt(t.dims)}`);
  }

  const outputs = graph.output ?? [];
  if (outputs.length !== 1) {
    throw new OnnxModelError('ONNX_OUTPUTS', `expected exactly one output of the sample's shape ${fmt(sample.dims)}; found ${outputs.length} outputs${outputs.length ? ` (${outputs.map((o) => o.name).join(', ')})` : ''}`);
  }
  const out = tensorOf(outputs[0], 'output', 'ONNX_OUTPUTS');
  if (out.elemType !== DataType.FLOAT) throw new OnnxModelError('ONNX_OUTPUTS', `output ${outputs[0].name} must be float32; found ${typeName(out.elemType)}`);
  const clash = out.dims.length !== 4 || out.dims.some((d, i) => typeof d === 'number' && typeof sample.dims[i] === 'number' && d !== sample.dims[i]);
  if (clash) throw new OnnxModelError('ONNX_OUTPUTS', `output ${outputs[0].name} must have the sample's shape ${fmt(sample.dims)}; found ${fmt(out.dims)}`);

  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key !== undefined) metadata[p.key] = p.value ?? '';
  const opsets = model.opsetImport ?? [];
  const main = opsets.find((o) => !o.domain || o.domain === 'ai.onnx');
  const sig: OnnxUNetSignature = {
    sample: { name: ONNX_INPUT_SAMPLE, dims: sample.dims },
    timestep: { name: ONNX_INPUT_TIMESTEP, dtype, rank: t.dims.length as 0 | 1, dims: t.dims },
    output: { name: outputs[0].name ?? '', dims: out.dims },
    channels: c,
    height: typeof h === 'number' ? h : typeof out.dims[2] === 'number' ? out.dims[2] : undefined,
    width: typeof w === 'number' ? w : typeof out.dims[3] === 'number' ? out.dims[3] : undefined,
    batch: typeof b === 'number' && b > 0 ? b : undefined,
    opset: main?.version ?? 0,
    otherOpsets: opsets.filter((o) => o !== main).map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 })),
    irVersion: model.irVersion ?? 0,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    metadata,
    initializerCount: graph.initializer?.length ?? 0,
    nodeCount: graph.node?.length ?? 0,
    ...(classes ? { classes } : {}),
  };
  if (metadata[META_KEYS.formatVersion] !== undefined) sig.sfumato = sfumatoMeta(metadata);
  return sig;
}

function sfumatoMeta(m: Record<string, string>): OnnxUNetSignature['sfumato'] {
  const json = (k: string): unknown => {
    try {
      return m[k] === undefined ? undefined : JSON.parse(m[k]);
    } catch {
      return undefined;
    }
  };
  return {
    formatVersion: Number(m[META_KEYS.formatVersion]),
    prediction: m[META_KEYS.prediction] ?? '',
    schedule: json(META_KEYS.schedule),
    imageSize: Number(m[META_KEYS.imageSize]),
    channels: Number(m[META_KEYS.channels]),
    timeInput: m[META_KEYS.timeInput],
    appVersion: m[META_KEYS.appVersion] ?? '',
    config: json(META_KEYS.config),
  };
}

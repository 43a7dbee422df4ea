/**
 * The adapter file: a LoRA as its own small .safetensors (safetensors.ts), kohya-ss layout:
 *   lora_unet_<module path, dots as _>.lora_down.weight   conv [r, cin, kh, kw] | linear [r, in]
 *   lora_unet_<module>.lora_up.weight                      conv [cout, r, 1, 1] | linear [out, r]
 *   lora_unet_<module>.alpha                               [] (α; ΔW = α/r · up·down)
 * __metadata__ (strings): ss_network_dim (r), ss_network_alpha (α), ss_network_module
 * ("sfumato.lora"), sfumato.targets (comma list), sfumato.base_sha256 (the file the run started
 * from), sfumato.base_config (the UNet config JSON), sfumato.app_version, sfumato.weights ("ema":
 * the averaged adapters, what previews and samples use).
 */
import type { UNetConfig } from './config';
import { validateUNetConfig } from './config';
import { LoraConfigError, loraAdapterSpecs, loraScale, mergeAdapters, validateLoraConfig, type AdapterSpec, type LoraConfig } from './lora';
import { unetParamSpecs } from './architecture';
import { configOfWeights, EMA_PREFIX, WeightsFormatError, type ParsedWeights } from './weights';

/** LoRA checkpoints: the frozen base weights under this prefix (the plain names hold the merged model). */
export const LORA_BASE_PREFIX = 'base.';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafeTensor } from './safetensors';

export const ADAPTER_FILE_SUFFIX = '.lora.safetensors';

export interface AdapterFile {
  lora: LoraConfig;
  config: UNetConfig;
  adapters: AdapterSpec[];
  /** down/up tensors in adapterTensorSpecs order */
  tensors: Float32Array[];
  baseSha256: string;
  metadata: Record<string, string>;
}

/** The adapter file beside a checkpoint: step-00000100.sfwt -> step-00000100.lora.safetensors */
export function adapterFileOf(checkpointFile: string): string {
  return checkpointFile.replace(/\.sfwt$/, '') + ADAPTER_FILE_SUFFIX;
}

export function encodeAdapterFile(f: { lora: LoraConfig; config: UNetConfig; adapters: readonly AdapterSpec[]; tensors: readonly Float32Array[]; baseSha256: string; appVersion: string; weights: 'ema' | 'model' }): Uint8Array {
  const out: SafeTensor[] = [];
  f.adapters.forEach((a, i) => {
    out.push({ name: a.down, shape: a.downShape, data: f.tensors[2 * i] });
    out.push({ name: a.up, shape: a.upShape, data: f.tensors[2 * i + 1] });
    out.push({ name: a.alphaName, shape: [], data: Float32Array.from([f.lora.alpha]) });
  });
  return encodeSafetensors(out, {
    ss_network_dim: String(f.lora.rank),
    ss_network_alpha: String(f.lora.alpha),
    ss_network_module: 'sfumato.lora',
    'sfumato.targets': f.lora.targets.join(','),
    'sfumato.base_sha256': f.baseSha256,
    'sfumato.base_config': JSON.stringify(f.config),
    'sfumato.app_version': f.appVersion,
    'sfumato.weights': f.weights,
  });
}

/** Reads and checks an adapter file: every adapter of its settings present with its shape, nothing else. */
export function decodeAdapterFile(bytes: Uint8Array, label: string): AdapterFile {
  const file = decodeSafetensors(bytes, label);
  const m = file.metadata;
  const bad = (why: string): never => {
    throw new SafetensorsError(`${label} is not a Sfumato LoRA adapter: ${why}`);
  };
  let config: UNetConfig;
  try {
    config = validateUNetConfig(JSON.parse(m['sfumato.base_config'] ?? 'null'));
  } catch (e) {
    return bad(`its metadata has no valid sfumato.base_config (${(e as Error).message})`);
  }
  let lora: LoraConfig;
  let adapters: AdapterSpec[];
  try {
    lora = validateLoraConfig({ rank: Number(m.ss_network_dim), alpha: Number(m.ss_network_alpha), targets: (m['sfumato.targets'] ?? '').split(',').filter(Boolean) });
    adapters = loraAdapterSpecs(config, lora);
  } catch (e) {
    return bad(`its metadata (ss_network_dim, ss_network_alpha, sfumato.targets) is not usable: ${(e as Error).message}`);
  }
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const expected = new Set<string>();
  const tensors: Float32Array[] = [];
  for (const a of adapters) {
    for (const [name, shape] of [
      [a.down, a.downShape],
      [a.up, a.upShape],
    ] as const) {
      const t = byName.get(name) ?? bad(`it has no tensor ${name}`);
      if (t.shape.join('x') !== shape.join('x')) bad(`${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      tensors.push(t.data);
      expected.add(name);
    }
    const al = byName.get(a.alphaName);
    if (al && (al.data.length !== 1 || Math.abs(al.data[0] - lora.alpha) > 1e-6 * lora.alpha)) bad(`${a.alphaName} is ${al.data[0]}, the metadata says ${lora.alpha}`);
    expected.add(a.alphaName);
  }
  const extra = file.tensors.find((t) => !expected.has(t.name));
  if (extra) bad(`it has a tensor ${extra.name} that its settings do not explain`);
  return { lora, config, adapters, tensors, baseSha256: m['sfumato.base_sha256'] ?? '', metadata: m };
}

/**
 * A weights file with an adapter baked in at `strength` (1 = as trained): W + strength·α/r·up·down
 * over the base, which is the file's frozen `base.*` (a LoRA run's checkpoint) or else its EMA
 * weights (or plain ones). The result holds the merged weights under the plain names only, so it
 * samples and exports like any model. Same arithmetic as the trainer's checkpoints (mergeAdapters).
 */
export function applyAdapterToWeights(parsed: ParsedWeights, adapter: AdapterFile, strength: number, label: string): ParsedWeights {
  if (!Number.isFinite(strength)) throw new LoraConfigError('loraScale', `must be a finite number (e.g. 0.5 or 1), got ${strength}`);
  const config = configOfWeights(parsed);
  if (JSON.stringify(unetConfigKey(config)) !== JSON.stringify(unetConfigKey(adapter.config))) {
    throw new LoraConfigError('lora', `${label} was trained for another architecture (${JSON.stringify(unetConfigKey(adapter.config))}) than this model (${JSON.stringify(unetConfigKey(config))})`);
  }
  const specs = unetParamSpecs(config);
  const byName = new Map(parsed.tensors.map((t) => [t.name, t]));
  const prefix = parsed.tensors.some((t) => t.name.startsWith(LORA_BASE_PREFIX)) ? LORA_BASE_PREFIX : parsed.tensors.some((t) => t.name.startsWith(EMA_PREFIX)) ? EMA_PREFIX : '';
  const base = specs.map((s) => {
    const t = byName.get(prefix + s.name);
    if (!t) throw new WeightsFormatError('WEIGHTS_MISMATCH', `the model has no tensor ${prefix + s.name}`);
    return t.data;
  });
  const merged = mergeAdapters(config, base, adapter.adapters, adapter.tensors, strength * loraScale(adapter.lora));
  return { version: parsed.version, meta: { ...parsed.meta }, tensors: specs.map((s, i) => ({ name: s.name, shape: s.shape.slice(), data: merged[i] })) };
}

function unetConfigKey(c: UNetConfig): unknown {
  return [c.imageSize, c.inChannels, c.baseChannels, c.channelMults, c.resBlocks, c.attentionResolutions, c.groups];
}

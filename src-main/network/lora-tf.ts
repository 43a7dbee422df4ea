/** The tfjs side of LoRA (network/lora.ts): adapted weights for UNet.apply's `weights` option. */
import * as tf from '@tensorflow/tfjs';
import type { ParamSpec } from './architecture';
import type { AdapterSpec } from './lora';

/**
 * tfjs: the model's weights with ΔW added (differentiable in the adapter tensors), in
 * variables() order, for UNet.apply's `weights` option. `adapterTensors` in adapterTensorSpecs order.
 * Call inside tf.tidy / variableGrads.
 */
export function loraWeightsTf(baseVars: readonly tf.Tensor[], specs: readonly ParamSpec[], adapters: readonly AdapterSpec[], adapterTensors: readonly tf.Tensor[], scale: number): tf.Tensor[] {
  const byParam = new Map(adapters.map((a, i) => [a.param, i]));
  return specs.map((s, i) => {
    const ai = byParam.get(s.name);
    if (ai === undefined) return baseVars[i];
    const a = adapters[ai];
    const r = a.downShape[0];
    const delta = tf.mul(tf.matMul(tf.reshape(adapterTensors[2 * ai + 1], [a.out, r]), tf.reshape(adapterTensors[2 * ai], [r, a.fanIn])), scale);
    const tfjsLayout = s.kind === 'conv' ? tf.transpose(tf.reshape(delta, a.torchShape), [2, 3, 1, 0]) : tf.transpose(delta, [1, 0]);
    return tf.add(baseVars[i], tfjsLayout);
  });
}

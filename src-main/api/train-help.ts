/**
 * Plain-language labels and one-line help for every training setting: the one table the Train
 * page (under each field) and `sfumato train --help` read. Plain data, so it lives in the
 * contract beside the fine-tune defaults. `term` is the technical name for those who know it.
 */
import type { TrainConfig } from './types';

export interface SettingHelp {
  /** what the field is called on the page */
  label: string;
  /** one line, in words an artist understands */
  help: string;
  /** the technical name (shown after the help) */
  term: string;
}

/** Settings of the Train form that are not part of the run configuration. */
export type TrainFormExtra = 'dataset' | 'preset' | 'init' | 'seed' | 'resetOptimizer';

export type TrainHelpKey = keyof TrainConfig | TrainFormExtra;

/** Every key of TrainConfig must have an entry: the compiler and tests/unit/api/train-help.test.ts ask. */
export const TRAIN_HELP: Record<TrainHelpKey, SettingHelp> = {
  dataset: { label: 'Dataset', help: 'The pictures the model learns from; it will make new pictures like these.', term: 'training set' },
  preset: { label: 'Size', help: 'How big the model is: bigger learns finer detail but trains much longer.', term: 'model preset' },
  init: { label: 'Start from', help: 'Learn from nothing, or continue from a model that already knows pictures (quicker, keeps its style).', term: 'initialisation / fine-tuning' },
  seed: { label: 'Seed (optional)', help: 'A number that fixes every random choice, so the same settings give the same model again.', term: 'random seed' },
  resetOptimizer: { label: 'Start the optimiser afresh', help: 'Forget the momentum the checkpoint carried; use it when the new pictures differ a lot.', term: 'reset Adam moments' },
  imageSize: { label: 'Image size', help: 'Width and height of the pictures in pixels, set when the dataset was imported.', term: 'resolution' },
  baseChannels: { label: 'Base channels', help: 'How wide the network is: more can hold more detail but each step is slower.', term: 'UNet base width' },
  channelMults: { label: 'Channel multipliers', help: 'How much wider each coarser level is, e.g. 1,2,2; the count sets how far the picture is shrunk.', term: 'per-level channel multipliers' },
  attentionResolutions: { label: 'Attention at resolutions', help: 'At which sizes the network may relate far-apart parts of the picture; costly, so few or none.', term: 'self-attention resolutions' },
  resBlocks: { label: 'Res blocks per level', help: 'How many processing blocks each level has: more is deeper and slower.', term: 'residual blocks per level' },
  groups: { label: 'GroupNorm groups', help: 'A detail of how activations are normalised; must divide the channel counts. Leave it be.', term: 'GroupNorm groups' },
  dropout: { label: 'Dropout', help: 'Share of signals switched off at random while learning, against copying a small set; 0 is usual.', term: 'dropout rate' },
  batchSize: { label: 'Batch size', help: 'How many pictures the model looks at in one step: more is steadier but slower.', term: 'batch size' },
  gradAccum: { label: 'Gradient accumulation', help: 'Add up this many batches before each update: a bigger batch without more memory.', term: 'gradient accumulation' },
  optimizer: { label: 'Optimiser', help: 'The rule that turns mistakes into weight changes; Adam suits almost everything.', term: 'Adam / AdamW' },
  lr: { label: 'Learning rate', help: 'How big each correction is: too high and training blows up, too low and it crawls.', term: 'learning rate (lr)' },
  weightDecay: { label: 'Weight decay', help: 'Gently pulls weights toward zero each step, which can curb copying; AdamW only.', term: 'decoupled weight decay' },
  warmupSteps: { label: 'Warm-up steps', help: 'Start with small corrections and grow to the full learning rate over this many steps.', term: 'linear LR warm-up' },
  lrSchedule: { label: 'LR schedule', help: 'Keep the learning rate the same, or lower it smoothly toward the end for a calmer finish.', term: 'learning-rate schedule' },
  minLr: { label: 'Final learning rate', help: 'Where the smooth decrease ends (cosine schedule only).', term: 'minimum LR of cosine decay' },
  gradClip: { label: 'Gradient clip', help: 'Caps how large one correction may be, so a bad batch cannot wreck the model; 0 = off.', term: 'global gradient-norm clipping' },
  ema: { label: 'EMA decay', help: 'Previews and samples use a slow running average of the model; closer to 1 is smoother but lags more.', term: 'exponential moving average decay' },
  emaWarmup: { label: 'EMA warm-up', help: 'Let the running average follow quickly at first so early previews are not blank.', term: 'EMA decay warm-up' },
  schedule: { label: 'Noise schedule', help: 'How fast pictures drown in noise during training; the sampler later walks back along it.', term: 'noise schedule (β / log-SNR)' },
  objective: { label: 'Objective', help: 'What the network is asked to guess: the added noise, the clean picture, or a mix of both.', term: 'prediction target (ε, x₀, v, score)' },
  weighting: { label: 'Loss weighting', help: 'How much each noise level counts while learning; re-weighting can speed learning up.', term: 'loss weighting (min-SNR-γ, P2)' },
  minSnrGamma: { label: 'Min-SNR γ', help: 'Caps how much the nearly clean noise levels count (min-SNR weighting only); 5 is usual.', term: 'min-SNR-γ' },
  p2K: { label: 'P2 k', help: 'Smoothing constant of the P2 weighting; 1 is usual.', term: 'P2 k' },
  p2Gamma: { label: 'P2 γ', help: 'How strongly P2 weighting favours the noisier levels, where shapes form; 1 is usual.', term: 'P2 γ' },
  hflip: { label: 'Random flips', help: 'Mirror pictures left-right at random: twice the variety, but text and logos come out mirrored.', term: 'horizontal-flip augmentation' },
  augment: { label: 'Augmentation', help: 'For small sets: also learn from shifted, turned and recoloured copies that never show up in results; 0 = off, 0.15 is usual.', term: 'non-leaking augmentation probability p (EDM)' },
  steps: { label: 'Steps', help: 'How many updates to make; the run length, and the main lever of quality.', term: 'training steps' },
  checkpointEvery: { label: 'Checkpoint every (steps)', help: 'Save the model this often, so a stopped run can continue and you can sample from it.', term: 'checkpoint interval' },
  keepCheckpoints: { label: 'Keep checkpoints', help: 'How many recent saves to keep (0 = all); saves with pictures in the gallery are always kept.', term: 'checkpoint retention' },
  previewEvery: { label: 'Preview every (steps)', help: 'Draw a grid of example pictures this often so you can watch learning; 0 = off.', term: 'preview interval' },
  backend: { label: 'Backend', help: 'Which maths engine runs the training; auto picks the fastest one that works here.', term: 'compute backend' },
  provider: { label: 'Device', help: 'Where ONNX Runtime trains: auto tries the GPU (WebGPU, CUDA, ...) and keeps the CPU if it is faster.', term: 'execution provider' },
  classConditional: { label: 'Learn the classes', help: 'Teach the model the folders (classes) of a labelled dataset, so you can ask for one class when sampling.', term: 'class-conditional training' },
  condDropout: { label: 'Label dropout', help: 'Share of pictures shown without their class, so the model also learns without one; guidance needs both. 0.1 is usual.', term: 'conditioning dropout (classifier-free guidance)' },
  classes: { label: 'Classes', help: 'The classes the model learns, taken from the dataset when training starts.', term: 'class labels' },
  lora: { label: 'Light fine-tune (LoRA)', help: 'Train small add-on weights instead of the whole model: faster steps, a tiny file to share, and the base model stays as it was.', term: 'LoRA / LoCon low-rank adapters (rank, alpha, targets)' },
  workers: { label: 'Workers / threads', help: 'How many processor cores to use (0 = one per core).', term: 'data-parallel workers / intra-op threads' },
};

/** The help line as shown: the plain text, then the technical name. */
export function helpLine(key: TrainHelpKey): string {
  const h = TRAIN_HELP[key];
  return `${h.help} (${h.term})`;
}

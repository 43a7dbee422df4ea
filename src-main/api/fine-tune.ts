/**
 * Fine-tune defaults: plain data shared by the service (training/config.ts re-exports them and
 * services/sfumato.ts applies them to what a request leaves out) and the renderer's Train form.
 * No Node imports: the renderer imports this file.
 */
import type { TrainConfig } from './types';

/** Default learning rate when fine-tuning from a checkpoint or base model (lower than from scratch). */
export const FINE_TUNE_LR = 5e-5;

/**
 * Settings a fine-tune (from a checkpoint or base model) gets unless the request sets them: a low
 * learning rate (1e-3 took the bundled emoji model from loss 0.010 to 0.244 in two steps), a short
 * warm-up (a base model brings no Adam moments, so the first steps are unnormalised), and the slow
 * EMA the bundled model was trained with. The Train form uses the same values (pure data, no Node).
 */
export const FINE_TUNE_DEFAULTS: Readonly<Pick<TrainConfig, 'lr' | 'warmupSteps' | 'ema'>> = { lr: FINE_TUNE_LR, warmupSteps: 50, ema: 0.999 };

/** Above this learning rate a fine-tune usually forgets what the model knew (the Train form warns). */
export const FINE_TUNE_MAX_SAFE_LR = 1e-4;

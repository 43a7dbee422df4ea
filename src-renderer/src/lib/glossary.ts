/**
 * The few technical words the Schedules page and the sampler lab cannot avoid, each explained in
 * one sentence. `<Term k="…">` shows one where it appears (ⓘ toggle, hover title); `<Glossary>`
 * lists the ones a page uses.
 */
export interface GlossaryEntry {
  /** the word or symbol as written on the page */
  term: string;
  /** how it reads in words */
  words: string;
  /** one sentence */
  explain: string;
}

export const GLOSSARY = {
  t: { term: 't', words: 'time', explain: 'How far along the noising a picture is: 0 is the clean picture, 1 is pure noise.' },
  logSnr: {
    term: 'log-SNR',
    words: 'signal-to-noise (log)',
    explain: 'How much picture there is compared with noise, on a log scale: high means nearly clean, 0 means equal parts, very negative means almost all noise.',
  },
  alphaBar: { term: 'ᾱ (alpha-bar)', words: 'signal kept', explain: 'The share of the original picture still left at a noise level (as a share of power): 1 is untouched, 0 is gone.' },
  beta: { term: 'β (beta)', words: 'noise added per step', explain: 'How much fresh noise each training timestep adds; the schedule is the list of these.' },
  sigma: { term: 'σ (sigma)', words: 'noise strength', explain: 'How loud the noise is next to the picture (its standard deviation); samplers step from a large σ down to 0.' },
  lossWeight: { term: 'loss weight', words: 'how much a noise level counts', explain: 'How strongly mistakes at each noise level count while the model learns.' },
  nats: {
    term: 'nats',
    words: 'units of surprise',
    explain: 'A unit of information (like bits, but with natural logs: 1 nat ≈ 1.44 bits); here, how much worse a sampler’s pictures fit the true distribution — 0 is perfect.',
  },
  bitsPerDim: { term: 'bits per dim', words: 'bits per pixel value', explain: 'How many bits the model needs per pixel channel to describe a picture; lower means the model knows the pictures better.' },
  nfe: { term: 'NFE', words: 'model calls', explain: 'Number of function evaluations: how many times a sampler asks the model to denoise, which is what sampling costs.' },
  swd: { term: 'SWD', words: 'distribution distance', explain: 'Sliced Wasserstein distance: how far apart two clouds of points are, averaged over random directions; 0 means they match.' },
} satisfies Record<string, GlossaryEntry>;

export type GlossaryKey = keyof typeof GLOSSARY;

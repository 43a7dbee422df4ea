/**
 * sub-VP SDE (Song et al. 2021 eq. 17): dx = -1/2 beta(t) x dt + sqrt(beta(t) (1 - e^{-2 B(t)})) dw.
 * Same mean as VP, s = e^{-B/2}; std = 1 - e^{-B} (eq. 34), so sigma = (1 - s^2) / s.
 * sigma -> s: s^2 + sigma s - 1 = 0 => s = (sqrt(sigma^2 + 4) - sigma) / 2.
 * alphaBar (VP-equivalent, same sigma) = 1 / (1 + sigma^2).
 */
import type { ContinuousProcess } from './process';
import { checkBetaRange, integratedBeta, integratedBetaInverse } from './vp';

export function subVpProcess(betaMin = 0.1, betaMax = 20, tMin = 1e-5): ContinuousProcess {
  checkBetaRange(betaMin, betaMax);
  const B = (t: number) => integratedBeta(t, betaMin, betaMax);
  const sOfSigma = (sigma: number) => 2 / (Math.sqrt(sigma * sigma + 4) + sigma);
  const sigma = (t: number) => -Math.expm1(-B(t)) / Math.exp(-0.5 * B(t));
  return {
    kind: 'subvp',
    tMin,
    tMax: 1,
    vpType: true,
    mean: (t) => Math.exp(-0.5 * B(t)),
    std: (t) => -Math.expm1(-B(t)),
    sigma,
    sigmaToT: (sg) => integratedBetaInverse(-2 * Math.log(sOfSigma(sg)), betaMin, betaMax),
    inputScale: (sg) => sOfSigma(sg),
    drift: (t) => -0.5 * (betaMin + t * (betaMax - betaMin)),
    diffusion: (t) => Math.sqrt((betaMin + t * (betaMax - betaMin)) * -Math.expm1(-2 * B(t))),
    priorStd: 1,
    alphaBar: (t) => 1 / (1 + sigma(t) ** 2),
    config: { kind: 'subvp', betaMin, betaMax },
  };
}

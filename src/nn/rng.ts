import { RandomState } from '../core/random';

/*
 * The generator that `nn.Dropout` and `nn.StochasticDepth` draw from when not given their own:
 * one module-level RandomState seeded with 0, so a fresh process gives the same masks every
 * run. `manualSeed` restarts it (as `torch.manual_seed`); pass `{ rng }` to a module for a
 * stream of its own.
 */
let shared = new RandomState(0);

/** The shared generator of the `nn` modules. */
export function nnRandomState(): RandomState {
  return shared;
}

/** Restarts the shared generator from `seed`. */
export function manualSeed(seed: number): void {
  shared = new RandomState(seed);
}

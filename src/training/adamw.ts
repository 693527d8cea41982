import { Adam, type AdamOptions } from './adam';
import type { ParamsArg } from './optimizer';

/**
 * AdamW as `torch.optim.AdamW` (torch 1.13): Adam with the weight decay taken out of the
 * gradient and applied to the parameter first, `p ← p·(1 − lr·wd)`; default wd 1e-2.
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsArg<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...opts });
  }
}

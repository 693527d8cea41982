/*
 * The efficient families' name for the zoo's quick run (test/zooQuick.ts): 10 classes unless
 * the options say otherwise.
 */
import type { ModelOptions } from '../src/models';
import { quickRun } from './zooQuick';

/** One forward + backward of model `name` per dtype on a `[N, 3, H, W]` input (see {@link quickRun}). */
export function checkForwardBackward(name: string, opts: ModelOptions, inputShape: number[]): void {
  quickRun(name, { numClasses: 10, ...opts }, inputShape);
}

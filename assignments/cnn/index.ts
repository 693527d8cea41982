import type { AssignmentScript } from '../common';
import { script as optimizerCompareNaive } from './optimizerCompareNaive';
import { script as optimizerCompareMnist } from './optimizerCompareMnist';
import { script as weightInitActivationHistogram } from './weightInitActivationHistogram';
import { script as weightInitCompare } from './weightInitCompare';
import { script as batchNormTest } from './batchNormTest';
import { script as batchNormGradientCheck } from './batchNormGradientCheck';
import { script as overfitWeightDecay } from './overfitWeightDecay';
import { script as overfitDropout } from './overfitDropout';
import { script as hyperparameterOptimization } from './hyperparameterOptimization';
import { script as trainConvnet } from './trainConvnet';
import { script as deepConvnet } from './deepConvnet';
import { script as halfFloatNetwork } from './halfFloatNetwork';

/*
 * The Deep Learning from Scratch ch. 6–8 scripts in the book's order (SPEC §12). Scripts that
 * reuse trained weights (half_float_network) read what train_convnet / deep_convnet saved
 * under --out, or train a shorter run themselves. Each takes `--dataset mnist|fashion-mnist`
 * (CnnScriptOptions.dataset, or $CS231N_DATASET when run through another front end).
 */

/** Every DLFS script, book order. */
export const CNN_SCRIPTS: readonly AssignmentScript[] = [
  optimizerCompareNaive,
  optimizerCompareMnist,
  weightInitActivationHistogram,
  weightInitCompare,
  batchNormTest,
  batchNormGradientCheck,
  overfitWeightDecay,
  overfitDropout,
  hyperparameterOptimization,
  trainConvnet,
  deepConvnet,
  halfFloatNetwork,
];

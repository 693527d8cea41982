import type { AssignmentScript, ScriptFamily } from '../../src/cli/script';
import { script as optimizerCompareNaive } from './optimizerCompareNaive';
import { script as optimizerCompareMnist } from './optimizerCompareMnist';
import { script as weightInitActivationHistogram } from './weightInitActivationHistogram';
import { script as weightInitCompare } from './weightInitCompare';
import { script as batchNormTest } from './batchNormTest';
import { script as batchNormGradientCheck } from './batchNormGradientCheck';
import { script as overfitWeightDecay } from './overfitWeightDecay';
import { script as overfitDropout } from './overfitDropout';
import { script as hyperparameterOptimization } from './hyperparameterOptimization';
import { script as gradientCheck } from './gradientCheck';
import { script as trainConvnet } from './trainConvnet';
import { script as visualizeFilter } from './visualizeFilter';
import { script as applyFilter } from './applyFilter';
import { script as deepConvnet } from './deepConvnet';
import { script as misclassifiedMnist } from './misclassifiedMnist';
import { script as augmentation } from './augmentation';
import { script as halfFloatNetwork } from './halfFloatNetwork';
import { script as architectures } from './architectures';

/*
 * The Deep Learning from Scratch ch. 6–8 scripts in the book's order (SPEC §12). Scripts that
 * reuse trained weights (visualize_filter, apply_filter, misclassified_mnist, half_float_network) read what train_convnet / deep_convnet saved
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
  gradientCheck,
  trainConvnet,
  visualizeFilter,
  applyFilter,
  deepConvnet,
  misclassifiedMnist,
  augmentation,
  halfFloatNetwork,
  // Not a DLFS script: the CIFAR architecture comparison of issue 12 (--budget, --dataset, --models).
  architectures,
];

/** The Deep Learning from Scratch scripts as registered with the CLI. */
export const CNN: ScriptFamily = { name: 'cnn', title: 'Deep Learning from Scratch ch. 6–8', folder: 'assignments/cnn', scripts: CNN_SCRIPTS };

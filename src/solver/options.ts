import { showValue } from '../core/check';
import { RandomState } from '../core/random';
import { getUpdateRule, updateRules, type OptimConfig, type UpdateRule } from '../optim';

/**
 * Options of the {@link Solver}: cs231n's `Solver(model, data, **kwargs)` keyword arguments,
 * camelCased and with the same defaults, plus where randomness and printing go.
 */
export interface SolverOptions {
  /** Update rule: a name known to `getUpdateRule` ('sgd', 'sgdMomentum', 'rmsprop', 'adam', …) or a function. Default 'sgd'. */
  updateRule?: string | UpdateRule;
  /** Hyperparameters handed to the update rule; each parameter gets its own copy. Default {}. */
  optimConfig?: OptimConfig;
  /** Multiplies every parameter's learningRate at the end of each epoch. Default 1 (no decay). */
  lrDecay?: number;
  /** Minibatch size (examples drawn with replacement, as cs231n's `np.random.choice`). Default 100. */
  batchSize?: number;
  /** Epochs to train. Default 10. */
  numEpochs?: number;
  /** Training examples subsampled (with replacement) to estimate training accuracy; null = all. Default 1000. */
  numTrainSamples?: number | null;
  /** Validation examples subsampled to estimate validation accuracy; null = all. Default null. */
  numValSamples?: number | null;
  /** When set, a checkpoint `<checkpointName>_epoch_<e>.ckpt` is written at every accuracy check. Default null. */
  checkpointName?: string | null;
  /** Print the loss every this many iterations (when verbose). Default 10. */
  printEvery?: number;
  /** Print progress lines. Default true. */
  verbose?: boolean;
  /**
   * Generator for minibatches and accuracy subsamples. Default: the process-wide
   * `defaultRandomState()`, which is what cs231n's `np.random.choice` draws from.
   */
  rng?: RandomState;
  /** Shorthand for `rng: new RandomState(seed)`; not allowed together with `rng`. */
  seed?: number;
  /** Where progress lines go. Default console.log. */
  print?: (line: string) => void;
  /** Show a progress bar on stderr (loss and accuracies in its status). Default: the value of `verbose`. */
  progress?: boolean;
  /** Label of the progress bar. Default 'train'. */
  label?: string;
}

/** The option names a Solver accepts (anything else is an error listing these). */
export const SOLVER_OPTION_NAMES: readonly (keyof SolverOptions)[] = Object.freeze([
  'updateRule', 'optimConfig', 'lrDecay', 'batchSize', 'numEpochs', 'numTrainSamples', 'numValSamples',
  'checkpointName', 'printEvery', 'verbose', 'rng', 'seed', 'print', 'progress', 'label',
]);

/** Options after defaults and checks. */
export interface ResolvedSolverOptions {
  updateRule: UpdateRule;
  /** Name recorded in checkpoints: the rule's name, or the function's name. */
  updateRuleName: string;
  optimConfig: OptimConfig;
  lrDecay: number;
  batchSize: number;
  numEpochs: number;
  numTrainSamples: number | null;
  numValSamples: number | null;
  checkpointName: string | null;
  printEvery: number;
  verbose: boolean;
  rng: RandomState;
  print: (line: string) => void;
  progress: boolean;
  label: string;
}

/** cs231n's snake_case spellings, so a Python habit gets a pointed hint rather than only the list. */
const SNAKE: Readonly<Record<string, string>> = {
  update_rule: 'updateRule', optim_config: 'optimConfig', lr_decay: 'lrDecay', batch_size: 'batchSize',
  num_epochs: 'numEpochs', num_train_samples: 'numTrainSamples', num_val_samples: 'numValSamples',
  checkpoint_name: 'checkpointName', print_every: 'printEvery',
};

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${name}: expected a positive integer, got ${showValue(v)}`);
  return v;
}

function countOrNull(name: string, v: unknown): number | null {
  if (v === null) return null;
  return positiveInt(name, v);
}

/** Applies the defaults and validates every option; unknown names throw, listing the known ones. */
export function resolveSolverOptions(options: SolverOptions, defaultRng: () => RandomState): ResolvedSolverOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`options: expected an object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((k) => !(SOLVER_OPTION_NAMES as readonly string[]).includes(k));
  if (unknown.length) {
    const hints = unknown.filter((k) => SNAKE[k]).map((k) => ` (${k} is spelled ${SNAKE[k]} here)`).join('');
    throw new RangeError(`Solver: unrecognized option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}${hints}; known options: ${SOLVER_OPTION_NAMES.join(', ')}`);
  }
  const o = options;
  const ruleOpt = o.updateRule ?? 'sgd';
  let updateRule: UpdateRule;
  let updateRuleName: string;
  if (typeof ruleOpt === 'function') {
    updateRule = ruleOpt;
    updateRuleName = ruleOpt.name || 'custom';
  } else if (typeof ruleOpt === 'string') {
    updateRule = getUpdateRule(ruleOpt);
    updateRuleName = Object.keys(updateRules).find((k) => updateRules[k] === updateRule) ?? ruleOpt;
  } else {
    throw new TypeError(`updateRule: expected a rule name (${Object.keys(updateRules).join(', ')}) or a function, got ${showValue(ruleOpt)}`);
  }
  const optimConfig = o.optimConfig ?? {};
  if (optimConfig === null || typeof optimConfig !== 'object' || Array.isArray(optimConfig)) {
    throw new TypeError(`optimConfig: expected an object such as { learningRate: 1e-3 }, got ${showValue(optimConfig)}`);
  }
  const lr = (optimConfig as { learningRate?: unknown }).learningRate;
  if (lr !== undefined && lr !== null && (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)) {
    throw new RangeError(`optimConfig.learningRate: expected a finite number >= 0, got ${showValue(lr)}`);
  }
  const lrDecay = o.lrDecay ?? 1;
  if (typeof lrDecay !== 'number' || !Number.isFinite(lrDecay) || lrDecay <= 0) {
    throw new RangeError(`lrDecay: expected a positive finite number, got ${showValue(lrDecay)}`);
  }
  const numEpochs = o.numEpochs ?? 10;
  if (typeof numEpochs !== 'number' || !Number.isInteger(numEpochs) || numEpochs < 0) {
    throw new RangeError(`numEpochs: expected a non-negative integer, got ${showValue(numEpochs)}`);
  }
  const checkpointName = o.checkpointName ?? null;
  if (checkpointName !== null && (typeof checkpointName !== 'string' || checkpointName === '')) {
    throw new TypeError(`checkpointName: expected a non-empty path prefix or null, got ${showValue(checkpointName)}`);
  }
  if (o.rng !== undefined && o.seed !== undefined) throw new RangeError('rng, seed: pass one of them, not both');
  if (o.rng !== undefined && !(o.rng instanceof RandomState)) throw new TypeError('rng: expected a RandomState');
  const rng = o.rng ?? (o.seed !== undefined ? new RandomState(o.seed) : defaultRng());
  const print = o.print ?? ((line: string) => console.log(line));
  if (typeof print !== 'function') throw new TypeError('print: expected a function (line: string) => void');
  const verbose = o.verbose ?? true;
  return {
    updateRule,
    updateRuleName,
    optimConfig,
    lrDecay,
    batchSize: positiveInt('batchSize', o.batchSize ?? 100),
    numEpochs,
    numTrainSamples: countOrNull('numTrainSamples', o.numTrainSamples === undefined ? 1000 : o.numTrainSamples),
    numValSamples: countOrNull('numValSamples', o.numValSamples === undefined ? null : o.numValSamples),
    checkpointName,
    printEvery: positiveInt('printEvery', o.printEvery ?? 10),
    verbose: Boolean(verbose),
    rng,
    print,
    progress: Boolean(o.progress ?? verbose),
    label: o.label ?? 'train',
  };
}

import path from 'node:path';
import { TwoLayerNet, TWO_LAYER_NET_PARAM_NAMES } from '../../src/classifiers/twoLayerNet';
import { RandomState } from '../../src/core/random';
import { intArray, type IntTensor, type Tensor } from '../../src/core/tensor';
import { evalNumericalGradient, relError } from '../../src/gradientCheck';
import { lineSpec, writeSvg } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';

/*
 * two_layer_net.ipynb's toy model (2019/20, reference §4.1): a 4-10-3 net drawn after
 * np.random.seed(0) with std 1e-1 and five points X = 10·randn(5, 4) drawn after
 * np.random.seed(1). Those seeds fix every number, so these checks hold whatever data the
 * rest of the script uses.
 */

/** The scores the notebook prints for the toy net on the toy data. */
export const TOY_SCORES = [
  [-0.81233741, -1.27654624, -0.70335995],
  [-0.17129677, -1.18803311, -0.47310444],
  [-0.51590475, -1.01354314, -0.8504215],
  [-0.15419291, -0.48629638, -0.52901952],
  [-0.00618733, -0.12435261, -0.15226949],
];

/** The notebook's `correct_loss` at reg 0.05. */
export const TOY_LOSS = 1.30378789133;

/**
 * Final loss of the toy training (lr 1e-1, reg 5e-6, 100 iterations) in an independent numpy
 * run with the same seeds (test/fixtures/gen_two_layer_toy.py); the notebook prints 0.0171496….
 */
export const TOY_FINAL_LOSS_NUMPY = 0.017149607938732093;

/**
 * The notebook's `init_toy_model()`: `np.random.seed(0)` then the net. The generator is
 * returned too: the notebook's `train` keeps drawing minibatches from the same global state.
 */
export function toyModel(): { net: TwoLayerNet; rng: RandomState } {
  const rng = new RandomState(0);
  return { net: new TwoLayerNet(4, 10, 3, { std: 1e-1, rng }), rng };
}

/** The notebook's `init_toy_data()`: `np.random.seed(1)`, X = 10·randn(5, 4), y = [0, 1, 2, 2, 1]. */
export function toyData(): { X: Tensor; y: IntTensor } {
  const rng = new RandomState(1);
  const X = rng.randn(5, 4);
  for (let i = 0; i < X.data.length; i++) X.data[i] *= 10;
  return { X, y: intArray([0, 1, 2, 2, 1]) };
}

/** Runs the toy cells (scores, loss, gradient check, training) into `report`; writes toy_loss_history.svg. */
export async function runToyChecks(report: Report, outDir: string): Promise<void> {
  report.section('Toy model: forward pass, loss, gradients');
  report.text('net = TwoLayerNet(4, 10, 3, std=1e-1) after np.random.seed(0); X = 10·randn(5, 4) after np.random.seed(1); y = [0, 1, 2, 2, 1]');
  const { X, y } = toyData();
  {
    const { net } = toyModel();
    const scores = net.loss(X);
    report.text('Your scores:');
    for (let i = 0; i < scores.shape[0]; i++) {
      report.text(`  [${Array.from({ length: scores.shape[1] }, (_, j) => scores.get(i, j).toFixed(8)).join(', ')}]`);
    }
    let diff = 0;
    TOY_SCORES.forEach((row, i) => row.forEach((v, j) => (diff += Math.abs(scores.get(i, j) - v))));
    report.check('Difference between your scores and correct scores (sum |diff|)', diff, 0, { lessThan: 1e-7 });
  }
  {
    const { net } = toyModel();
    const { loss, grads } = net.loss(X, y, 0.05);
    report.check('Difference between your loss and correct loss', Math.abs(loss - TOY_LOSS), 0, { lessThan: 1e-12 });
    report.text(`loss ${loss.toPrecision(15)} (correct_loss ${TOY_LOSS})`);
    // The numerical gradient perturbs net.params[name] in place and re-evaluates the loss.
    for (const name of TWO_LAYER_NET_PARAM_NAMES) {
      const num = evalNumericalGradient(() => net.loss(X, y, 0.05).loss, net.params[name]);
      report.check(`${name} max relative error`, relError(num, grads[name]), 0, { lessThan: 1e-8 });
    }
  }

  report.section('Toy model: training');
  const { net, rng } = toyModel();
  const stats = net.train(X, y, X, y, { learningRate: 1e-1, reg: 5e-6, numIters: 100, rng });
  const last = stats.lossHistory[stats.lossHistory.length - 1];
  report.text('net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100); minibatches drawn from the seed-0 generator after the weights, as in the notebook');
  report.check('Final training loss', last, 0.02, { lessThan: 0.02 });
  report.check('Final training loss vs an independent numpy run with the same seeds', last, TOY_FINAL_LOSS_NUMPY, { relTol: 1e-9 });
  await writeSvg(
    path.join(outDir, 'toy_loss_history.svg'),
    lineSpec([{ name: 'loss', x: stats.lossHistory.map((_, i) => i), y: stats.lossHistory }], {
      title: 'Training Loss history (toy model)',
      xLabel: 'iteration',
      yLabel: 'training loss',
    }),
  );
  report.figure('toy_loss_history.svg', 'Training loss of the toy model, every iteration');
}

import type { RandomState } from '../core/random';
import type { Tensor } from '../core/tensor';
import { Conv2d } from '../nn/conv2d';
import { constant, normal } from '../nn/init';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { checkInput } from './inputCheck';
import { adaptiveAvgPool, dropout, localResponseNorm, maxPool, reluLayer } from './layers';
import { positiveInt, probability, registerModel, type ModelOptions } from './registry';

/*
 * AlexNet twice: torchvision's `alexnet` (the "one weird trick" variant: 64-192-384-256-256
 * filters, no LRN, no groups) and `alexnet_paper`, the network of Krizhevsky et al. 2012 —
 * 96-256-384-384-256 filters with conv2/4/5 split over the paper's two GPUs (groups = 2), LRN after
 * conv1 and conv2, on 227×227 input. Both use torchvision's module layout (`features`,
 * `avgpool`, `classifier`), so the paper model's state dict reads like torchvision's.
 */

/** One conv row of a features table: out channels, kernel, stride, padding, groups, then LRN and/or a 3×3/2 max pool. */
interface ConvRow {
  out: number;
  k: number;
  stride: number;
  pad: number;
  groups: number;
  lrn: boolean;
  pool: boolean;
}

const row = (out: number, k: number, stride: number, pad: number, groups = 1, lrn = false, pool = false): ConvRow => ({ out, k, stride, pad, groups, lrn, pool });
const TORCHVISION: ConvRow[] = [
  row(64, 11, 4, 2, 1, false, true), row(192, 5, 1, 2, 1, false, true),
  row(384, 3, 1, 1), row(256, 3, 1, 1), row(256, 3, 1, 1, 1, false, true),
];
const PAPER: ConvRow[] = [
  row(96, 11, 4, 0, 1, true, true), row(256, 5, 1, 2, 2, true, true),
  row(384, 3, 1, 1), row(384, 3, 1, 1, 2), row(256, 3, 1, 1, 2, false, true),
];
/**
 * The paper's LRN: b = a / (k + α Σ a²)^β over n = 5 neighbouring channels, k = 2, α = 1e-4,
 * β = 0.75. PyTorch's LocalResponseNorm divides its alpha by the size, hence alpha = 5·1e-4.
 */
const PAPER_LRN = { size: 5, alpha: 5e-4, beta: 0.75, k: 2 };

/** Options of {@link AlexNet} besides the common model options. */
export interface AlexNetConfig {
  name: 'alexnet' | 'alexnet_paper';
  /**
   * Width of the two hidden classifier layers (4096). Only a test changes it: the 9216×4096
   * layer is too big for a Float64 check, so logits are compared at a narrower head.
   */
  classifierWidth?: number;
}

/**
 * features (conv-ReLU[-LRN][-pool] rows) → AdaptiveAvgPool(6, 6) → classifier: Dropout,
 * fc 9216→4096, ReLU, Dropout, fc 4096→4096, ReLU, fc 4096→classes (option `dropout`, 0.5).
 */
export class AlexNet extends Block {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(private readonly cfg: AlexNetConfig, opts: ModelOptions) {
    super();
    const p = probability('dropout', opts.dropout ?? 0.5);
    const hidden = positiveInt('classifierWidth', cfg.classifierWidth ?? 4096);
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    const rows = cfg.name === 'alexnet' ? TORCHVISION : PAPER;
    const layers: Module[] = [];
    let c = 3;
    for (const r of rows) {
      layers.push(new Conv2d(c, r.out, r.k, { stride: r.stride, padding: r.pad, groups: r.groups, ...m }), reluLayer());
      if (r.lrn) layers.push(localResponseNorm(PAPER_LRN.size, PAPER_LRN.alpha, PAPER_LRN.beta, PAPER_LRN.k));
      if (r.pool) layers.push(maxPool(3, 2));
      c = r.out;
    }
    this.features = this.addModule('features', new Sequential(...layers));
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(6));
    this.classifier = this.addModule('classifier', new Sequential(
      dropout(p, opts.rng), new Linear(c * 6 * 6, hidden, m), reluLayer(),
      dropout(p, opts.rng), new Linear(hidden, hidden, m), reluLayer(),
      new Linear(hidden, opts.numClasses ?? 1000, m),
    ));
    if (opts.init !== false) {
      if (cfg.name === 'alexnet') initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
      else paperInit(this, opts.rng);
    }
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Smallest input whose third max pool still has a 3×3 window: 63 (torchvision's min_size), 67 without conv1's padding.
    checkInput(this.cfg.name, x, 3, { min: this.cfg.name === 'alexnet' ? 63 : 67 });
    const h = t.seq(x, this.features, this.avgpool);
    return t.call(this.classifier, t.flatten(h));
  }
}

/**
 * The paper's initialisation (§5): every weight N(0, 0.01²); biases 1 in conv2, conv4, conv5 and
 * the hidden fully connected layers (so the ReLUs start with positive inputs), 0 elsewhere.
 */
function paperInit(model: AlexNet, rng?: RandomState): void {
  const convs = model.features.children().filter((l): l is Conv2d => l instanceof Conv2d);
  const fcs = model.classifier.children().filter((l): l is Linear => l instanceof Linear);
  const oneBias = new Set<Conv2d | Linear>([convs[1], convs[3], convs[4], fcs[0], fcs[1]]);
  for (const l of [...convs, ...fcs]) {
    normal(l.weight.data, 0, 0.01, rng);
    if (l.bias) constant(l.bias.data, oneBias.has(l) ? 1 : 0);
  }
}

registerModel({
  name: 'alexnet', description: 'AlexNet, torchvision ("one weird trick" variant: no LRN, no groups)', options: ['dropout'],
  numClasses: 1000, input: [3, 224, 224], build: (o) => new AlexNet({ name: 'alexnet' }, o),
});
registerModel({
  name: 'alexnet_paper', description: 'AlexNet as in Krizhevsky et al. 2012 (LRN, two groups, 227×227)', options: ['dropout'],
  numClasses: 1000, input: [3, 227, 227], build: (o) => new AlexNet({ name: 'alexnet_paper' }, o),
});

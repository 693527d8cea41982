import { defaultRandomState, type RandomState } from '../core/random';
import type { Tensor } from '../core/tensor';

/*
 * Weight initialisation as `torch.nn.init`, every draw through a RandomState (the global one,
 * seeded with `random.seed`, unless one is given), so a seeded model is reproducible. The
 * functions fill the tensor in place (PyTorch's trailing-underscore functions) and return it.
 */

/** fan_in and fan_out of a weight: (in, out) for 2-D, (C/g·kh·kw, F·kh·kw) for a conv kernel. */
export function fanInOut(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new RangeError(`tensor: fan in and fan out need at least 2 dimensions, got shape (${s.join(', ')})`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

/** Recommended gain for a nonlinearity (`torch.nn.init.calculate_gain`). */
export function calculateGain(nonlinearity: 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu', param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case 'selu': return 3 / 4;
    default: throw new RangeError(`nonlinearity: expected one of linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu, got ${JSON.stringify(nonlinearity)}`);
  }
}

function fill(t: Tensor, values: ArrayLike<number>): Tensor {
  const d = t.data;
  if (d.length !== t.size || t.offset !== 0) throw new RangeError('tensor: expected a dense tensor to initialise');
  for (let i = 0; i < d.length; i++) d[i] = values[i];
  return t;
}

/** U(a, b) in place. */
export function uniform(t: Tensor, a = 0, b = 1, rng: RandomState = defaultRandomState()): Tensor {
  return fill(t, rng.uniform(a, b, t.size).data);
}

/** N(mean, std²) in place. */
export function normal(t: Tensor, mean = 0, std = 1, rng: RandomState = defaultRandomState()): Tensor {
  return fill(t, rng.normal(mean, std, t.size).data);
}

/** N(mean, std²) truncated to [a, b] by redrawing outside values, in place. */
export function truncNormal(t: Tensor, mean = 0, std = 1, a = -2, b = 2, rng: RandomState = defaultRandomState()): Tensor {
  const out = new Float64Array(t.size);
  for (let i = 0; i < out.length; i++) {
    let v: number;
    do v = mean + std * (rng.normal(0, 1) as number);
    while (v < a || v > b);
    out[i] = v;
  }
  return fill(t, out);
}

/** Constant value in place. */
export function constant(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/** Zeros in place. */
export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}

/** Ones in place. */
export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (default 0). */
  a?: number;
  /** Preserve the variance of the forward ('fan_in', default) or of the backward ('fan_out'). */
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: 'relu' | 'leaky_relu' | 'linear' | 'tanh' | 'sigmoid';
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const { fanIn, fanOut } = fanInOut(t);
  const mode = o.mode ?? 'fan_in';
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new RangeError(`mode: expected 'fan_in' or 'fan_out', got ${JSON.stringify(mode)}`);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

/** He normal: N(0, gain²/fan) in place (torchvision's convs: `{ mode: 'fan_out', nonlinearity: 'relu' }`). */
export function kaimingNormal(t: Tensor, o: KaimingOptions = {}, rng: RandomState = defaultRandomState()): Tensor {
  return normal(t, 0, kaimingStd(t, o), rng);
}

/** He uniform: U(±gain·√(3/fan)) in place. */
export function kaimingUniform(t: Tensor, o: KaimingOptions = {}, rng: RandomState = defaultRandomState()): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform(t, -bound, bound, rng);
}

/** Glorot uniform: U(±gain·√(6/(fan_in + fan_out))) in place. */
export function xavierUniform(t: Tensor, gain = 1, rng: RandomState = defaultRandomState()): Tensor {
  const { fanIn, fanOut } = fanInOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, rng);
}

/**
 * PyTorch's default Conv/Linear initialisation: weight kaiming-uniform with a = √5, which is
 * U(±1/√fan_in), and bias U(±1/√fan_in).
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, rng: RandomState = defaultRandomState()): void {
  kaimingUniform(weight, { a: Math.sqrt(5) }, rng);
  if (bias) {
    const { fanIn } = fanInOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -bound, bound, rng);
  }
}

import { defineUnaryOp } from './unary';

/*
 * Activation functions as ops. Forward values pass NaN through (a diverging net shows a NaN
 * loss instead of silently zeroed units). Gradients at the kinks are PyTorch's (torch 1.13,
 * checked in test/fixtures/ops): the boundary belongs to whichever piece PyTorch's backward
 * formula tests first, so ReLU and ReLU6 give 0 at 0 and 6, hardswish −0.5 at −3 and 1.5 at 3,
 * hardsigmoid 0 at ±3.
 */

/** max(0, x); gradient dout·[x > 0] (0 at the kink and at NaN, as cs231n's `relu_backward`). */
export const relu = defineUnaryOp({
  name: 'relu',
  f: (v) => (v <= 0 ? 0 : v),
  grad: (g, x) => (x > 0 ? g : 0),
  saves: 'x',
});

/** min(max(0, x), 6); gradient dout·[0 < x < 6]. */
export const relu6 = defineUnaryOp({
  name: 'relu6',
  f: (v) => (v <= 0 ? 0 : v >= 6 ? 6 : v),
  grad: (g, x) => (x > 0 && x < 6 ? g : 0),
  saves: 'x',
});

/** x·relu6(x + 3)/6; gradient 0 for x < −3, dout·(x/3 + 1/2) on [−3, 3], dout above. */
export const hardswish = defineUnaryOp({
  name: 'hardswish',
  f: (v) => (v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6),
  grad: (g, x) => (x < -3 ? 0 : x <= 3 ? g * (x / 3 + 0.5) : g),
  saves: 'x',
});

/** relu6(x + 3)/6; gradient dout/6 strictly inside (−3, 3), else 0. */
export const hardsigmoid = defineUnaryOp({
  name: 'hardsigmoid',
  f: (v) => (v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5),
  grad: (g, x) => (x > -3 && x < 3 ? g / 6 : 0),
  saves: 'x',
});

/** 1/(1 + e^−x), evaluated without overflow on either side. */
export function sigmoidValue(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** 1/(1 + e^−x); gradient dout·y·(1 − y), from the output. */
export const sigmoid = defineUnaryOp({
  name: 'sigmoid',
  f: sigmoidValue,
  grad: (g, y) => g * y * (1 - y),
  saves: 'y',
});

/** tanh x; gradient dout·(1 − y²), from the output. */
export const tanh = defineUnaryOp({
  name: 'tanh',
  f: Math.tanh,
  grad: (g, y) => g * (1 - y * y),
  saves: 'y',
});

/** x·σ(x) (swish); gradient dout·σ(x)·(1 + x·(1 − σ(x))). */
export const silu = defineUnaryOp({
  name: 'silu',
  f: (v) => v * sigmoidValue(v),
  grad: (g, x) => {
    const s = sigmoidValue(x);
    return g * s * (1 + x * (1 - s));
  },
  saves: 'x',
});

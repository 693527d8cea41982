import { reluGradRow, reluRow } from './reluMath';
import { defineUnaryOp } from './unary';

/*
 * Activation functions as ops. Forward values pass NaN through (a diverging net shows a NaN
 * loss instead of silently zeroed units). Gradients at the kinks are PyTorch's (torch 1.13,
 * checked in test/fixtures/ops): the boundary belongs to whichever piece PyTorch's backward
 * formula tests first, so ReLU and ReLU6 give 0 at 0 and 6, hardswish −0.5 at −3 and 1.5 at 3,
 * hardsigmoid 0 at ±3. (PyTorch's vectorised CPU path gives hardswish dout, not 1.5·dout, at
 * exactly 3; its scalar formula, the documented one, gives 1.5·dout — we follow the formula.)
 */

/** max(0, x); gradient dout·[x > 0] (0 at the kink and at NaN, as cs231n's `relu_backward`). */
export const relu = defineUnaryOp({
  name: 'relu',
  // reluMath's row functions are self-contained, as the threaded loops must be.
  forward: reluRow,
  backward: reluGradRow,
  saves: 'x',
  cost: 4,
  wasm: { forward: 'reluFwd32', backward: 'reluBwd32' },
});

/** min(max(0, x), 6); gradient dout·[0 < x < 6]. */
export const relu6 = defineUnaryOp({
  name: 'relu6',
  forward: function (x, o, i0, i1) {
    // reluMath's branch-free max(0, v) (the sign is a coin flip); values above 6 are rare.
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      const r = (v + Math.abs(v)) * 0.5;
      const a = r - r === 0 ? r : v <= 0 ? 0 : v;
      o[i] = a >= 6 ? 6 : a;
    }
  },
  backward: function (g, x, dx, i0, i1) {
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      const d = g[i] * (+(v > 0) & +(v < 6));
      dx[i] = d - d === 0 ? d + 0 : v > 0 && v < 6 ? g[i] : 0;
    }
  },
  saves: 'x',
  cost: 4,
});

/** x·relu6(x + 3)/6; gradient 0 for x < −3, dout·(x/3 + 1/2) on [−3, 3], dout above. */
export const hardswish = defineUnaryOp({
  name: 'hardswish',
  forward: function (x, o, i0, i1) {
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      o[i] = v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6;
    }
  },
  backward: function (g, x, dx, i0, i1) {
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      dx[i] = v < -3 ? 0 : v <= 3 ? g[i] * (v / 3 + 0.5) : g[i];
    }
  },
  saves: 'x',
  cost: 4,
});

/** relu6(x + 3)/6; gradient dout/6 strictly inside (−3, 3), else 0. */
export const hardsigmoid = defineUnaryOp({
  name: 'hardsigmoid',
  forward: function (x, o, i0, i1) {
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      o[i] = v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5;
    }
  },
  backward: function (g, x, dx, i0, i1) {
    for (let i = i0; i < i1; i++) {
      const v = x[i];
      dx[i] = v > -3 && v < 3 ? g[i] / 6 : 0;
    }
  },
  saves: 'x',
  cost: 4,
});

/*
 * 1/(1 + e^−x) is one formula on both sides, no branch on the sign (a mispredicted jump per
 * element on activations, see reluMath.ts): for x ≪ 0, e^−x overflows to +Inf and the result
 * is +0, within the smallest subnormal of the true value; NaN stays NaN.
 */

/*
 * The sigmoid family into float32 stores takes its e^x from math.expf (kernels/elementwise.ts:
 * 2.5× Math.exp's speed, within one float32 ulp of the correctly rounded result); float64 keeps
 * Math.exp, so its gradient checks see fdlibm's accuracy.
 */

/** 1/(1 + e^−x); gradient dout·y·(1 − y), from the output. */
export const sigmoid = defineUnaryOp({
  name: 'sigmoid',
  forward: function (x, o, i0, i1, math) {
    if (o instanceof Float32Array) for (let i = i0; i < i1; i++) o[i] = 1 / (1 + math.expf(-x[i]));
    else for (let i = i0; i < i1; i++) o[i] = 1 / (1 + Math.exp(-x[i]));
  },
  backward: function (g, y, dx, i0, i1) {
    for (let i = i0; i < i1; i++) dx[i] = g[i] * y[i] * (1 - y[i]);
  },
  saves: 'y',
  cost: 20,
  wasm: { forward: 'sigmoidFwd32' },
});

/** tanh x; gradient dout·(1 − y²), from the output. */
export const tanh = defineUnaryOp({
  name: 'tanh',
  forward: function (x, o, i0, i1) {
    for (let i = i0; i < i1; i++) o[i] = Math.tanh(x[i]);
  },
  backward: function (g, y, dx, i0, i1) {
    for (let i = i0; i < i1; i++) dx[i] = g[i] * (1 - y[i] * y[i]);
  },
  saves: 'y',
  cost: 20,
});

/** x·σ(x) (swish); gradient dout·σ(x)·(1 + x·(1 − σ(x))). */
export const silu = defineUnaryOp({
  name: 'silu',
  forward: function (x, o, i0, i1, math) {
    if (o instanceof Float32Array) {
      for (let i = i0; i < i1; i++) {
        const v = x[i];
        o[i] = v * (1 / (1 + math.expf(-v)));
      }
    } else {
      for (let i = i0; i < i1; i++) {
        const v = x[i];
        o[i] = v * (1 / (1 + Math.exp(-v)));
      }
    }
  },
  backward: function (g, x, dx, i0, i1, math) {
    if (dx instanceof Float32Array) {
      for (let i = i0; i < i1; i++) {
        const v = x[i];
        const s = 1 / (1 + math.expf(-v));
        dx[i] = g[i] * s * (1 + v * (1 - s));
      }
    } else {
      for (let i = i0; i < i1; i++) {
        const v = x[i];
        const s = 1 / (1 + Math.exp(-v));
        dx[i] = g[i] * s * (1 + v * (1 - s));
      }
    }
  },
  saves: 'x',
  cost: 20,
  wasm: { forward: 'siluFwd32', backward: 'siluBwd32' },
});

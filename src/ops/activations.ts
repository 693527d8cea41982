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
  wasm: { forward: 'relu6Fwd32', backward: 'relu6Bwd32' },
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
 * Float64: 1/(1 + e^−x) with Math.exp, one formula on both sides and no branch on the sign (for
 * x ≪ 0, e^−x overflows to +Inf and the result is +0); the gradient checks see fdlibm's accuracy.
 *
 * Float32: the steps of the wasm lanes (core/gemm/wasmActivations.ts), each rounded by
 * Math.fround: e = e^−|x| (math.expNegAbs32), d = 1/(1 + e), σ(x) = d for x ≥ 0 and e·d below,
 * 1 − σ(x) the other one. Nothing overflows and 1 − σ never cancels. The sign picks with a
 * conditional expression, which V8 compiles to a select here.
 */

/** 1/(1 + e^−x); gradient dout·y·(1 − y), from the output. */
export const sigmoid = defineUnaryOp({
  name: 'sigmoid',
  forward: function (x, o, i0, i1, math) {
    if (o instanceof Float32Array) {
      for (let i = i0; i < i1; i++) {
        const v = x[i];
        const e = math.expNegAbs32(v);
        const d = Math.fround(1 / Math.fround(1 + e));
        o[i] = v >= 0 ? d : e * d;
      }
    } else for (let i = i0; i < i1; i++) o[i] = 1 / (1 + Math.exp(-x[i]));
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
        const e = math.expNegAbs32(v);
        const d = Math.fround(1 / Math.fround(1 + e));
        o[i] = v * (v >= 0 ? d : Math.fround(e * d));
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
        const e = math.expNegAbs32(v);
        const d = Math.fround(1 / Math.fround(1 + e));
        const ed = Math.fround(e * d);
        const s = v >= 0 ? d : ed;
        const oms = v >= 0 ? ed : d;
        dx[i] = Math.fround(g[i] * s) * Math.fround(1 + Math.fround(v * oms));
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

/*
 * The float32 depthwise planes in WebAssembly (core/gemm/wasmDepthwise.ts, driven by
 * ops/kernels/depthwise.ts) against their scalar JS replicas — the same bits, forward, dW and
 * db, and dx at every stride but 2 (where the JS path scatters, the wasm one correlates a
 * spread dout) — and against the float64 direct reference within float32 accuracy.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { wasmAvailable } from '../src/core/gemm/arena';
import { conv2d } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';
import { withJsKernel, withThreads } from './threads';

type Arrays = Array<Float32Array | Float64Array>;

/** out, dx, dw (and db) of one forward + backward with `kernel`. */
function pass(kernel: string, inputs: Tensor[], dout: Tensor, attrs: object): Arrays {
  return withKernel('conv2d', kernel, () => {
    const r = conv2d.forward(inputs, attrs);
    const g = conv2d.backward(dout, r.cache);
    return [r.out, ...g].filter((t): t is Tensor => t !== null).map((t) => t.data.slice() as Float32Array | Float64Array);
  });
}

/** Largest |a − b| relative to the largest |b| of the array (1 when both are 0). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

describe('float32 depthwise planes in wasm', () => {
  it('this runtime has the wasm planes (else the test below compares JS with itself)', () => {
    expect(wasmAvailable()).toBe(true);
  });

  it('equal the JS replicas bit for bit and the float64 reference within float32 accuracy (random problems, 1 and 2 threads)', () => {
    let stride2 = 0;
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 20 }), H: fc.integer({ min: 1, max: 19 }), W: fc.integer({ min: 1, max: 19 }),
          k: fc.constantFrom(1, 3, 5), stride: fc.constantFrom(1, 2, 2, 3), pad: fc.integer({ min: 0, max: 3 }), dilation: fc.constantFrom(1, 1, 2),
          bias: fc.boolean(), threads: fc.constantFrom('1', '2'), seed: fc.nat(),
        }),
        (s) => {
          const span = s.dilation * (s.k - 1) + 1;
          fc.pre(s.H + 2 * s.pad >= span && s.W + 2 * s.pad >= span);
          const rng = new RandomState(s.seed);
          const x = rng.randn(s.N, s.C, s.H, s.W);
          const w = rng.randn(s.C, 1, s.k, s.k);
          const b = rng.randn(s.C);
          const outH = Math.floor((s.H + 2 * s.pad - span) / s.stride) + 1;
          const outW = Math.floor((s.W + 2 * s.pad - span) / s.stride) + 1;
          const dout = rng.randn(s.N, s.C, outH, outW);
          const attrs = { stride: s.stride, padding: s.pad, dilation: s.dilation, groups: s.C };
          const in32 = (s.bias ? [x, w, b] : [x, w]).map((t) => astype(t, 'float32'));
          const d32 = astype(dout, 'float32');
          const wasm = withThreads(s.threads, () => pass('depthwise-direct', in32, d32, attrs));
          const js = withJsKernel(() => withThreads(s.threads, () => pass('depthwise-direct', in32, d32, attrs)));
          // The float64 reference on the same (float32-rounded) values.
          const ref = pass('direct', in32.map((t) => astype(t, 'float64')), astype(d32, 'float64'), attrs);
          wasm.forEach((t, i) => {
            if (s.stride === 2 && i === 1) {
              stride2++;
              expect(relErr(t, js[i])).toBeLessThan(1e-5);
            } else {
              expect(Buffer.compare(Buffer.from(t.buffer), Buffer.from(js[i].buffer))).toBe(0);
            }
            expect(relErr(t, ref[i])).toBeLessThan(1e-5);
          });
        },
      ),
      { numRuns: 150 },
    );
    expect(stride2).toBeGreaterThan(0);
  }, 120_000);
});

// Local declarations for ndarray-ops. The published @types/ndarray-ops declare several
// operations with the wrong arity (e.g. the scalar `*s` forms take the scalar last and the
// `*eq` forms mutate their first argument) and miss the `argmin`/`argmax` return shape, so we
// declare only what this package uses, the way the library actually behaves.
declare module 'ndarray-ops' {
  import type { NdArray } from 'ndarray';
  type A = NdArray<any>;
  /** out = a + b (elementwise). */
  export function add(out: A, a: A, b: A): A;
  export function sub(out: A, a: A, b: A): A;
  export function mul(out: A, a: A, b: A): A;
  export function div(out: A, a: A, b: A): A;
  /** a += b */
  export function addeq(a: A, b: A): A;
  export function subeq(a: A, b: A): A;
  export function muleq(a: A, b: A): A;
  export function diveq(a: A, b: A): A;
  /** out = a + s (scalar last). */
  export function adds(out: A, a: A, s: number): A;
  export function subs(out: A, a: A, s: number): A;
  export function muls(out: A, a: A, s: number): A;
  export function divs(out: A, a: A, s: number): A;
  /** a += s */
  export function addseq(a: A, s: number): A;
  export function subseq(a: A, s: number): A;
  export function mulseq(a: A, s: number): A;
  export function divseq(a: A, s: number): A;
  /** out = a (copy between views of equal shape). */
  export function assign(out: A, a: A): A;
  /** out[...] = s */
  export function assigns(out: A, s: number): A;
  export function abs(out: A, a: A): A;
  export function abseq(a: A): A;
  export function sqrt(out: A, a: A): A;
  export function exp(out: A, a: A): A;
  export function log(out: A, a: A): A;
  export function max(out: A, a: A, b: A): A;
  export function maxs(out: A, a: A, s: number): A;
  export function maxseq(a: A, s: number): A;
  export function min(out: A, a: A, b: A): A;
  export function neg(out: A, a: A): A;
  export function negeq(a: A): A;
  export function sum(a: A): number;
  export function prod(a: A): number;
  export function sup(a: A): number;
  export function inf(a: A): number;
  /** Index (as an array of coordinates) of the largest element. */
  export function argmax(a: A): number[];
  export function argmin(a: A): number[];
  export function norm2squared(a: A): number;
  export function norm2(a: A): number;
  export function equals(a: A, b: A): boolean;
  export function random(a: A): A;
}

/*
 * Native float32 batch-norm rows for cs231n-ts (optional, part of the module native/build.js
 * builds). One call runs one pass of a task of ops/kernels/batchNormTasks.ts — channels
 * [c0, c0 + nc) of x (N, C, T), every sample — on the tensors themselves.
 *
 * WHY: the WebAssembly rows can only reach the wasm memory, so each task copies its block of
 * channels in and its results out, and those copies cost as much as the arithmetic (a 64×58×
 * 16×16 batch norm + ReLU backward: 1.1 ms warm on 2 threads, PyTorch 0.44). Native code reads
 * the JS tensors where they are (a typed array over a SharedArrayBuffer is one pointer), so the
 * copies go, and the float64 sums run four lanes a step.
 *
 * Bits: exactly the operations and order of the task runner's float32 JS span loops (and so of
 * the wasm rows): every elementwise step one float32 operation (no fused multiply-add: built
 * with -ffp-contract=off, and no FMA intrinsics here), every sum in float64 — a row's sum is
 * four partial sums over t ≡ 0…3 (mod 4) of its first 4⌊T/4⌋ values, ((s0 + s1) + (s2 + s3)),
 * then the rest one by one, added to its channel's total in sample order. Per-channel values
 * are float64 slots holding float32 values, pr[8j + k]: k = 0 μhi, 1 μlo, 2 inv, 3 s = γ·inv,
 * 4 β, 5 c2, 6 c3 (see batchNormTasks.ts).
 *
 * bnRows32(op, a, b, c, acc, pr, N, C, T, c0, nc, relu):
 *   op 0  acc[j] += Σ x                     a = x
 *   op 1  acc[j] += Σ (x − pr[j])²          a = x, pr[j] the channel's mean (float64)
 *   op 2  c = act(d·s + β)                  a = x, c = out; d = (x − μhi) − μlo
 *   op 3  acc[2j] += Σ m, acc[2j+1] += Σ m·h   a = g, b = x; h = d·inv, m = g gated by the act
 *   op 4  c = (s·m' − c2) − h·c3            a = g, b = x, c = dx; m' = m (+ 0 with an act)
 * relu: 0 none, 1 ReLU, 2 ReLU6 (the gate: o > 0, and o < 6 for ReLU6, o = d·s + β).
 * a, b, c are Float32Arrays of at least N·C·T values (unused ones may be any of them), acc and
 * pr Float64Arrays; everything is checked before anything is read.
 */
#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include "napi.h"

#define TGT __attribute__((target("avx2")))
#define INL __attribute__((always_inline)) static inline

typedef struct {
  int op, relu;
  const float *a, *b;
  float *c;
  double *acc;
  const double *pr;
  int64_t N, C, T, c0, nc;
} Rows;

/* ((l0 + l1) + (l2 + l3)) of the four partial sums. */
TGT static inline double fold4(__m256d s) {
  double l[4];
  _mm256_storeu_pd(l, s);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

/* The fused activation: (o < 0 ? 0 : o) + 0 (NaN kept, −0 → +0), then ReLU6's o ≥ 6 ? 6 : o. */
TGT static inline __m128 act4(__m128 o, int relu) {
  const __m128 z = _mm_setzero_ps();
  o = _mm_add_ps(_mm_blendv_ps(o, z, _mm_cmp_ps(o, z, _CMP_LT_OQ)), z);
  if (relu == 2) {
    const __m128 six = _mm_set1_ps(6.0f);
    o = _mm_blendv_ps(o, six, _mm_cmp_ps(o, six, _CMP_GE_OQ));
  }
  return o;
}
static inline float act1(float o, int relu) {
  o = (o < 0 ? 0.0f : o) + 0.0f;
  return relu == 2 && o >= 6.0f ? 6.0f : o;
}
/* All-ones lanes where the activation passes the gradient: o > 0 (and o < 6 for ReLU6). */
TGT static inline __m128 gate4(__m128 o, int relu) {
  __m128 m = _mm_cmp_ps(o, _mm_setzero_ps(), _CMP_GT_OQ);
  return relu == 2 ? _mm_and_ps(m, _mm_cmp_ps(o, _mm_set1_ps(6.0f), _CMP_LT_OQ)) : m;
}
static inline int gate1(float o, int relu) { return o > 0 && (relu == 1 || o < 6.0f); }

/* A channel's float32 values (see the file comment), as scalars for the tails and splatted. */
typedef struct {
  float mh, ml, iv, s, be, c2, c3;
  __m128 mhv, mlv, ivv, sv, bev, c2v, c3v;
} Chan;

/* One pass over every row (sample n, channel j) in sample order: row(r, ch, o, j) with the row at
   offset o and, for the ops that use them (2–4), the channel's values. */
typedef void (*RowFn)(const Rows *r, const Chan *ch, int64_t o, int64_t j);
TGT INL void eachRow(const Rows *r, RowFn row) {
  for (int64_t n = 0; n < r->N; n++) {
    for (int64_t j = 0; j < r->nc; j++) {
      Chan ch;
      if (r->op >= 2) {
        const double *p = r->pr + 8 * j;
        ch.mh = (float)p[0]; ch.ml = (float)p[1]; ch.iv = (float)p[2]; ch.s = (float)p[3]; ch.be = (float)p[4];
        ch.c2 = r->op == 4 ? (float)p[5] : 0; ch.c3 = r->op == 4 ? (float)p[6] : 0;
        ch.mhv = _mm_set1_ps(ch.mh); ch.mlv = _mm_set1_ps(ch.ml); ch.ivv = _mm_set1_ps(ch.iv); ch.sv = _mm_set1_ps(ch.s);
        ch.bev = _mm_set1_ps(ch.be); ch.c2v = _mm_set1_ps(ch.c2); ch.c3v = _mm_set1_ps(ch.c3);
      }
      row(r, &ch, (n * r->C + r->c0 + j) * r->T, j);
    }
  }
}

/* d = (x − μhi) − μlo, four lanes or one. */
TGT INL __m128 d4(__m128 x, const Chan *ch) { return _mm_sub_ps(_mm_sub_ps(x, ch->mhv), ch->mlv); }
static inline float d1(float x, const Chan *ch) { return (x - ch->mh) - ch->ml; }
/* The forward's output o = d·s + β, four lanes or one. */
TGT INL __m128 o4(__m128 d, const Chan *ch) { return _mm_add_ps(_mm_mul_ps(d, ch->sv), ch->bev); }
static inline float o1(float d, const Chan *ch) { return d * ch->s + ch->be; }

/* op 0 / 1: Σ x or Σ (x − μ)² of the row into acc[j]. */
TGT static void sumRow(const Rows *r, const Chan *ch, int64_t o, int64_t j) {
  (void)ch;
  const int64_t T = r->T, vec = T & ~(int64_t)3;
  const int squared = r->op == 1;
  const float *x = r->a + o;
  const double m = squared ? r->pr[j] : 0;
  const __m256d mv = _mm256_set1_pd(m);
  __m256d s = _mm256_setzero_pd();
  int64_t t = 0;
  if (squared) {
    for (; t < vec; t += 4) {
      __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + t)), mv);
      s = _mm256_add_pd(s, _mm256_mul_pd(d, d));
    }
  } else {
    for (; t < vec; t += 4) s = _mm256_add_pd(s, _mm256_cvtps_pd(_mm_loadu_ps(x + t)));
  }
  double total = fold4(s);
  for (; t < T; t++) {
    const double d = (double)x[t] - m;
    total += squared ? d * d : (double)x[t];
  }
  r->acc[j] += total;
}

/* op 2: out = act(d·s + β). */
TGT static void normalizeRow(const Rows *r, const Chan *ch, int64_t o, int64_t j) {
  (void)j;
  const int64_t T = r->T, vec = T & ~(int64_t)3;
  const int relu = r->relu;
  const float *x = r->a + o;
  float *out = r->c + o;
  int64_t t = 0;
  for (; t < vec; t += 4) {
    __m128 v = o4(d4(_mm_loadu_ps(x + t), ch), ch);
    _mm_storeu_ps(out + t, relu ? act4(v, relu) : v);
  }
  for (; t < T; t++) {
    const float v = o1(d1(x[t], ch), ch);
    out[t] = relu ? act1(v, relu) : v;
  }
}

/* op 3: Σ m and Σ m·h into acc[2j], acc[2j + 1]. */
TGT static void gradRow(const Rows *r, const Chan *ch, int64_t o, int64_t j) {
  const int64_t T = r->T, vec = T & ~(int64_t)3;
  const int relu = r->relu;
  const float *g = r->a + o, *x = r->b + o;
  __m256d sa = _mm256_setzero_pd(), sb = _mm256_setzero_pd();
  int64_t t = 0;
  for (; t < vec; t += 4) {
    __m128 d = d4(_mm_loadu_ps(x + t), ch);
    __m128 m = _mm_loadu_ps(g + t);
    if (relu) m = _mm_and_ps(m, gate4(o4(d, ch), relu));
    __m256d md = _mm256_cvtps_pd(m);
    sa = _mm256_add_pd(sa, md);
    sb = _mm256_add_pd(sb, _mm256_mul_pd(md, _mm256_cvtps_pd(_mm_mul_ps(d, ch->ivv))));
  }
  double ta = fold4(sa), tb = fold4(sb);
  for (; t < T; t++) {
    const float d = d1(x[t], ch);
    const float m = relu && !gate1(o1(d, ch), relu) ? 0.0f : g[t];
    ta += (double)m;
    tb += (double)m * (double)(d * ch->iv);
  }
  r->acc[2 * j] += ta;
  r->acc[2 * j + 1] += tb;
}

/* op 4: dx = (s·m' − c2) − h·c3. */
TGT static void dxRow(const Rows *r, const Chan *ch, int64_t o, int64_t j) {
  (void)j;
  const int64_t T = r->T, vec = T & ~(int64_t)3;
  const int relu = r->relu;
  const float *g = r->a + o, *x = r->b + o;
  float *out = r->c + o;
  const __m128 z = _mm_setzero_ps();
  int64_t t = 0;
  for (; t < vec; t += 4) {
    __m128 d = d4(_mm_loadu_ps(x + t), ch);
    __m128 m = _mm_loadu_ps(g + t);
    if (relu) m = _mm_add_ps(_mm_and_ps(m, gate4(o4(d, ch), relu)), z);
    __m128 h = _mm_mul_ps(d, ch->ivv);
    _mm_storeu_ps(out + t, _mm_sub_ps(_mm_sub_ps(_mm_mul_ps(ch->sv, m), ch->c2v), _mm_mul_ps(h, ch->c3v)));
  }
  for (; t < T; t++) {
    const float d = d1(x[t], ch);
    const float m = relu ? (gate1(o1(d, ch), relu) ? g[t] : 0.0f) + 0.0f : g[t];
    const float h = d * ch->iv;
    out[t] = (ch->s * m - ch->c2) - h * ch->c3;
  }
}

/* The op's pass (each case its own copy of the row loop, the row function inlined). */
TGT static void runOp(const Rows *r) {
  switch (r->op) {
    case 0: case 1: eachRow(r, sumRow); break;
    case 2: eachRow(r, normalizeRow); break;
    case 3: eachRow(r, gradRow); break;
    default: eachRow(r, dxRow); break;
  }
}

/* A typed array argument of the given type and at least `need` elements, or NULL (error thrown). */
static void *arrayArg(napi_env env, napi_value v, int type, int64_t need, const char *what) {
  int t = -1;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &t, &length, &data, &ab, &offset) != NAPI_OK || t != type) {
    napi_throw_error(env, NULL, what);
    return NULL;
  }
  if ((int64_t)length < need) {
    napi_throw_error(env, NULL, "bnRows32: an array is shorter than the job needs");
    return NULL;
  }
  /* An empty array may have no data pointer; nothing is read from it then. */
  return data != NULL ? data : (void *)"";
}

static napi_value bnRows32(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  int32_t v[12] = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != NAPI_OK || argc < 12) {
    napi_throw_error(env, NULL, "bnRows32: expected 12 arguments (op, a, b, c, acc, pr, N, C, T, c0, nc, relu)");
    return NULL;
  }
  const int ints[] = {0, 6, 7, 8, 9, 10, 11};
  for (int i = 0; i < 7; i++) {
    if (napi_get_value_int32(env, argv[ints[i]], &v[ints[i]]) != NAPI_OK) {
      napi_throw_error(env, NULL, "bnRows32: op, N, C, T, c0, nc and relu must be numbers");
      return NULL;
    }
  }
  Rows r;
  r.op = v[0];
  r.N = v[6]; r.C = v[7]; r.T = v[8]; r.c0 = v[9]; r.nc = v[10];
  r.relu = v[11];
  if (r.op < 0 || r.op > 4 || r.relu < 0 || r.relu > 2 || r.N < 0 || r.C < 0 || r.T < 0 || r.c0 < 0 || r.nc < 0 || r.c0 + r.nc > r.C) {
    napi_throw_error(env, NULL, "bnRows32: op must be 0–4, relu 0–2, and N, C, T, c0, nc ≥ 0 with c0 + nc ≤ C");
    return NULL;
  }
  if (nativeCpuLevel() < 1) {
    napi_throw_error(env, NULL, "bnRows32: this CPU has no AVX2");
    return NULL;
  }
  const int64_t len = r.N * r.C * r.T;
  const char *f32 = "bnRows32: a, b and c must be Float32Arrays";
  const char *f64 = "bnRows32: acc and pr must be Float64Arrays";
  if ((r.a = arrayArg(env, argv[1], NAPI_FLOAT32_ARRAY, len, f32)) == NULL) return NULL;
  if ((r.b = arrayArg(env, argv[2], NAPI_FLOAT32_ARRAY, r.op >= 3 ? len : 0, f32)) == NULL) return NULL;
  if ((r.c = arrayArg(env, argv[3], NAPI_FLOAT32_ARRAY, r.op == 2 || r.op == 4 ? len : 0, f32)) == NULL) return NULL;
  const int64_t accNeed = r.op <= 1 ? r.nc : r.op == 3 ? 2 * r.nc : 0;
  if ((r.acc = arrayArg(env, argv[4], NAPI_FLOAT64_ARRAY, accNeed, f64)) == NULL) return NULL;
  if ((r.pr = arrayArg(env, argv[5], NAPI_FLOAT64_ARRAY, r.op == 0 ? 0 : r.op == 1 ? r.nc : 8 * r.nc, f64)) == NULL) return NULL;
  if (len == 0 || r.nc == 0) return NULL;
  runOp(&r);
  return NULL;
}

void batchNormExports(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "bnRows32", NAPI_AUTO_LENGTH, bnRows32, NULL, &f) == NAPI_OK) napi_set_named_property(env, exports, "bnRows32", f);
}

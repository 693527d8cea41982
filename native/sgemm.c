/*
 * Native float32 GEMM tiles for cs231n-ts (optional; built by native/build.js when a C compiler
 * is present). They take the place of the WebAssembly FMA tiles `block32f` / `blockS32f`
 * (src/core/gemm/wasm.ts) with the same contracts, on the same memory: the WebAssembly memory,
 * whose base address `bind` is handed once per thread.
 *
 * WHY: WebAssembly SIMD is 128 bits wide, so its FMA tile tops out at 16 flops a cycle; with
 * AVX-512 the same loop does 64 (AVX2: 32). Measured on a 2-core Xeon: ~175 GFLOP/s a core
 * here against ~48 for the wasm tile.
 *
 * Bits: every element of a tile is s = fma(a, b, s) over p in order from s = 0, then C = s or
 * C += s — exactly the wasm tile's sequence (f32x4.relaxed_madd is one fused multiply-add on
 * FMA hardware), so both give the same bits whatever the vector width, tile shape or thread.
 *
 * Contract (byte addresses from the memory's base, as the wasm exports):
 *   block32(ap, bp, kc, cp, ldc, acc, mp, np): mp A panels of kc·4 floats (A[p·4 + i]), np B
 *     panels of kc·4 floats (B[p·4 + j]), panels kc·16 bytes apart; tile (ip, jp) row i goes
 *     to cp + (4·ip + i)·ldc + 16·jp.
 *   blockS32(ap, bp, kc, cp, ldc, acc, mp, np, ars, acs, brs, aps, bps): A row i of panel ip at
 *     ap + ip·aps + i·ars, moving acs a k step; B panel jp at bp + jp·bps, its 4 floats of
 *     step p at + p·brs.
 *   blockS32(…, slices, aSlice, bSlice): the same for `slices` k-slices of kc steps, slice s's A
 *     and B aSlice·s and bSlice·s bytes on, C += each after the first (blockS32.slices is true).
 * Each call copies its B panels into this thread's scratch in the layout the vector loops want
 * (16 or 8 columns a row; strided A too, into packed panels), then runs 12-row tiles. Every address a call would
 * touch is checked against the bound memory's length first.
 *
 * The Node-API declarations are written out in napi.h (no node headers needed to build, only a
 * C compiler). The batch-norm rows (batchnorm.c) are part of the same module.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "napi.h"


/* The bound memory (one per thread: each worker loads the module for itself). */
static __thread uint8_t *base = NULL;
static __thread size_t baseLen = 0;
/* This thread's scratch: A panels, then one B group. */
static __thread float *scratch = NULL;
static __thread size_t scratchFloats = 0;

static int level = -1; /* 2: AVX-512F, 1: AVX2 + FMA, 0: neither */

int nativeCpuLevel(void) {
  if (level < 0) {
    __builtin_cpu_init();
    level = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
  }
  return level;
}

static float *scratchFor(size_t floats) {
  if (floats > scratchFloats) {
    free(scratch);
    size_t n = (floats + 15) & ~(size_t)15;
    scratch = (float *)aligned_alloc(64, n * sizeof(float));
    scratchFloats = scratch ? n : 0;
  }
  return scratch;
}

/* The operands of one call, in bytes from the base. */
typedef struct {
  int64_t ap, bp, kc, cp, ldc, acc, mp, np, ars, acs, brs, aps, bps;
} Block;

/* A panels into scratch: panel ip at a + ip·kc·4, element (p, i) at p·4 + i. */
static void packA(const Block *b, float *a) {
  if (b->acs == 4) {
    /* Rows contiguous along k (the drivers' usual strided A): four rows side by side, four
       steps at a time through a 4×4 transpose. */
    for (int64_t ip = 0; ip < b->mp; ip++) {
      float *dst = a + ip * b->kc * 4;
      const float *r0 = (const float *)(base + b->ap + ip * b->aps);
      const float *r1 = (const float *)((const uint8_t *)r0 + b->ars);
      const float *r2 = (const float *)((const uint8_t *)r1 + b->ars);
      const float *r3 = (const float *)((const uint8_t *)r2 + b->ars);
      int64_t p = 0;
      for (; p + 4 <= b->kc; p += 4) {
        __m128 x0 = _mm_loadu_ps(r0 + p), x1 = _mm_loadu_ps(r1 + p), x2 = _mm_loadu_ps(r2 + p), x3 = _mm_loadu_ps(r3 + p);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(dst + p * 4, x0);
        _mm_storeu_ps(dst + p * 4 + 4, x1);
        _mm_storeu_ps(dst + p * 4 + 8, x2);
        _mm_storeu_ps(dst + p * 4 + 12, x3);
      }
      for (; p < b->kc; p++) {
        dst[p * 4] = r0[p];
        dst[p * 4 + 1] = r1[p];
        dst[p * 4 + 2] = r2[p];
        dst[p * 4 + 3] = r3[p];
      }
    }
    return;
  }
  for (int64_t ip = 0; ip < b->mp; ip++) {
    float *dst = a + ip * b->kc * 4;
    for (int i = 0; i < 4; i++) {
      const uint8_t *row = base + b->ap + ip * b->aps + i * b->ars;
      for (int64_t p = 0; p < b->kc; p++) dst[p * 4 + i] = *(const float *)(row + p * b->acs);
    }
  }
}

/* B panels jp0 … jp0 + nb − 1 side by side, `width` floats a row (unused columns zero). */
static void packB(const Block *b, int64_t jp0, int nb, int width, float *dst) {
  if (b->bps == 16) {
    /* Panels side by side (a row-major B): one copy of 4·nb floats a row. */
    const uint8_t *src = base + b->bp + 16 * jp0;
    for (int64_t p = 0; p < b->kc; p++) {
      float *row = dst + p * width;
      memcpy(row, src + p * b->brs, (size_t)(16 * nb));
      if (nb * 4 < width) memset(row + nb * 4, 0, (size_t)(4 * (width - nb * 4)));
    }
    return;
  }
  for (int64_t p = 0; p < b->kc; p++) {
    float *row = dst + p * width;
    for (int q = 0; q < width / 4; q++) {
      if (q < nb) memcpy(row + q * 4, base + b->bp + (jp0 + q) * b->bps + p * b->brs, 16);
      else memset(row + q * 4, 0, 16);
    }
  }
}

/* ---- AVX-512: tiles of up to 12 rows by 16 columns (4 B panels). ---- */
/* B: kc rows of 16 floats at bq (64-byte aligned; past the panels zero); C columns past them masked off by m. */
__attribute__((target("avx512f"))) static void tile16(const float *a, int rows, const float *bq, int64_t kc, uint8_t *c, int64_t ldc, int acc, __mmask16 m) {
  __m512 s[12];
  for (int r = 0; r < 12; r++) s[r] = _mm512_setzero_ps();
  const float *a1 = a + kc * 4, *a2 = a1 + kc * 4;
  const float *ap[3] = {a, a1, a2};
  if (rows == 12) {
    for (int64_t p = 0; p < kc; p++) {
      __m512 v = _mm512_load_ps(bq + p * 16);
      /* Twelve rows: three packed A panels, four rows each (unrolled: the constant count). */
#pragma GCC unroll 12
      for (int r = 0; r < 12; r++) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[r >> 2][p * 4 + (r & 3)]), v, s[r]);
    }
  } else {
    /* 4 or 8 rows: one or two A panels. */
    for (int64_t p = 0; p < kc; p++) {
      __m512 v = _mm512_load_ps(bq + p * 16);
      for (int r = 0; r < rows; r++) {
        const float *ar = r < 4 ? a : a1;
        s[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[p * 4 + (r & 3)]), v, s[r]);
      }
    }
  }
  for (int r = 0; r < rows; r++) {
    float *row = (float *)(c + r * ldc);
    __m512 v = s[r];
    if (acc) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row), v);
    _mm512_mask_storeu_ps(row, m, v);
  }
}


__attribute__((target("avx512f"))) static void run512(const Block *b, float *a, float *bq) {
  for (int64_t jp = 0; jp < b->np; jp += 4) {
    int nb = b->np - jp < 4 ? (int)(b->np - jp) : 4;
    packB(b, jp, nb, 16, bq);
    __mmask16 m = (__mmask16)(nb == 4 ? 0xffff : (1u << (nb * 4)) - 1);
    for (int64_t ip = 0; ip < b->mp; ip += 3) {
      int panels = b->mp - ip < 3 ? (int)(b->mp - ip) : 3;
      tile16(a + ip * b->kc * 4, panels * 4, bq, b->kc, base + b->cp + 4 * ip * b->ldc + 16 * jp, b->ldc, (int)b->acc, m);
    }
  }
}

/* ---- AVX2 + FMA: tiles of up to 12 rows by 8 columns (2 B panels). ---- */
/* B: kc rows of 8 floats at bq (32-byte aligned; past the panels zero); C columns past nb panels untouched. */
__attribute__((target("avx2,fma"))) static void tile8(const float *a, int rows, const float *bq, int64_t kc, uint8_t *c, int64_t ldc, int acc, int nb) {
  __m256 s[12];
  for (int r = 0; r < 12; r++) s[r] = _mm256_setzero_ps();
  const float *a1 = a + kc * 4, *a2 = a1 + kc * 4;
  const float *ap[3] = {a, a1, a2};
  if (rows == 12) {
    for (int64_t p = 0; p < kc; p++) {
      __m256 v = _mm256_load_ps(bq + p * 8);
#pragma GCC unroll 12
      for (int r = 0; r < 12; r++) s[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap[r >> 2] + p * 4 + (r & 3)), v, s[r]);
    }
  } else {
    for (int64_t p = 0; p < kc; p++) {
      __m256 v = _mm256_load_ps(bq + p * 8);
      for (int r = 0; r < rows; r++) {
        const float *ar = r < 4 ? a : a1;
        s[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar + p * 4 + (r & 3)), v, s[r]);
      }
    }
  }
  for (int r = 0; r < rows; r++) {
    float *row = (float *)(c + r * ldc);
    float t[8];
    _mm256_storeu_ps(t, s[r]);
    for (int j = 0; j < nb * 4; j++) row[j] = acc ? row[j] + t[j] : t[j];
  }
}

__attribute__((target("avx2,fma"))) static void run256(const Block *b, float *a, float *bq) {
  for (int64_t jp = 0; jp < b->np; jp += 2) {
    int nb = b->np - jp < 2 ? (int)(b->np - jp) : 2;
    packB(b, jp, nb, 8, bq);
    for (int64_t ip = 0; ip < b->mp; ip += 3) {
      int panels = b->mp - ip < 3 ? (int)(b->mp - ip) : 3;
      tile8(a + ip * b->kc * 4, panels * 4, bq, b->kc, base + b->cp + 4 * ip * b->ldc + 16 * jp, b->ldc, (int)b->acc, nb);
    }
  }
}

/* The highest byte + 1 a call touches, or −1 when an argument is out of range. */
static int64_t extent(const Block *b) {
  if (b->kc < 0 || b->mp < 0 || b->np < 0 || b->ldc < 0 || b->ars < 0 || b->acs < 0 || b->brs < 0 || b->aps < 0 || b->bps < 0) return -1;
  if (b->ap < 0 || b->bp < 0 || b->cp < 0) return -1;
  if (b->kc == 0 || b->mp == 0 || b->np == 0) return 0;
  int64_t hi = 0, e;
  e = b->ap + (b->mp - 1) * b->aps + 3 * b->ars + (b->kc - 1) * b->acs + 4;
  if (e > hi) hi = e;
  e = b->bp + (b->np - 1) * b->bps + (b->kc - 1) * b->brs + 16;
  if (e > hi) hi = e;
  e = b->cp + (4 * b->mp - 1) * b->ldc + 16 * b->np;
  if (e > hi) hi = e;
  return hi;
}

static napi_value run(napi_env env, napi_callback_info info, int strided) {
  size_t argc = 16;
  napi_value argv[16];
  int32_t v[16] = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != NAPI_OK || argc < (size_t)(strided ? 13 : 8)) {
    napi_throw_error(env, NULL, strided ? "blockS32: expected 13 integer arguments" : "block32: expected 8 integer arguments");
    return NULL;
  }
  /* blockS32 with three more arguments (slices, aSlice, bSlice): that many k-slices, slice s's
     operands aSlice / bSlice bytes on — the calls blockS32 would make one after another (C = s
     or C += s for the first, C += s for the rest), in one call. */
  const int sliced = strided && argc >= 16;
  for (size_t i = 0; i < (sliced ? 16u : strided ? 13u : 8u); i++) {
    if (napi_get_value_int32(env, argv[i], &v[i]) != NAPI_OK) {
      napi_throw_error(env, NULL, "block32: arguments must be numbers");
      return NULL;
    }
  }
  Block b = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], 4, 16, 16, 0, 0};
  /* Byte addresses above 2 GiB arrive as negative int32: take them unsigned. */
  b.ap = (uint32_t)v[0]; b.bp = (uint32_t)v[1]; b.cp = (uint32_t)v[3];
  if (strided) {
    b.ars = v[8]; b.acs = v[9]; b.brs = v[10]; b.aps = v[11]; b.bps = v[12];
  } else {
    b.aps = b.kc * 16;
    b.bps = b.kc * 16;
  }
  int64_t slices = 1, aSlice = 0, bSlice = 0;
  if (sliced) {
    slices = v[13]; aSlice = v[14]; bSlice = v[15];
    if (slices < 1 || aSlice < 0 || bSlice < 0) {
      napi_throw_error(env, NULL, "blockS32: slices must be ≥ 1 and the slice strides ≥ 0");
      return NULL;
    }
  }
  if (base == NULL) {
    napi_throw_error(env, NULL, "block32: no memory bound on this thread (call bind first)");
    return NULL;
  }
  /* The last slice reaches highest (the strides are not negative). */
  Block last = b;
  last.ap += (slices - 1) * aSlice;
  last.bp += (slices - 1) * bSlice;
  int64_t hi = extent(&last);
  if (hi < 0 || (uint64_t)hi > baseLen) {
    napi_throw_error(env, NULL, "block32: operands outside the bound memory");
    return NULL;
  }
  if (b.kc == 0 || b.mp == 0 || b.np == 0) {
    /* Nothing to sum: C = 0 (acc = 0) or unchanged, as the wasm tile. */
    if (!b.acc && b.kc == 0)
      for (int64_t r = 0; r < 4 * b.mp; r++) memset(base + b.cp + r * b.ldc, 0, (size_t)(16 * b.np));
    return NULL;
  }
  int lv = nativeCpuLevel();
  int width = lv == 2 ? 16 : 8;
  float *s = scratchFor((size_t)((strided ? b.mp * b.kc * 4 : 0) + b.kc * width) + 16);
  if (s == NULL || lv == 0) {
    napi_throw_error(env, NULL, lv == 0 ? "block32: this CPU has neither AVX-512F nor AVX2 with FMA" : "block32: out of memory for scratch");
    return NULL;
  }
  /* Packed A panels are already what the tiles read (4 floats a step, panels kc·16 bytes
     apart): used in place — also when a strided call's strides say they are packed (the
     fused convolutions' filter panels). Others are copied into that layout first. */
  const int inPlace = !strided || (b.ars == 4 && b.acs == 16 && b.aps == b.kc * 16);
  float *bq = s + (inPlace ? 0 : ((b.mp * b.kc * 4 + 15) & ~(int64_t)15));
  for (int64_t sl = 0; sl < slices; sl++) {
    if (sl > 0) {
      b.ap += aSlice;
      b.bp += bSlice;
      b.acc = 1;
    }
    float *a = inPlace ? (float *)(base + b.ap) : s;
    if (!inPlace) packA(&b, a);
    if (lv == 2) run512(&b, a, bq);
    else run256(&b, a, bq);
  }
  return NULL;
}

static napi_value block32(napi_env env, napi_callback_info info) { return run(env, info, 0); }
static napi_value blockS32(napi_env env, napi_callback_info info) { return run(env, info, 1); }

/* bind(view: Float32Array over the whole memory) → the base address (stable for a shared memory). */
static napi_value bind(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int type = -1;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != NAPI_OK || argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) != NAPI_OK || type != NAPI_FLOAT32_ARRAY || offset != 0) {
    napi_throw_error(env, NULL, "bind: expected a Float32Array over the whole memory");
    return NULL;
  }
  base = (uint8_t *)data;
  baseLen = length * 4;
  napi_value r;
  napi_create_double(env, (double)(uintptr_t)data, &r);
  return r;
}

static napi_value features(napi_env env, napi_callback_info info);

/* isa("avx2" | "avx512f") → the vector width this process uses from now on, if the CPU has it
   (tests run both); isa() leaves it. Returns the one in use. */
static napi_value isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char want[16] = {0};
  size_t len = 0;
  level = -1;
  int best = nativeCpuLevel();
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == NAPI_OK && argc >= 1 &&
      napi_get_value_string_utf8(env, argv[0], want, sizeof want, &len) == NAPI_OK) {
    if (strcmp(want, "avx2") == 0 && best >= 1) level = 1;
    else if (strcmp(want, "avx512f") == 0 && best >= 2) level = 2;
    else {
      napi_throw_error(env, NULL, "isa: expected 'avx2' or 'avx512f', one this CPU has");
      return NULL;
    }
  }
  return features(env, info);
}

static napi_value features(napi_env env, napi_callback_info info) {
  (void)info;
  int lv = nativeCpuLevel();
  napi_value r;
  napi_create_string_utf8(env, lv == 2 ? "avx512f" : lv == 1 ? "avx2" : "none", NAPI_AUTO_LENGTH, &r);
  return r;
}

static void put(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f) == NAPI_OK) napi_set_named_property(env, exports, name, f);
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  put(env, exports, "bind", bind);
  put(env, exports, "block32", block32);
  put(env, exports, "blockS32", blockS32);
  /* blockS32.slices = true: the GEMM driver hands it a task's k-slices in one call. */
  napi_value fn, yes;
  if (napi_get_named_property(env, exports, "blockS32", &fn) == NAPI_OK && napi_get_boolean(env, 1, &yes) == NAPI_OK)
    napi_set_named_property(env, fn, "slices", yes);
  put(env, exports, "features", features);
  put(env, exports, "isa", isa);
  batchNormExports(env, exports);
  return exports;
}

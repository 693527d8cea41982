/*
 * The few Node-API declarations the native kernels use, written out from its documented C ABI
 * (stable since Node-API 1), so a build needs only a C compiler — no node headers, no node-gyp.
 */
#ifndef CS231N_NAPI_H
#define CS231N_NAPI_H
#include <stddef.h>
#include <stdint.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
napi_status napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
napi_status napi_set_named_property(napi_env, napi_value, const char *, napi_value);
napi_status napi_get_named_property(napi_env, napi_value, const char *, napi_value *);
napi_status napi_get_boolean(napi_env, _Bool, napi_value *);
napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
napi_status napi_get_value_int32(napi_env, napi_value, int32_t *);
napi_status napi_get_value_double(napi_env, napi_value, double *);
napi_status napi_get_typedarray_info(napi_env, napi_value, int *, size_t *, void **, napi_value *, size_t *);
napi_status napi_create_double(napi_env, double, napi_value *);
napi_status napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
napi_status napi_throw_error(napi_env, const char *, const char *);
napi_status napi_get_value_string_utf8(napi_env, napi_value, char *, size_t, size_t *);
#define NAPI_OK 0
#define NAPI_AUTO_LENGTH ((size_t)-1)
#define NAPI_FLOAT32_ARRAY 7
#define NAPI_FLOAT64_ARRAY 8

/* The batch-norm rows (batchnorm.c), added to the module's exports by sgemm.c's registration. */
void batchNormExports(napi_env env, napi_value exports);
/* 2: AVX-512F, 1: AVX2 + FMA, 0: neither (sgemm.c). */
int nativeCpuLevel(void);

#endif

/**
 * The cs231n layer set: every op is `xForward(...) → { out, cache }` and
 * `xBackward(dout, cache) → { dx, dw, db, … }` with gradients by name.
 */
export * from './affine';
export * from './relu';
export * from './batchnorm';
export * from './layernorm';
export * from './dropout';
export * from './conv';
export * from './im2col';
export * from './convFast';
export * from './pool';
export * from './poolFast';
export * from './spatialBatchnorm';
export * from './spatialGroupnorm';
export * from './losses';
export * from './sandwich';
export * from './chain';

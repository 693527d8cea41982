/*
 * src/gpu: the gpu.js acceleration layer. Only these names leave the folder; gpu.js's own
 * types never do.
 */
export { createBackend, createBackendAsync } from './backend';
export { BackendUnavailableError } from './modes';
export type { BackendMode, GpuMode, RequestedMode } from './modes';
export type { AsyncBackend, Backend, BackendOptions, DistanceOptions, LossAndGrad, MatmulOpts } from './types';
export type { TileLimits } from './tiling';

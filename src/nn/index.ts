/**
 * `nn`: a module API in PyTorch's shape over the package's ops (see SPEC §9). Import as
 * `import { nn } from 'cs231n-ts'`.
 */
export * from './parameter';
export * from './gradMode';
export * from './module';
export * from './opModule';
export * from './sequential';
export * as init from './init';
export * from './conv2d';
export * from './linear';
export * from './batchNorm';
export * from './tape';
export * from './summary';
export * from './convNormActivation';
export * from './squeezeExcitation';
export { loadSafetensors, saveSafetensors, parseSafetensors, serializeSafetensors } from '../data/safetensors';
export type { Safetensors, SafetensorsDType, SafetensorsTensor, SaveSafetensorsOptions } from '../data/safetensors';
export * from './rng';
export * from './activation';
export * from './pooling';
export * from './channel';
export * from './dropout';
export * from './loss';
export { invertedResidualEval, setInvertedResidualFusion, invertedResidualCalls } from './invertedResidualEval';
export type { InvertedResidualLayers, BlockPlacement } from './invertedResidualEval';

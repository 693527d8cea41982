/**
 * `nn`: a module API in PyTorch's shape over the package's ops (see SPEC §9). Import as
 * `import { nn } from 'cs231n-ts'`.
 */
export * from './parameter';
export * from './gradMode';
export * from './module';
export * from './opModule';
export * from './sequential';
export * from './rng';
export * from './activation';
export * from './pooling';
export * from './channel';
export * from './dropout';
export * from './loss';

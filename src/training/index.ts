/**
 * `training`: PyTorch-semantics optimizers, learning-rate schedules, data loading and the
 * training loop (SPEC §11). Import as `import { training } from 'cs231n-ts'`.
 */
export * from './optimizer';
export * from './sgd';
export * from './adam';
export * from './adamw';
export * from './rmsprop';
export * from './adagrad';
export * from './lrScheduler';
export * from './stepLR';
export * from './multiStepLR';
export * from './cosineAnnealingLR';
export * from './linearLR';
export * from './oneCycleLR';
export * from './sequentialLR';
export * from './chainedScheduler';
export * from './transforms';
export * from './dataLoader';
export * from './checkpoint';
export * from './fit';
export * from './datasets';
export * from './predict';
export * from './runReport';
export * from './trainRun';

/**
 * Training: cs231n's Solver (minibatch SGD-style training with histories and best-parameter
 * restore), its options, and checkpoints (atomic, checksummed, resumable).
 */
export * from './model';
export * from './options';
export * from './solver';
export { saveCheckpoint, loadCheckpoint } from './checkpoint';
export type { SolverCheckpoint } from './checkpoint';
export * from './arrayFile';

/**
 * The op set: each op defined once (validation, forward, backward) and shared by the cs231n
 * layer functions and the `nn` modules. See `op.ts` for the interface.
 */
export * from './op';
export * from './unary';
export * from './activations';
export * from './kernelRegistry';
export * from './conv2d';
export * from './batchNorm';
export * from './linear';
export * from './channelScale';
export * from './poolArgs';
export * from './maxPool2d';
export * from './avgPool2d';
export * from './adaptiveAvgPool2d';
export * from './channels';
export * from './add';
export * from './flatten';
export * from './localResponseNorm';
export * from './dropout';
export * from './crossEntropy';

/*
 * Deep Learning from Scratch (ch. 6–8) with the book's conventions, built on the package's
 * layer functions: exported from the package root as the `dlfs` namespace (SPEC §12).
 */
export * from './params';
export * from './optimizers';
export * from './im2col';
export * from './util';
export * from './layers';
export * from './bookNet';
export * from './multiLayerNet';
export * from './convNets';
export * from './trainer';
export * from './paramsFile';

/** Image features of assignment 1 (cs231n's `features.py`) and their preprocessing. */
export * from './rgb2gray';
export * from './hog';
export * from './colorHistogramHsv';
export * from './extractFeatures';
export * from './preprocess';
export * from './uniformFilter';
export type { Image } from './imageView';

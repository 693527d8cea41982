import type { RandomState } from '../core/random';
import { Hardsigmoid, Hardswish, ReLU, ReLU6, Sigmoid, SiLU } from '../nn/activation';
import { ChannelShuffle, Identity, LocalResponseNorm } from '../nn/channel';
import { Dropout, StochasticDepth } from '../nn/dropout';
import type { Module } from '../nn/module';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../nn/pooling';

/*
 * The parameter-free layers the model files use, as short factories, so a model file reads
 * like its torchvision source (`reluLayer()`, `maxPool(3, 2, 1)`) and passes them where a
 * block takes a layer factory (`activation: reluLayer`).
 */

export const reluLayer = (): Module => new ReLU();
export const relu6Layer = (): Module => new ReLU6();
export const hardswishLayer = (): Module => new Hardswish();
export const hardsigmoidLayer = (): Module => new Hardsigmoid();
export const siluLayer = (): Module => new SiLU();
export const sigmoidLayer = (): Module => new Sigmoid();
export const maxPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false): Module => new MaxPool2d({ kernelSize, stride, padding, ceilMode });
export const avgPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true): Module =>
  new AvgPool2d({ kernelSize, stride, padding, ceilMode, countIncludePad });
export const adaptiveAvgPool = (outputSize: number | [number, number]): Module => new AdaptiveAvgPool2d({ outputSize });
export const dropout = (p: number, rng?: RandomState): Module => new Dropout({ p, rng });
export const identity = (): Module => new Identity();
export const localResponseNorm = (size: number, alpha: number, beta: number, k: number): Module => new LocalResponseNorm({ size, alpha, beta, k });
export const channelShuffle = (groups: number): Module => new ChannelShuffle(groups);
export const stochasticDepth = (p: number, rng?: RandomState): Module => new StochasticDepth({ p, mode: 'row', rng });

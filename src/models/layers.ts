import type { Tensor } from '../core/tensor';
import { hardsigmoid, hardswish, relu, relu6, sigmoid, silu } from '../ops/activations';
import { adaptiveAvgPool2d, type AdaptiveAvgPool2dAttrs } from '../ops/adaptiveAvgPool2d';
import { avgPool2d, type AvgPool2dAttrs } from '../ops/avgPool2d';
import { maxPool2d } from '../ops/maxPool2d';
import type { Op } from '../ops/op';
import type { Pool2dAttrs } from '../ops/poolArgs';
import { Module } from '../nn/module';
import { OpModule } from '../nn/opModule';

/*
 * The parameter-free layers the model files use, behind one small set of factories, so a model
 * file reads like its torchvision source (`relu()`, `maxPool(3, 2, 1)`) and the layer classes
 * can change without touching the models.
 */

class Leaf<A = Record<string, never>> extends OpModule<A, unknown> {
  constructor(op: Op<A, unknown>, private readonly label: string, private readonly a: A = {} as A) {
    super(op);
  }
  protected override attrs(): A {
    return this.a;
  }
  override toString(): string {
    return `${this.label}()`;
  }
}

class Pending extends Module {
  constructor(private readonly what: string) {
    super();
  }
  forward(_x: Tensor): Tensor {
    throw new Error(`${this.what}: not available yet`);
  }
  backward(_d: Tensor): Tensor {
    throw new Error(`${this.what}: not available yet`);
  }
}

export const reluLayer = (): Module => new Leaf(relu as Op<Record<string, never>, unknown>, 'ReLU');
export const relu6Layer = (): Module => new Leaf(relu6 as Op<Record<string, never>, unknown>, 'ReLU6');
export const hardswishLayer = (): Module => new Leaf(hardswish as Op<Record<string, never>, unknown>, 'Hardswish');
export const hardsigmoidLayer = (): Module => new Leaf(hardsigmoid as Op<Record<string, never>, unknown>, 'Hardsigmoid');
export const siluLayer = (): Module => new Leaf(silu as Op<Record<string, never>, unknown>, 'SiLU');
export const sigmoidLayer = (): Module => new Leaf(sigmoid as Op<Record<string, never>, unknown>, 'Sigmoid');
export const maxPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false): Module =>
  new Leaf(maxPool2d as Op<Pool2dAttrs, unknown>, 'MaxPool2d', { kernelSize, stride, padding, ceilMode });
export const avgPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true): Module =>
  new Leaf(avgPool2d as Op<AvgPool2dAttrs, unknown>, 'AvgPool2d', { kernelSize, stride, padding, ceilMode, countIncludePad });
export const adaptiveAvgPool = (outputSize: number | [number, number]): Module =>
  new Leaf(adaptiveAvgPool2d as Op<AdaptiveAvgPool2dAttrs, unknown>, 'AdaptiveAvgPool2d', { outputSize });
export const dropout = (p: number): Module => new Pending(`Dropout(${p})`);
export const flatten = (): Module => new Pending('Flatten()');
export const identity = (): Module => new Pending('Identity()');
export const localResponseNorm = (size: number, alpha: number, beta: number, k: number): Module => new Pending(`LocalResponseNorm(${size}, ${alpha}, ${beta}, ${k})`);
export const channelShuffle = (groups: number): Module => new Pending(`ChannelShuffle(${groups})`);
export const stochasticDepth = (p: number): Module => new Pending(`StochasticDepth(${p})`);

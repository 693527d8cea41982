import type { Tensor } from '../core/tensor';
import { hardsigmoid, hardswish, relu, relu6, sigmoid, silu } from '../ops/activations';
import type { Op } from '../ops/op';
import { Module } from '../nn/module';
import { OpModule } from '../nn/opModule';

/*
 * The parameter-free layers the model files use, behind one small set of factories, so a model
 * file reads like its torchvision source (`relu()`, `maxPool(3, 2, 1)`) and the layer classes
 * can change without touching the models.
 */

class Leaf extends OpModule<Record<string, never>, unknown> {
  constructor(op: Op<Record<string, never>, unknown>, private readonly label: string) {
    super(op);
  }
  protected override attrs(): Record<string, never> {
    return {};
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
export const maxPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false): Module => new Pending(`MaxPool2d(${kernelSize}, ${stride}, ${padding}, ${ceilMode})`);
export const avgPool = (kernelSize: number, stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true): Module => new Pending(`AvgPool2d(${kernelSize}, ${stride}, ${padding}, ${ceilMode}, ${countIncludePad})`);
export const adaptiveAvgPool = (outputSize: number | [number, number]): Module => new Pending(`AdaptiveAvgPool2d(${outputSize})`);
export const dropout = (p: number): Module => new Pending(`Dropout(${p})`);
export const flatten = (): Module => new Pending('Flatten()');
export const identity = (): Module => new Pending('Identity()');
export const localResponseNorm = (size: number, alpha: number, beta: number, k: number): Module => new Pending(`LocalResponseNorm(${size}, ${alpha}, ${beta}, ${k})`);
export const channelShuffle = (groups: number): Module => new Pending(`ChannelShuffle(${groups})`);
export const stochasticDepth = (p: number): Module => new Pending(`StochasticDepth(${p})`);

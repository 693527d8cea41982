import type { RandomState } from '../core/random';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { constant, defaultLayerInit, kaimingNormal, normal, truncNormal, uniform } from '../nn/init';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';

/** How a family initialises its convolutions and its Linear layers (batch norms: γ = 1, β = 0 everywhere). */
export interface InitScheme {
  /**
   * 'default': PyTorch's U(±1/√fan_in) for weight and bias (AlexNet, ShuffleNet V2, the
   * kuangliu CIFAR models); 'kaimingFanOut': N(0, 2/fan_out), zero bias (ResNet, VGG, MobileNet,
   * EfficientNet); 'truncNormal': N(0, 0.01²) truncated to [−2, 2] (GoogLeNet).
   */
  conv: 'default' | 'kaimingFanOut' | 'truncNormal';
  /** 'default', 'normal0.01' (N(0, 0.01²), zero bias), 'uniformOut' (U(±1/√out), zero bias), 'truncNormal'. */
  linear: 'default' | 'normal0.01' | 'uniformOut' | 'truncNormal';
}

/** The layer options a builder passes everywhere: dtype, and no per-layer init (the scheme runs once at the end). */
export interface LayerOptions {
  dtype?: 'float32' | 'float64';
  rng?: RandomState;
  init: false;
}

/**
 * Initialises every layer of `model` by `scheme`, drawing through `rng`. Builders construct
 * their layers with `init: false` and call this once, so each weight is drawn exactly once
 * (the default draw followed by a family's own would double the cost of a 138M-parameter VGG).
 */
export function initModel(model: Module, scheme: InitScheme, rng?: RandomState): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      if (scheme.conv === 'default') defaultLayerInit(m.weight.data, m.bias?.data ?? null, rng);
      else {
        if (scheme.conv === 'kaimingFanOut') kaimingNormal(m.weight.data, { mode: 'fan_out', nonlinearity: 'relu' }, rng);
        else truncNormal(m.weight.data, 0, 0.01, -2, 2, rng);
        if (m.bias) constant(m.bias.data, 0);
      }
    } else if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
      if (m.weight) constant(m.weight.data, 1);
      if (m.bias) constant(m.bias.data, 0);
    } else if (m instanceof Linear) {
      if (scheme.linear === 'default') defaultLayerInit(m.weight.data, m.bias?.data ?? null, rng);
      else {
        if (scheme.linear === 'normal0.01') normal(m.weight.data, 0, 0.01, rng);
        else if (scheme.linear === 'truncNormal') truncNormal(m.weight.data, 0, 0.01, -2, 2, rng);
        else {
          const r = 1 / Math.sqrt(m.outFeatures);
          uniform(m.weight.data, -r, r, rng);
        }
        if (m.bias) constant(m.bias.data, 0);
      }
    }
  }
}

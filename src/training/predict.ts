import { argmax } from '../core/reduce';
import { noGrad } from '../nn/gradMode';
import type { Module } from '../nn/module';
import type { DataLoader } from './dataLoader';

/** Every test sample's label and prediction, in the loader's order, with the dataset rows. */
export interface Predictions {
  labels: Int32Array;
  predictions: Int32Array;
  /** Dataset row of each sample. */
  rows: Int32Array;
  accuracy: number;
}

/** Runs `model` over `loader` in eval mode under `noGrad` (the mode is restored) and keeps every argmax. */
export function predict(model: Module, loader: DataLoader): Predictions {
  const wasTraining = model.training;
  model.eval();
  const labels: number[] = [];
  const predictions: number[] = [];
  const rows: number[] = [];
  try {
    noGrad(() => {
      for (const { x, y, indices } of loader) {
        const p = argmax(model.forward(x), 1).data;
        for (let i = 0; i < y.size; i++) {
          labels.push(y.data[i]);
          predictions.push(p[i]);
          rows.push(indices[i]);
        }
      }
    });
  } finally {
    model.train(wasTraining);
  }
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) hits++;
  return { labels: Int32Array.from(labels), predictions: Int32Array.from(predictions), rows: Int32Array.from(rows), accuracy: labels.length ? hits / labels.length : NaN };
}

/** counts[true][predicted] over `classes` classes; a label or prediction outside [0, classes) is an error. */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, classes: number): number[][] {
  if (labels.length !== predictions.length) throw new RangeError(`confusionMatrix: predictions: expected ${labels.length} values (one per label), got ${predictions.length}`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predictions[i];
    if (!(t >= 0 && t < classes) || !(p >= 0 && p < classes)) throw new RangeError(`confusionMatrix: sample ${i}: label ${t} / prediction ${p} outside [0, ${classes})`);
    m[t][p]++;
  }
  return m;
}

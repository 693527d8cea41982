import { readPngRgb } from '../data/imageFile';
import { loadSafetensors } from '../data/safetensors';
import { createModel, IMAGENET_CLASSES, imagenetInput, listModels, topK } from '../models';
import { noGrad } from '../nn/gradMode';
import type { StateTensor } from '../nn/module';
import { summary } from '../nn/summary';

/** Parses `3x224x224` into [3, 224, 224] (names the flag on a bad value). */
export function parseInputShape(text: string, flag = '--input'): [number, number, number] {
  const parts = String(text).toLowerCase().split('x').map((s) => Number(s));
  if (parts.length !== 3 || parts.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new RangeError(`${flag}: expected CxHxW with positive integers such as 3x224x224, got ${JSON.stringify(text)}`);
  }
  return parts as [number, number, number];
}

const int = (n: number): string => n.toLocaleString('en-US');

/**
 * `cs231n models`: every model with its default input, parameters and MACs (counted from a
 * zero-image forward of the model built without weight initialisation) and the builder
 * options `createModel` and `cs231n train --model-option` accept.
 */
export function runModelsList(log: (s: string) => void = console.log): void {
  const rows = listModels().map((e) => {
    const m = createModel(e.name, { init: false });
    const s = summary(m, e.input);
    return [e.name, e.input.join('×'), int(s.params), int(s.macs), e.options.length ? e.options.join(',') : '-', e.description];
  });
  const head = ['model', 'input', 'params', 'MACs', 'options', 'what it is'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 2 || i === 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  log(line(head));
  for (const r of rows) log(line(r));
}

/** `cs231n summary NAME [--input CxHxW] [--num-classes K]`: the layer table of one model. */
export function runSummary(name: string, opts: { input?: string; numClasses?: string }, log: (s: string) => void = console.log): void {
  const entry = listModels().find((e) => e.name === name);
  const numClasses = opts.numClasses === undefined ? undefined : Number(opts.numClasses);
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses > 0)) throw new RangeError(`--num-classes: expected a positive integer, got ${opts.numClasses}`);
  const model = createModel(name, { init: false, numClasses });
  const input = opts.input ? parseInputShape(opts.input) : entry!.input;
  log(`${name}`);
  log(summary(model, input).toString());
}

/**
 * `cs231n predict --model NAME --weights FILE.safetensors IMAGE.png [--top K]`: classifies a PNG
 * with ImageNet weights (torchvision's names, loaded strictly) and prints the top-K classes.
 */
export function runPredict(image: string, opts: { model: string; weights: string; top?: string }, log: (s: string) => void = console.log): Array<{ label: string; probability: number }> {
  if (!opts.model) throw new RangeError('--model: required (see `cs231n models`)');
  if (!opts.weights) throw new RangeError('--weights: required (a .safetensors file with the model\'s ImageNet weights)');
  const k = opts.top === undefined ? 5 : Number(opts.top);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new RangeError(`--top: expected an integer in [1, 1000], got ${opts.top}`);
  const model = createModel(opts.model, { init: false, numClasses: 1000 });
  model.loadStateDict(loadSafetensors(opts.weights).tensors as Record<string, StateTensor>, { strict: true });
  model.eval();
  const entry = listModels().find((e) => e.name === opts.model)!;
  const crop = entry.input[1];
  const x = imagenetInput(readPngRgb(image), { crop, resize: Math.round((crop * 256) / 224) });
  const logits = noGrad(() => model.forward(x));
  const best = topK(logits.data, k).map(({ index, probability }) => ({ label: IMAGENET_CLASSES[index], probability }));
  log(`${image}: ${opts.model}`);
  best.forEach((b, i) => log(`${String(i + 1).padStart(2)}. ${b.label.padEnd(30)} ${(100 * b.probability).toFixed(2)}%`));
  return best;
}

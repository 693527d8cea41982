import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import ndarray from 'ndarray';
import { runModelsList, runPredict, runSummary, parseInputShape } from '../src/cli/models';
import { RandomState } from '../src/core/random';
import { readPngRgb } from '../src/data/imageFile';
import { DataFormatError } from '../src/data/errors';
import { createModel, IMAGENET_CLASSES, imagenetInput, listModels, topK } from '../src/models';
import { saveSafetensors } from '../src/nn';
import { writePng } from '../src/vis/grid';

const dir = mkdtempSync(join(tmpdir(), 'cli-models-'));

describe('cs231n models / summary / predict', () => {
  it('lists every registered model with params and MACs', () => {
    const lines: string[] = [];
    runModelsList((s) => lines.push(s));
    expect(lines[0]).toMatch(/^model\s+input\s+params\s+MACs/);
    for (const e of listModels()) expect(lines.some((l) => l.startsWith(`${e.name} `))).toBe(true);
    expect(lines.find((l) => l.startsWith('resnet18 '))).toMatch(/11,689,512\s+1,814,073,344/);
  });

  it('summary prints the layer table for a given input', () => {
    const out: string[] = [];
    runSummary('resnet18_cifar', { input: '3x32x32' }, (s) => out.push(s));
    expect(out.join('\n')).toMatch(/Total params: 11,173,962/);
    expect(() => parseInputShape('3x0x32')).toThrow(/--input: expected CxHxW/);
  });

  it('predict loads safetensors weights strictly and prints the top-5 ImageNet classes of a PNG', () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    const model = createModel('resnet18', { rng: new RandomState(0) });
    const weights = join(dir, 'resnet18.safetensors');
    saveSafetensors(weights, model.stateDict());
    const rng = new RandomState(1);
    const img = ndarray(Float64Array.from(rng.randint(0, 256, 40 * 60 * 3).data), [40, 60, 3]);
    const png = join(dir, 'img.png');
    writePng(png, img);
    expect(readPngRgb(png).shape).toEqual([40, 60, 3]);
    const lines: string[] = [];
    const best = runPredict(png, { model: 'resnet18', weights }, (s) => lines.push(s));
    expect(best).toHaveLength(5);
    expect(lines).toHaveLength(6);
    for (let i = 1; i < 5; i++) expect(best[i].probability).toBeLessThanOrEqual(best[i - 1].probability);
    expect(IMAGENET_CLASSES).toContain(best[0].label);
  });

  it('refuses a corrupt PNG, weights of another model, and non-finite scores', () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, Buffer.from('not a png at all, just text'));
    expect(() => readPngRgb(bad)).toThrow(DataFormatError);
    const weights = join(dir, 'small.safetensors');
    saveSafetensors(weights, createModel('resnet18_cifar', { init: false }).stateDict());
    const png = join(dir, 'one.png');
    writePng(png, ndarray(new Float64Array(8 * 8 * 3).fill(128), [8, 8, 3]));
    expect(() => runPredict(png, { model: 'resnet18', weights }, () => {})).toThrow(/does not fit the model/);
    expect(() => topK([0.5, NaN, 1], 2)).toThrow(/element 1 is NaN/);
  });

  it('imagenetInput resizes the shorter side, centre-crops and normalises', () => {
    const grey = ndarray(new Uint8Array(300 * 400 * 3).fill(255), [300, 400, 3]);
    const x = imagenetInput(grey);
    expect(x.shape).toEqual([1, 3, 224, 224]);
    expect(x.get(0, 0, 0, 0)).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(x.get(0, 2, 223, 223)).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });
});

/* The architecture comparison (assignments/cnn/architectures.ts) in its --quick form on the mini CIFAR. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARCHITECTURES, epochsForBudget, parseArchitecturesArgs, script, type ArchitecturesOptions } from '../assignments/cnn/architectures';
import { CNN_SCRIPTS } from '../assignments/cnn';
import { runAssignment } from '../assignments/common';

const MINI = path.resolve(__dirname, '..', '..', 'shared', 'data', 'cifar-10-mini');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-arch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('--quick compares the available architectures on the mini CIFAR, lists the missing ones as not available', async () => {
  const lines: string[] = [];
  const opts: ArchitecturesOptions = {
    data: MINI, out: tmp, quick: true, seed: 0, budget: 0.5, print: (l) => lines.push(l),
    architectures: [{ title: 'Imaginary Net', names: ['imaginary_net_cifar'] }, { title: 'ShuffleNet V2', names: ['shufflenet_v2_cifar'] }],
  };
  const report = await runAssignment(script, opts);
  expect(report.failures).toEqual([]);
  const out = lines.join('\n');
  expect(out).toMatch(/data: CIFAR-10 \(4660 train \/ 932 test, a subset\)/);
  expect(out).toMatch(/Imaginary Net: not available \(none of imaginary_net_cifar is in the model registry yet\)/);
  const row = lines.find((l) => /^ShuffleNet V2\s+shufflenet_v2_cifar/.test(l)) as string;
  const cells = row.trim().split(/\s{2,}/);
  expect(cells[2]).toBe('1263854'); // kuangliu ShuffleNetV2(1), cnn-chapters.md §C.1
  expect(cells[3]).toBe('45002112');
  expect(Number(cells[6])).toBeGreaterThanOrEqual(1);
  const dir = path.join(tmp, 'architectures');
  for (const f of ['accuracy_vs_epoch.svg', 'accuracy_vs_time.svg']) expect(fs.readFileSync(path.join(dir, f), 'utf8')).toMatch(/^<svg/);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  expect(html).toMatch(/<td>Imaginary Net<\/td><td>not available<\/td>/);
  expect(fs.readFileSync(path.join(dir, 'shufflenet_v2_cifar', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(Number(cells[6]));
});

test('the seven architectures of the issue, registered in CNN_SCRIPTS; budget arithmetic and flags', () => {
  expect(ARCHITECTURES.map((a) => a.title)).toEqual(['VGG16', 'ResNet-18', 'MobileNet V1', 'MobileNet V2', 'ShuffleNet V1 (g=3)', 'ShuffleNet V2', 'EfficientNet-B0']);
  expect(CNN_SCRIPTS).toContain(script);
  expect([epochsForBudget(600, 250), epochsForBudget(600, 50), epochsForBudget(1e6, 1)]).toEqual([2, 12, 200]);
  expect(epochsForBudget(10, 100)).toBe(1);
  const o = parseArchitecturesArgs(['node', 'architectures', '--budget', '5m', '--quick', '--models=resnet18_cifar,shufflenet_v2_cifar', '--dataset', 'fashion-mnist']);
  expect([o.budget, o.quick, o.models, o.dataset]).toEqual([300, true, ['resnet18_cifar', 'shufflenet_v2_cifar'], 'fashion-mnist']);
  expect(() => parseArchitecturesArgs(['node', 'a', '--budget', 'long'])).toThrow(/^--budget: expected a duration/);
  expect(() => parseArchitecturesArgs(['node', 'a', '--dataset', 'svhn'])).toThrow(/^--dataset: expected cifar10, fashion-mnist or mnist/);
});

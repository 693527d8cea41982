/*
 * The assignment-2 scripts on the embedded MNIST digits (what runs when no CIFAR-10 is found):
 * 1×28×28 images, so every net must take the data's real dims rather than 3×32×32. The conv
 * script runs here (the one where the dims matter most: conv, pool and W2 sizes); the three
 * fully connected scripts only reshape their input, and run here with --quick as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAssignment, type AssignmentScript } from '../assignments/common';
import batchNormalization from '../assignments/assignment2/batchNormalization';
import convolutionalNetworks from '../assignments/assignment2/convolutionalNetworks';
import dropout from '../assignments/assignment2/dropout';
import fullyConnectedNets from '../assignments/assignment2/fullyConnectedNets';
import { loadEmbeddedMnist } from '../src/data/mnistEmbedded';
import type { BestDataset } from '../src/data/resolve';

let tmp: string;
let best: BestDataset;
beforeAll(() => {
  process.env.CS231N_QUIET = '1';
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'a2-mnist-'));
  best = { dataset: loadEmbeddedMnist(), location: null, description: 'embedded MNIST digits (test)' };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(script: AssignmentScript): Promise<string> {
  const report = await runAssignment(script, { out: tmp, quick: true, seed: 0, print: () => {} }, best);
  expect(report.failures).toEqual([]);
  const dir = path.join(tmp, script.name);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const figures = Array.from(html.matchAll(/<img src="([^"]+)"/g), (m) => m[1]);
  expect(figures.length).toBeGreaterThan(0);
  for (const f of figures) expect(fs.statSync(path.join(dir, f)).size).toBeGreaterThan(500);
  expect(html).toContain('images 1×28×28');
  return html;
}

test('convolutionalNetworks on MNIST: 1-channel filters, W2 from the 14×14 pooled maps, every check passes', async () => {
  const html = await run(convolutionalNetworks);
  expect(html).toContain('(8×1×3×3)');
});

test('fullyConnectedNets, batchNormalization and dropout on MNIST: input dim 784, every check passes', async () => {
  for (const s of [fullyConnectedNets, batchNormalization, dropout]) await run(s);
});

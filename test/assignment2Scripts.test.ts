/*
 * The four assignment-2 scripts run end to end with --quick on the CIFAR-10 mini set: no failed
 * check, every figure written, report.html present. (assignment2ScriptsMnist.test.ts runs them
 * on the embedded MNIST digits.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAssignment, type AssignmentScript } from '../assignments/common';
import batchNormalization from '../assignments/assignment2/batchNormalization';
import convolutionalNetworks from '../assignments/assignment2/convolutionalNetworks';
import dropout from '../assignments/assignment2/dropout';
import fullyConnectedNets from '../assignments/assignment2/fullyConnectedNets';

const data = path.resolve(__dirname, '../../shared/data/cifar-10-mini');
let tmp: string;
beforeAll(() => {
  process.env.CS231N_QUIET = '1';
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'a2-scripts-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Figures referenced by report.html, each checked to exist and be non-empty. */
function figuresOf(dir: string): string[] {
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const files = Array.from(html.matchAll(/<img src="([^"]+)"/g), (m) => m[1]);
  for (const f of files) expect(fs.statSync(path.join(dir, f)).size).toBeGreaterThan(500);
  return files;
}

async function runQuick(script: AssignmentScript, minChecks: number, figures: RegExp[]): Promise<void> {
  const lines: string[] = [];
  const report = await runAssignment(script, { data, out: tmp, quick: true, seed: 0, print: (l) => lines.push(l) });
  expect(report.failures).toEqual([]);
  expect(report.checks.length).toBeGreaterThanOrEqual(minChecks);
  expect(lines.some((l) => l.includes('CIFAR-10 (4660 train / 932 test'))).toBe(true);
  const files = figuresOf(path.join(tmp, script.name));
  for (const f of figures) expect(files.some((x) => f.test(x))).toBe(true);
}

test('fullyConnectedNets --quick: every check passes, figures written', async () => {
  await runQuick(fullyConnectedNets, 45, [/^two_layer_loss\.svg$/, /^overfit_3layer_loss\.svg$/, /^overfit_5layer_loss\.svg$/, /^update_rules_loss\.svg$/, /^update_rules_train_acc\.svg$/, /^update_rules_val_acc\.svg$/]);
});

test('batchNormalization --quick: every check passes, figures written', async () => {
  await runQuick(batchNormalization, 60, [/^bn_deep_loss\.svg$/, /^weight_scale_val\.svg$/, /^weight_scale_loss\.svg$/, /^batch_size_batchnorm_train\.svg$/, /^batch_size_layernorm_val\.svg$/]);
});

test('dropout --quick: every check passes, figures written', async () => {
  await runQuick(dropout, 30, [/^dropout_train_acc\.svg$/, /^dropout_val_acc\.svg$/]);
});

test('convolutionalNetworks --quick: every check passes, filter images written', async () => {
  await runQuick(convolutionalNetworks, 40, [/^convnet_filters\.png$/, /^conv_filters_aside\.png$/, /^convnet_overfit_train_acc\.svg$/]);
  const png = fs.readFileSync(path.join(tmp, 'convolutionalNetworks', 'convnet_filters.png'));
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
});

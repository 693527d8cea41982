#!/usr/bin/env node
import { Command } from 'commander';
import { runDataDownload } from './dataDownload';
import { runDataInfo } from './dataInfo';
import { runModelsList, runPredict, runSummary } from './models';
import { runStart } from './start';

/** The `cs231n` command line: `data info`, `data download`, `start`. */
export function buildProgram(): Command {
  const program = new Command('cs231n').description('cs231n assignments in TypeScript').showHelpAfterError();
  const data = program.command('data').description('find, download and inspect datasets');
  data
    .command('info')
    .description('list the datasets found and write a grid of 40 sample images (4 per class)')
    .option('--data <dir>', 'an explicit data directory, searched first')
    .option('--out <dir>', 'where to write samples.png/.txt/.html', 'out/data-info')
    .action((o: { data?: string; out: string }) => {
      runDataInfo({ data: o.data, out: o.out });
    });
  data
    .command('download')
    .description('download a dataset (official source, MD5-checked, unpacked atomically)')
    .argument('<dataset>', 'cifar10 | cifar10-bin | fashion-mnist | mnist')
    .option('--dest <dir>', 'install directory (default: $CS231N_DATA, else ~/.cache/cs231n-ts)')
    .option('--force', 'replace an existing copy')
    .option('--url <url>', 'a mirror URL instead of the official source')
    .action(async (name: string, o: { dest?: string; force?: boolean; url?: string }) => {
      await runDataDownload(name, o);
    });
  program
    .command('start')
    .description("run assignment 1's notebooks (kNN, SVM, softmax, two-layer net, features) on the best data found")
    .option('--data <dir>', 'an explicit data directory, searched first')
    .option('--out <dir>', 'output directory (one sub-directory per notebook)', 'out')
    .option('--quick', 'small subsets and few iterations', false)
    .option('--seed <n>', 'seed of every random choice', '0')
    .option('--only <names>', 'comma-separated notebooks to run (knn,svm,softmax,twoLayerNet,features)')
    .action(async (o: { data?: string; out: string; quick: boolean; seed: string; only?: string }) => {
      const seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new RangeError(`--seed: expected an integer in [0, 2**32-1], got ${o.seed}`);
      const r = await runStart({ data: o.data, out: o.out, quick: o.quick, seed, only: o.only?.split(',').map((s) => s.trim()) });
      if (r.failures.length) process.exitCode = 1;
    });
  program
    .command('models')
    .description('list every model of the zoo with its default input, parameters and MACs')
    .action(() => runModelsList());
  program
    .command('summary')
    .description('print the layer table of a model (output shapes, parameters, MACs)')
    .argument('<model>', 'a name from `cs231n models`')
    .option('--input <CxHxW>', 'input shape without the batch axis, e.g. 3x224x224 (default: the model\'s)')
    .option('--num-classes <k>', 'classifier outputs (default: the model\'s)')
    .action((name: string, o: { input?: string; numClasses?: string }) => runSummary(name, o));
  program
    .command('predict')
    .description('classify a PNG with ImageNet weights (safetensors with torchvision\'s names) and print the top classes')
    .argument('<image>', 'a PNG file')
    .requiredOption('--model <name>', 'a torchvision model name, e.g. resnet18')
    .requiredOption('--weights <file>', 'the model\'s ImageNet weights as .safetensors')
    .option('--top <k>', 'how many classes to print', '5')
    .action((image: string, o: { model: string; weights: string; top?: string }) => {
      runPredict(image, o);
    });
  return program;
}

/** Runs the CLI; errors print one line and exit with status 1. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();

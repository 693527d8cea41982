#!/usr/bin/env node
import { Command } from 'commander';
import { runDataDownload } from './dataDownload';
import { runDataInfo } from './dataInfo';
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
    .description('run the main job on the best data found (today: data info)')
    .option('--data <dir>', 'an explicit data directory, searched first')
    .option('--out <dir>', 'output directory', 'out/data-info')
    .action(async (o: { data?: string; out: string }) => {
      await runStart(o);
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

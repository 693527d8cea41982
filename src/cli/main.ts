import { Command } from 'commander';
import { runDataDownload } from './dataDownload';
import { runDataInfo } from './dataInfo';
import { runModelsList, runPredict, runSummary } from './models';
import { addScriptOptions, allScripts, findScripts, parseSeed, runScripts, scriptOptionsFrom } from './runScripts';
import type { ScriptFamily } from './script';
import { runStart } from './start';
import { registerTrainCommands } from './train';

/*
 * The `cs231n` command line: `list`, `run`, `start`, `data info`, `data download`. The script
 * families are handed in by the entry point (assignments/cli.ts), so the library never imports
 * the assignments and a new family only needs registering there.
 */

/** `cs231n list`: one line per script, grouped by family. */
export function listScripts(families: readonly ScriptFamily[]): string[] {
  const width = Math.max(0, ...allScripts(families).map((f) => f.script.name.length));
  return families.flatMap((f) => [`${f.title} (${f.folder})`, ...f.scripts.map((s) => `  ${s.name.padEnd(width)}  ${s.description}${s.usesBackend ? ' [--backend]' : ''}`), '']);
}

/** The `cs231n` program over the given script families. */
export function buildProgram(families: readonly ScriptFamily[] = []): Command {
  const program = new Command('cs231n').description('cs231n assignments in TypeScript').showHelpAfterError();
  program
    .command('list')
    .description('list every notebook script with a line on what it does')
    .action(() => {
      for (const line of listScripts(families)) console.log(line);
    });
  addScriptOptions(
    program
      .command('run')
      .description('run notebook scripts by name (see `cs231n list`), on data chosen once; the --quick run of all of them takes a few minutes on two cores')
      .argument('<names...>', 'script names, e.g. knn convolutionalNetworks'),
    { backend: true },
  ).action(async (names: string[], o: Parameters<typeof scriptOptionsFrom>[0]) => {
    const opts = scriptOptionsFrom(o);
    const r = await runScripts(findScripts(families, names), opts);
    if (r.failures.length) process.exitCode = 1;
  });
  program
    .command('start')
    .description(`run the main job (${families[0]?.title ?? 'no scripts registered'}: ${families[0]?.scripts.map((s) => s.name).join(', ') ?? ''}) on the best data found`)
    .option('--data <dir>', 'an explicit data directory, searched first')
    .option('--out <dir>', 'output directory (one sub-directory per notebook)', 'out')
    .option('--quick', 'small subsets and few iterations', false)
    .option('--seed <n>', 'seed of every random choice', '0')
    .option('--only <names>', 'comma-separated notebooks to run instead (any names from `cs231n list`)')
    .action(async (o: { data?: string; out: string; quick: boolean; seed: string; only?: string }) => {
      const r = await runStart(families, { data: o.data, out: o.out, quick: o.quick, seed: parseSeed(o.seed), only: o.only?.split(',').map((s) => s.trim()) });
      if (r.failures.length) process.exitCode = 1;
    });
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
  registerTrainCommands(program);
  return program;
}

/** Runs the CLI; errors print one line and exit with status 1. */
export async function main(argv: string[] = process.argv, families: readonly ScriptFamily[] = []): Promise<void> {
  try {
    await buildProgram(families).parseAsync(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

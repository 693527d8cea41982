import { Command } from 'commander';
import { addScriptOptions, runScript, scriptOptionsFrom } from '../src/cli/runScripts';
import type { AssignmentScript, ScriptOptions } from '../src/cli/script';

/*
 * What a script run directly (`npx tsx assignments/<folder>/<name>.ts …`) shares: the same
 * command line as `cs231n run` and the exit status (non-zero when a check failed or the script
 * threw). The script contract itself lives in src/cli/script.ts.
 */

export type { AssignmentScript, ScriptContext, ScriptFamily, ScriptOptions } from '../src/cli/script';

/** Runs one script (choosing the data when `best` is absent); returns its written report. */
export const runAssignment = runScript;

/** Parses the shared command line of a script run directly. */
export function parseScriptArgs(name: string, description: string, argv: string[] = process.argv, opts: { backend?: boolean } = {}): ScriptOptions {
  const program = addScriptOptions(new Command(name).description(description), { backend: opts.backend ?? false }).showHelpAfterError();
  program.parse(argv);
  return scriptOptionsFrom(program.opts());
}

/** Entry point of a script run directly: parse argv, run, set the exit status; errors are one line. */
export function main(script: AssignmentScript, description: string = script.description): void {
  let opts: ScriptOptions;
  try {
    opts = parseScriptArgs(script.name, description, process.argv, { backend: script.usesBackend });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  exitWith(runScript(script, opts));
}

/** Sets the exit status of a direct run from its report: failed checks or an error, each said in one line. */
export function exitWith(run: Promise<{ failures: string[] }>): void {
  run
    .then((report) => {
      if (report.failures.length) {
        console.error(`${report.failures.length} check(s) failed: ${report.failures.join(', ')}`);
        process.exitCode = 1;
      }
    })
    .catch((err: Error) => {
      console.error(`error: ${err.message}`);
      if (process.env.CS231N_DEBUG) console.error(err.stack);
      process.exitCode = 1;
    });
}

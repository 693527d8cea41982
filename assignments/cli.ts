import { main } from '../src/cli/main';
import { SCRIPT_FAMILIES } from './registry';

/*
 * The `cs231n` command with every registered script family: what bin/cs231n.js starts
 * (`npx cs231n …`, `npm start`). It sits beside the assignments, not in src/, so that the
 * library never depends on them.
 */

/** Runs `cs231n` on `argv` with every registered family. */
export function runCli(argv: string[] = process.argv): Promise<void> {
  return main(argv, SCRIPT_FAMILIES);
}

if (require.main === module) void runCli();

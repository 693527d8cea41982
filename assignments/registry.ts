import type { ScriptFamily } from '../src/cli/script';
import { ASSIGNMENT1 } from './assignment1';
import { ASSIGNMENT2 } from './assignment2';
import { CNN } from './cnn';

/*
 * Every script family the `cs231n` command knows, in the order `cs231n list` shows them. A new
 * family (e.g. assignments/cnn exporting `CNN_SCRIPTS: readonly AssignmentScript[]`) is added
 * here with one import and one entry; the CLI itself does not change.
 */
export const SCRIPT_FAMILIES: readonly ScriptFamily[] = [ASSIGNMENT1, ASSIGNMENT2, CNN];

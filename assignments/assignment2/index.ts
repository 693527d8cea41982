import type { AssignmentScript, ScriptFamily } from '../../src/cli/script';
import { script as fullyConnectedNets } from './fullyConnectedNets';
import { script as batchNormalization } from './batchNormalization';
import { script as dropout } from './dropout';
import { script as convolutionalNetworks } from './convolutionalNetworks';

/** Assignment 2's notebooks in the assignment's order. */
export const ASSIGNMENT2_SCRIPTS: readonly AssignmentScript[] = [fullyConnectedNets, batchNormalization, dropout, convolutionalNetworks];

/** Assignment 2 as registered with the CLI. */
export const ASSIGNMENT2: ScriptFamily = { name: 'assignment2', title: 'assignment 2', folder: 'assignments/assignment2', scripts: ASSIGNMENT2_SCRIPTS };

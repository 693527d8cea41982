#!/usr/bin/env node
'use strict';
/*
 * The `cs231n` executable. In a checkout (sources present, tsx installed by `npm install`) it
 * runs the TypeScript sources directly, so `npx cs231n …` works without a build and never runs
 * a stale dist/; an installed package runs its compiled dist/.
 */
const fs = require('node:fs');
const path = require('node:path');

// `cs231n list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const root = path.join(__dirname, '..');
const source = path.join(root, 'assignments', 'cli.ts');

function tsxRegister() {
  try {
    return require('tsx/cjs/api').register;
  } catch {
    return null;
  }
}

const register = fs.existsSync(source) ? tsxRegister() : null;
let cli;
if (register) {
  register();
  cli = require(source);
} else {
  cli = require(path.join(root, 'dist', 'assignments', 'cli.js'));
}
cli.runCli(process.argv);

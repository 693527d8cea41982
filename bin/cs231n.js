#!/usr/bin/env node
'use strict';
/*
 * The `cs231n` executable. In a checkout (sources present, tsx installed by `npm install`) it
 * runs the TypeScript sources directly, so `npx cs231n …` works without a build and never runs
 * a stale dist/; an installed package runs its compiled dist/.
 */
const fs = require('node:fs');
const path = require('node:path');

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

#!/usr/bin/env node
'use strict';
/*
 * Builds the optional native float32 kernels (native/sgemm.c: GEMM tiles; native/batchnorm.c:
 * batch-norm rows) into
 * native/build/sgemm-<platform>-<arch>.node with the system's C compiler ($CC, else cc).
 *
 *   node native/build.js              build, or exit 1 saying why not
 *   node native/build.js --optional   the same, but never fail (npm install runs this)
 *
 * Only x86-64 Linux and macOS (the kernels are AVX-512 / AVX2 intrinsics; Windows would need
 * node's import library). Without a compiler nothing is built and the WebAssembly kernels run,
 * as everywhere else; src/core/gemm/native.ts finds the file at run time. The module is
 * loaded once in a child process before it is put in place (written to a temporary file,
 * then renamed), so a broken build never reaches the package.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const optional = process.argv.includes('--optional');
const quiet = process.env.CS231N_QUIET === '1';
const dir = path.join(__dirname, 'build');
const out = path.join(dir, `sgemm-${process.platform}-${process.arch}.node`);

function done(ok, message) {
  if (!quiet || !ok) console.log(`cs231n-ts native kernels: ${message}`);
  process.exit(ok || optional ? 0 : 1);
}

if (process.env.CS231N_NATIVE !== undefined && /^(0|off|false|no)$/i.test(process.env.CS231N_NATIVE.trim())) {
  done(true, 'skipped (CS231N_NATIVE=0)');
}
if (process.arch !== 'x64' || (process.platform !== 'linux' && process.platform !== 'darwin')) {
  done(optional, `not built on ${process.platform}-${process.arch} (x86-64 Linux and macOS only); the WebAssembly kernels run`);
}
const cc = process.env.CC || 'cc';
const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  done(optional, `not built: no C compiler (${cc}); the WebAssembly kernels run (install gcc or clang, then \`npm run build:native\`)`);
}
fs.mkdirSync(dir, { recursive: true });
const tmp = path.join(dir, `.sgemm-${process.pid}.tmp.node`); // .node: require loads it as an add-on
const args = ['-O3', '-ffp-contract=off', '-fPIC', '-shared', '-std=gnu11', '-o', tmp, path.join(__dirname, 'sgemm.c'), path.join(__dirname, 'batchnorm.c')];
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
const r = spawnSync(cc, args, { encoding: 'utf8' });
if (r.error || r.status !== 0) {
  fs.rmSync(tmp, { force: true });
  done(optional, `build failed (${cc} ${args.join(' ')}):\n${(r.stderr || String(r.error)).trim()}`);
}
// Load it once, away from this process, before it replaces anything.
const check = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(tmp)}); process.stdout.write(m.features());`], { encoding: 'utf8' });
if (check.status !== 0) {
  fs.rmSync(tmp, { force: true });
  done(optional, `built but could not be loaded: ${(check.stderr || '').trim().split('\n')[0]}`);
}
fs.renameSync(tmp, out);
done(true, `built ${path.relative(process.cwd(), out)} (this CPU: ${check.stdout || 'unknown'})`);

/*
 * Serves a page with gpu.js's browser bundle and the browser-safe part of src/gpu (transpiled
 * as it is, behind a tiny CommonJS loader) on 127.0.0.1, and opens it in headless Chromium
 * through playwright-core. Used by test/gpuBrowser.test.ts and bench/gpu.ts.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import ts from 'typescript';
import { chromium, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
/** The flags the project runs Chromium with (no background traffic on a closed network). */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A headless Chromium to launch: where it is, with which flags, and where it came from. */
export interface ChromiumBinary {
  executablePath: string;
  args: string[];
  source: 'system' | 'npm';
}

/**
 * The system's Chromium when there is one (Debian's package, as .ci/run installs), else the
 * headless build that the npm package @sparticuz/chromium ships inside itself (a devDependency,
 * so `npm install` brings it on any x64 Linux machine; it unpacks to the temp directory on
 * first use). Its own flags are kept because they select SwiftShader for WebGL, which a
 * machine without a GPU needs.
 */
export async function findChromium(): Promise<ChromiumBinary> {
  if (fs.existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: CHROMIUM_FLAGS, source: 'system' };
  let pkg: { executablePath(): Promise<string>; args: string[] };
  try {
    const mod = require('@sparticuz/chromium');
    pkg = mod.default ?? mod;
  } catch (e) {
    throw new Error(`no Chromium: ${SYSTEM_CHROMIUM} does not exist and the npm package @sparticuz/chromium cannot be loaded (${(e as Error).message}); run npm install, or apt-get install chromium`);
  }
  const executablePath = await pkg.executablePath();
  // Playwright passes its own headless flag; the package's --headless='shell' would clash with it.
  const args = [...new Set([...CHROMIUM_FLAGS, ...pkg.args.filter((a) => !a.startsWith('--headless'))])];
  return { executablePath, args, source: 'npm' };
}

const ROOT = path.join(__dirname, '..');
/** The browser-safe part of src/gpu (kernels, plans, the runner) and what it imports, as paths under src/. */
const MODULES = ['layers/softmaxRow', 'gpu/kernelSource', 'gpu/kernelCall', 'gpu/matView', 'gpu/tiling', 'gpu/gemmSteps', 'gpu/distanceSteps', 'gpu/linearLossSteps', 'gpu/voteSteps', 'gpu/runner'];

/** Each module transpiled to CommonJS and wrapped for the page's loader. */
function moduleBundle(): string {
  const parts = MODULES.map((file) => {
    const name = path.basename(file);
    const src = fs.readFileSync(path.join(ROOT, 'src', `${file}.ts`), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    return `__define(${JSON.stringify(name)}, function (module, exports, require) {\n${js}\n});`;
  });
  return parts.join('\n');
}

/** The page: gpu.js, the loader (`__require('runner')` …), the modules, then `script`. */
function pageHtml(script: string): string {
  return `<!doctype html><meta charset="utf-8"><title>cs231n-ts gpu.js</title>
<script src="/gpu-browser.js"></script>
<script>
  const defs = {}, cache = {};
  function __define(name, fn) { defs[name] = fn; }
  function __require(name) {
    if (name === 'gpu.js') return window.GPU;
    // Modules are keyed by file name: './runner' and '../layers/softmaxRow' alike.
    const key = name.replace(/^.*\\//, '');
    if (cache[key]) return cache[key].exports;
    if (!defs[key]) throw new Error('no module ' + name);
    const m = { exports: {} };
    cache[key] = m;
    defs[key](m, m.exports, __require);
    return m.exports;
  }
</script>
<script src="/modules.js"></script>
<script src="/page.js"></script>`;
}

/** An open page and how to close everything. */
export interface GpuPage {
  page: Page;
  close(): Promise<void>;
}

/**
 * Serves the page with `script` and opens it in a fresh Chromium profile ({@link findChromium}).
 * Throws (so a test fails, never skips) when no Chromium runs or the page has no gpu.js WebGL2.
 */
export async function openGpuPage(script: string): Promise<GpuPage> {
  const browser = await findChromium();
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html', body: pageHtml(script) },
    '/gpu-browser.js': { type: 'text/javascript', body: fs.readFileSync(require.resolve('gpu.js/dist/gpu-browser.js')) },
    '/modules.js': { type: 'text/javascript', body: moduleBundle() },
    '/page.js': { type: 'text/javascript', body: script },
  };
  const server = http.createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type }).end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-chromium-'));
  const close = async (): Promise<void> => {
    await context?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: browser.executablePath, headless: true, args: browser.args });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    const ready = await page.evaluate(() => !!(globalThis as unknown as { GPU?: { isWebGL2Supported?: boolean } }).GPU?.isWebGL2Supported);
    if (!ready || errors.length) throw new Error(`the page did not load gpu.js with WebGL2 (${errors.join('; ') || 'no WebGL2 context'})`);
    return { page, close };
  } catch (e) {
    await close();
    throw e;
  }
}

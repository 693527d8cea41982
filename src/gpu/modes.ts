/*
 * Which gpu.js modes exist on this machine, and why the others do not. Node-side: it loads
 * gpu.js and probes the optional native packages (`gl`, `webgpu`) with Node's own require.
 */
import { createRequire } from 'node:module';
import type { GpuJsModule } from './gpujsTypes';

/** A gpu.js backend. */
export type GpuMode = 'webgl2' | 'webgl' | 'headlessgl' | 'webgpu' | 'webasm' | 'cpu';
/** What a Backend runs: a gpu.js backend, or this package's pure-TypeScript kernels. */
export type BackendMode = GpuMode | 'ts';
/** What a caller may ask for. */
export type RequestedMode = BackendMode | 'auto';

/** Every mode name a caller may pass. */
export const REQUESTED_MODES: readonly RequestedMode[] = ['auto', 'webgl2', 'webgl', 'headlessgl', 'webgpu', 'webasm', 'cpu', 'ts'];

/** Modes that run on a graphics device (a real GPU, or a software GL/Vulkan implementation). */
export const DEVICE_MODES: readonly GpuMode[] = ['webgpu', 'headlessgl', 'webgl2', 'webgl'];

/** Thrown when the requested mode cannot run here; names the mode and the reason. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly mode: RequestedMode,
    readonly reason: string,
  ) {
    super(`backend mode '${mode}' is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * Node's real `require`, also under jest: its module registry cannot load the ES-module
 * `webgpu` package nor report native-addon failures faithfully.
 */
function nodeRequire(): NodeJS.Require | null {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  try {
    return createRequire(__filename);
  } catch {
    return null;
  }
}

let gpujsModule: GpuJsModule | null = null;

/** gpu.js, loaded on first use (importing this package does not load it). */
export function loadGpuJs(): GpuJsModule {
  if (gpujsModule) return gpujsModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    gpujsModule = require('gpu.js') as GpuJsModule;
  } catch (e) {
    throw new BackendUnavailableError('auto', `the gpu.js package could not be loaded (${firstLine(e)}); run npm install gpu.js`);
  }
  return gpujsModule;
}

const GL_BUILD_NEEDS =
  'its native build needs python3, make, g++ and the OpenGL/X11 headers (Debian: libxi-dev libglu1-mesa-dev libglew-dev pkg-config), and a display (xvfb-run) when headless';

/** Why headless-gl cannot run, or null when it can. */
export function headlessGlReason(mod: GpuJsModule): string | null {
  if (mod.GPU.isHeadlessGLSupported) return null;
  const req = nodeRequire();
  if (!req) return 'headless-gl exists only in Node';
  try {
    req.resolve('gl');
  } catch {
    return `the optional package 'gl' is not installed (npm skips it when its native build fails; ${GL_BUILD_NEEDS})`;
  }
  try {
    req('gl');
  } catch (e) {
    return `the package 'gl' is installed but does not load (${firstLine(e)}); ${GL_BUILD_NEEDS}`;
  }
  return "the package 'gl' loads but could not create an OpenGL context (no display? run under xvfb-run)";
}

/** Why WebGPU cannot run (synchronously decidable part), or null when it may. */
export function webgpuReason(): string | null {
  if (hasNavigatorGpu()) return null;
  const req = nodeRequire();
  if (!req) return 'navigator.gpu is missing (this browser has no WebGPU)';
  try {
    req.resolve('webgpu');
  } catch {
    return "navigator.gpu is missing and the package 'webgpu' (Dawn for Node) is not installed";
  }
  try {
    req('webgpu');
  } catch (e) {
    return `navigator.gpu is missing and the package 'webgpu' (Dawn for Node) does not load here: ${firstLine(e)}`;
  }
  return null;
}

/** Why a gpu.js mode cannot run (synchronous checks only), or null when it can. */
export function unavailableReason(mod: GpuJsModule, mode: GpuMode): string | null {
  switch (mode) {
    case 'cpu':
      return null;
    case 'webasm':
      return mod.GPU.isWebAssemblySupported ? null : 'this JavaScript runtime has no WebAssembly';
    case 'headlessgl':
      return headlessGlReason(mod);
    case 'webgl2':
      if (mod.GPU.isWebGL2Supported) return null;
      return nodeRequire() ? 'WebGL2 exists only in a browser; in Node ask for headlessgl' : 'this browser gives no WebGL2 context';
    case 'webgl':
      if (mod.GPU.isWebGLSupported) return null;
      return nodeRequire() ? 'WebGL exists only in a browser; in Node ask for headlessgl' : 'this browser gives no WebGL context';
    case 'webgpu':
      return webgpuReason();
  }
}

/**
 * In Node, installs Dawn (package `webgpu`) as `navigator.gpu` with its globals (GPUBufferUsage
 * …), as that package documents; gpu.js looks for exactly these. Idempotent.
 */
export function installNodeWebGpu(): void {
  if (hasNavigatorGpu()) return;
  const req = nodeRequire();
  if (!req) throw new BackendUnavailableError('webgpu', 'navigator.gpu is missing (this browser has no WebGPU)');
  const reason = webgpuReason();
  if (reason) throw new BackendUnavailableError('webgpu', reason);
  const dawn = req('webgpu') as { create(flags: string[]): unknown; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: dawn.create([]), configurable: true });
  else g.navigator = { gpu: dawn.create([]) };
}

function hasNavigatorGpu(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return !!nav && !!nav.gpu;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

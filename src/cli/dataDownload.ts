import { DOWNLOADS, defaultDownloadDir, downloadDataset, type DownloadName } from '../data/download';

/** Options of {@link runDataDownload} (the CLI flags). */
export interface DataDownloadOptions {
  dest?: string;
  force?: boolean;
  /** A mirror: archive URL, or base URL for the MNIST-format files. */
  url?: string;
  log?: (line: string) => void;
}

/** `cs231n data download <name>`: fetch, check and install one dataset; returns its directory. */
export async function runDataDownload(name: string, opts: DataDownloadOptions = {}): Promise<string> {
  const log = opts.log ?? ((s: string) => console.log(s));
  if (!(name in DOWNLOADS)) {
    throw new Error(`dataset: expected one of ${Object.keys(DOWNLOADS).join(', ')}, got ${name}`);
  }
  const dest = opts.dest ?? defaultDownloadDir();
  const spec = DOWNLOADS[name as DownloadName];
  log(`Downloading ${name} from ${opts.url ?? spec.url} into ${dest}`);
  const res = await downloadDataset(name as DownloadName, { dest, force: opts.force, url: opts.url });
  if (res.alreadyPresent) log(`${name} is already at ${res.dir} (use --force to download it again)`);
  else log(`Installed ${name} at ${res.dir} (${(res.bytes / 1e6).toFixed(1)} MB fetched, MD5 checked)`);
  return res.dir;
}

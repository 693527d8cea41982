import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';

/** Progress of one fetch. */
export interface FetchProgress {
  /** Name shown to the user. */
  file: string;
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

/** Options of {@link fetchToFile}. */
export interface FetchOptions {
  onProgress?: (p: FetchProgress) => void;
  /** Name for progress reports (default: the URL). */
  file?: string;
  /** Redirects still allowed (default 5). */
  redirects?: number;
  /** Abort when no data arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
}

/**
 * Streams an HTTP(S) GET into `file`, hashing as it goes, following redirects. Rejects —
 * with the URL in the message — on a non-200 status, a socket error, an idle timeout, or a
 * body shorter than its Content-Length (a connection cut mid-file). The caller owns `file`
 * and must delete it on failure.
 */
export function fetchToFile(url: string, file: string, opts: FetchOptions = {}): Promise<{ bytes: number; md5: string }> {
  const redirects = opts.redirects ?? 5;
  const name = opts.file ?? url;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      fail(new Error(`url: expected an http(s) URL, got ${url}`));
      return;
    }
    const mod = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
    if (!mod) {
      fail(new Error(`url: expected an http(s) URL, got ${url}`));
      return;
    }
    const req = mod.get(parsed, { headers: { 'user-agent': 'cs231n-ts' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return fail(new Error(`GET ${url}: too many redirects`));
        const next = new URL(res.headers.location, url).toString();
        settled = true;
        fetchToFile(next, file, { ...opts, redirects: redirects - 1 }).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        return fail(new Error(`GET ${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim()));
      }
      const len = res.headers['content-length'];
      const total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
      const hash = crypto.createHash('md5');
      let received = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          received += chunk.length;
          opts.onProgress?.({ file: name, received, total });
          cb(null, chunk);
        },
      });
      pipeline(res, meter, fs.createWriteStream(file)).then(
        () => {
          if (total !== undefined && received !== total) {
            fail(new Error(`GET ${url}: connection closed after ${received} of ${total} bytes`));
          } else if (!res.complete) {
            fail(new Error(`GET ${url}: connection closed after ${received} bytes before the response was complete`));
          } else if (!settled) {
            settled = true;
            resolve({ bytes: received, md5: hash.digest('hex') });
          }
        },
        (e: Error) => {
          const of = total !== undefined ? ` of ${total}` : '';
          fail(new Error(`GET ${url}: connection failed after ${received}${of} bytes (${e.message})`));
        },
      );
    });
    req.setTimeout(opts.idleTimeoutMs ?? 60000, () => req.destroy(new Error(`no data for ${(opts.idleTimeoutMs ?? 60000) / 1000} s`)));
    req.on('error', (e) => fail(new Error(`GET ${url}: ${e.message}`)));
  });
}

import cliProgress from 'cli-progress';

/** A running progress indicator. */
export interface Progress {
  /** Advance by `n` steps, optionally updating the trailing text (e.g. `loss 2.31`). */
  tick(n?: number, status?: string): void;
  /** Finish and release the terminal line. */
  stop(): void;
}

/** Options of {@link progressBar}. */
export interface ProgressOptions {
  /** Text before the bar. */
  label?: string;
  /** Force on/off; default: on when stderr is a TTY and `CS231N_QUIET` is not set. */
  enabled?: boolean;
}

/**
 * A progress bar on stderr for long loops. Off when stderr is not a terminal (CI logs, jest),
 * so captured output stays readable; `CS231N_QUIET=1` silences it too.
 */
export function progressBar(total: number, opts: ProgressOptions = {}): Progress {
  const enabled = opts.enabled ?? (Boolean(process.stderr.isTTY) && !process.env.CS231N_QUIET);
  if (!enabled) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${opts.label ? opts.label + ' ' : ''}[{bar}] {percentage}% {value}/{total} eta {eta_formatted} {status}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { status: '' });
  let done = 0;
  return {
    tick(n = 1, status?: string) {
      done += n;
      bar.update(done, status === undefined ? {} : { status });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * A data file that is missing, truncated, corrupt or mislabeled. The message always starts
 * with the file (or directory) name, then says what is wrong, so a user can find and replace it.
 */
export class DataFormatError extends Error {
  constructor(
    /** The offending file or directory. */
    readonly file: string,
    /** What is wrong with it. */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataFormatError';
  }
}

/** Errors the CLI reports as a usage problem (exit code 2) rather than a failure. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

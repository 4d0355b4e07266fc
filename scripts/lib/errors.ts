/** Errors of `npm run diff`. The CLI maps {@link UsageError} to exit status 2 and every other error to 1. */
export class TemplateDiffError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateDiffError';
  }
}

/** Bad command-line usage: exit status 2. */
export class UsageError extends TemplateDiffError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Synthesis or git failed: exit status 1. */
export class SynthError extends TemplateDiffError {
  constructor(message: string) {
    super(message);
    this.name = 'SynthError';
  }
}

/** A cloud assembly directory that cannot be read: exit status 1. */
export class CloudAssemblyError extends TemplateDiffError {
  constructor(message: string) {
    super(message);
    this.name = 'CloudAssemblyError';
  }
}

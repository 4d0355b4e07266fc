/**
 * Errors of `npm run template-diff`. The CLI prints a {@link UsageError} (the shared one of every Redstream CLI) as
 * bad usage, exit 2; a {@link TemplateDiffError} as one line, exit 1; anything else is a bug and shows its stack.
 */
export { UsageError } from '../../lambda/ops/command-line';

export class TemplateDiffError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateDiffError';
  }
}

/** Synthesis or git failed. */
export class SynthError extends TemplateDiffError {
  constructor(message: string) {
    super(message);
    this.name = 'SynthError';
  }
}

/** A cloud assembly directory that cannot be read. */
export class CloudAssemblyError extends TemplateDiffError {
  constructor(message: string) {
    super(message);
    this.name = 'CloudAssemblyError';
  }
}

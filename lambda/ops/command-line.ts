/**
 * The command-line conventions every Redstream CLI follows (`npm run ops`, `npm run demo`, `npm run template-diff`),
 * so a user learns them once:
 * - options are parsed by `node:util` `parseArgs` (strict: an unknown option, a missing value, a value given to a
 *   switch, a stray argument or a repeated option is bad usage);
 * - `-h`/`--help` prints the usage on standard output and exits 0;
 * - every error is one line on standard error, `<prog>: error: <message>`; a usage error adds
 *   `; run with --help for usage`;
 * - exit 2 means bad usage and nothing else; a configuration error (a broken cdk.json), a refused or failed
 *   operation, an AWS or synth error exit 1; a command may define more specific codes above 2 (the demo's 3).
 */
import { parseArgs } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad command-line usage: exit 2, one line that points to `--help`. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The options a command accepts, in `parseArgs` form (no `multiple`, no defaults: absent is `undefined`). */
export type OptionSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string }>>;

/** The parsed values: a string option's value, `true` for a switch that was given, `undefined` when absent. */
export type OptionValues<O extends OptionSpec> = { readonly [K in keyof O]?: O[K]['type'] extends 'string' ? string : true };

export interface ParsedCommandLine<O extends OptionSpec> {
  readonly values: OptionValues<O>;
  readonly positionals: readonly string[];
}

/** `parseArgs` messages are several lines and vary across Node versions: one stable line per error code. */
function translate(err: unknown, explainUnknown?: (name: string) => string | undefined): UsageError {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const explained = option?.startsWith('--') ? explainUnknown?.(option.slice(2)) : undefined;
      return new UsageError(explained ?? `unknown option ${option ?? message}`);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? message)}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return new UsageError(`option ${option} takes no value`);
      // "ambiguous": the next argument starts with a dash, so it is taken for an option rather than the value.
      if (/ambiguous/.test(message)) return new UsageError(`option ${option} needs a value (write a value that starts with a dash as ${option}=-…)`);
      return new UsageError(`option ${option} needs a value`);
    default:
      return new UsageError(message.split('\n')[0]);
  }
}

/**
 * Parses `argv` against `options`; throws a {@link UsageError} with one line on bad usage. Positional arguments are
 * refused unless `maxPositionals` allows them. `explainUnknown` may give a better message for an unknown `--name`
 * (e.g. an option of another command).
 */
export function parseCommandLine<O extends OptionSpec>(
  argv: readonly string[],
  options: O,
  maxPositionals = 0,
  explainUnknown?: (name: string) => string | undefined,
): ParsedCommandLine<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: maxPositionals > 0, tokens: true });
  } catch (err) {
    throw translate(err, explainUnknown);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`option --${token.name} is given twice`);
    seen.add(token.name);
    if (token.value === '') throw new UsageError(`option --${token.name} needs a value`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`);
  }
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/** The one line printed for a usage error. */
export function usageErrorLine(prog: string, message: string): string {
  return `${prog}: error: ${message}; run with --help for usage`;
}

/** The one line printed for any other error. */
export function errorLine(prog: string, message: string): string {
  return `${prog}: error: ${message}`;
}

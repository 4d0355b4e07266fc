/**
 * Command-line parsing for `npm run template-diff`: pure, so the usage rules are unit-tested.
 */
import { parseCommandLine } from '../../lambda/ops/command-line';
import { UsageError } from './errors';

export const USAGE = `Usage: npm run template-diff -- [--base REF | --from DIR --to DIR] [--markdown] [--out FILE]

Synthesizes the app at git revision REF (in a temporary worktree that reuses this checkout's node_modules) and
the working tree, offline, and prints a per-stack CloudFormation template diff: stacks and resources added,
removed, replaced, changed properties, and IAM and security-group changes in sections of their own.

Options:
  --base REF     git revision to compare against (default: origin/main if it exists, else HEAD)
  --from DIR     compare two existing cloud assembly directories instead of synthesizing
  --to DIR         (both --from and --to are required in this mode)
  --markdown     GitHub-flavoured Markdown (for $GITHUB_STEP_SUMMARY) instead of plain text
  --out FILE     write the diff to FILE instead of standard output
  -h, --help     show this help

Exit status: 0 whether or not there are differences, 1 on failure (e.g. a synth error), 2 on bad usage.
`;

export { UsageError } from './errors';

export type DiffSource =
  /** Synthesize git revision `base` (undefined: the default base) and the working tree. */
  | { readonly kind: 'git'; readonly base?: string }
  /** Compare two existing cloud assembly directories. */
  | { readonly kind: 'assemblies'; readonly from: string; readonly to: string };

export type CliCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'diff';
      readonly source: DiffSource;
      readonly format: 'text' | 'markdown';
      readonly out?: string;
    };

function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`--${name} needs a value`);
  return value;
}

/** Parses the arguments after `--` (process.argv.slice(2)); throws {@link UsageError} on bad usage. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let values;
  try {
    ({ values } = parseCommandLine(argv, {
      base: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      markdown: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) return { kind: 'help' };
  const base = nonEmpty('base', values.base);
  const from = nonEmpty('from', values.from);
  const to = nonEmpty('to', values.to);
  const out = nonEmpty('out', values.out);
  if ((from === undefined) !== (to === undefined)) {
    throw new UsageError('--from and --to go together: give both cloud assembly directories');
  }
  if (from !== undefined && base !== undefined) {
    throw new UsageError('--base cannot be combined with --from/--to');
  }
  const source: DiffSource =
    from !== undefined && to !== undefined
      ? { kind: 'assemblies', from, to }
      : { kind: 'git', ...(base !== undefined ? { base } : {}) };
  return {
    kind: 'diff',
    source,
    format: values.markdown === true ? 'markdown' : 'text',
    ...(out !== undefined ? { out } : {}),
  };
}

/**
 * Command-line parsing for `npm run template-diff`: pure, so the usage rules are unit-tested.
 */
import { parseCommandLine } from '../../lambda/ops/command-line';
import { UsageError } from './errors';
import type { FailOn } from './template-diff';

export const USAGE = `Usage: npm run template-diff -- [--base REF] [--head-out DIR] [--markdown] [--out FILE] [--fail-on CHECKS]
       npm run template-diff -- --from DIR --to DIR [--markdown] [--out FILE] [--fail-on CHECKS]

Compares the CloudFormation templates this checkout synthesizes with those of git revision REF, offline, stack by
stack, with the CDK's own diff library (@aws-cdk/cloudformation-diff): resources added, removed and replaced (from the
CloudFormation specification), property changes, IAM statement and security-group changes, permission broadening.
It adds warnings the library lacks (a replacement that keeps a custom name fails; a retained resource is left
behind), construct paths, and masks asset hashes. Not \`cdk diff\`, which compares with the deployed stacks.

REF is synthesized in a temporary git worktree that reuses this checkout's node_modules; no AWS account is used.

Options:
  --base REF        git revision to compare against (default: origin/main if it exists, else HEAD)
  --head-out DIR    use this already synthesized cloud assembly (e.g. cdk.out) for the checkout instead of
                    synthesizing it again
  --from DIR        compare two existing cloud assembly directories instead (--from and --to go together)
  --to DIR
  --markdown        GitHub Markdown, one collapsible section per stack (for $GITHUB_STEP_SUMMARY)
  --out FILE        write the diff to FILE instead of standard output
  --fail-on CHECKS  exit 3 when a check fails; CHECKS is a comma-separated list of
                      destructive  a resource is removed, replaced (or may be), orphaned, or a stack is removed
                      broadening   IAM permissions or security-group rules are added (the library's verdict)
                      none         no check (the default)
  -h, --help        show this help

Exit status: 0 done (with or without differences), 1 failure (git, synth, unreadable assembly), 2 bad usage,
3 a --fail-on check failed (the diff is still printed).
`;

export { UsageError } from './errors';

export type DiffSource =
  /** Synthesize git revision `base` (undefined: the default base) and, unless `headOut` is given, the checkout. */
  | { readonly kind: 'git'; readonly base?: string; readonly headOut?: string }
  /** Compare two existing cloud assembly directories. */
  | { readonly kind: 'assemblies'; readonly from: string; readonly to: string };

export type CliCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'diff';
      readonly source: DiffSource;
      readonly format: 'text' | 'markdown';
      readonly out?: string;
      readonly failOn: readonly FailOn[];
    };

const CHECKS: readonly string[] = ['destructive', 'broadening', 'none'];

function parseFailOn(raw: string | undefined): FailOn[] {
  if (raw === undefined) return [];
  const checks = raw.split(',').map((c) => c.trim());
  const bad = checks.find((c) => !CHECKS.includes(c));
  if (bad !== undefined) throw new UsageError(`--fail-on ${JSON.stringify(bad)}: expected destructive, broadening or none (comma-separated)`);
  return [...new Set(checks.filter((c): c is FailOn => c !== 'none'))];
}

/** Parses the arguments after `--` (process.argv.slice(2)); throws {@link UsageError} on bad usage. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const { values } = parseCommandLine(argv, {
    base: { type: 'string' },
    'head-out': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    markdown: { type: 'boolean' },
    out: { type: 'string' },
    'fail-on': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) return { kind: 'help' };
  const { base, from, to, out } = values;
  const headOut = values['head-out'];
  if ((from === undefined) !== (to === undefined)) throw new UsageError('--from and --to go together: give both cloud assembly directories');
  if (from !== undefined && base !== undefined) throw new UsageError('--base cannot be combined with --from/--to');
  if (from !== undefined && headOut !== undefined) throw new UsageError('--head-out cannot be combined with --from/--to (--to names the new assembly)');
  const source: DiffSource =
    from !== undefined && to !== undefined ? { kind: 'assemblies', from, to } : { kind: 'git', ...(base !== undefined ? { base } : {}), ...(headOut !== undefined ? { headOut } : {}) };
  return { kind: 'diff', source, format: values.markdown === true ? 'markdown' : 'text', ...(out !== undefined ? { out } : {}), failOn: parseFailOn(values['fail-on']) };
}

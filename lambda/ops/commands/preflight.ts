/**
 * `npm run ops -- preflight --env E`: read-only checks of what a first deploy of E needs from the account (Lambda
 * concurrency, Kinesis quotas, the warehouse's AZ IDs, names already taken) in every Region; exit 1 with what to fix.
 * The checks are lambda/ops/preflight.ts; the AWS calls lambda/ops/preflight-adapters.ts.
 */
import { parseEnvironment } from '../../../lib/config';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../command-line';
import { CliDeps, ConfigurationError, defineCommand } from '../context';
import { awsPreflightProbes } from '../preflight-adapters';
import { formatPreflight, runPreflight } from '../preflight';

export const USAGE = `preflight --env NAME [--json]
  read-only checks before a first deploy, in every Region of the environment: Lambda concurrency quota (a
  reservation must leave 100 unreserved), Kinesis shard and on-demand stream quotas, the warehouse's AZ IDs
  (exist, available, Kinesis endpoint offered there; Redshift Serverless support is a warning to confirm by hand),
  and whether the stream, table, namespace and workgroup names are free or already this environment's.
  Exit 0 ready (warnings allowed), 1 something to fix (printed with the fix).`;

export const preflightCommand = defineCommand({
  name: 'preflight',
  summary: 'read-only checks of the account before a deploy (quotas, AZ IDs, names); exit 1 with what to fix',
  usage: USAGE,
  options: { env: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, deps: CliDeps) {
    const envName = args.env ?? deps.env.REDSTREAM_ENV;
    if (envName === undefined) throw new UsageError('no environment: pass --env NAME or set REDSTREAM_ENV');
    const raw = deps.loadEnvironments();
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigurationError('cdk.json has no redstream:environments context');
    const envs = raw as Record<string, unknown>;
    if (!(envName in envs)) throw new UsageError(`unknown environment ${JSON.stringify(envName)} (environments: ${Object.keys(envs).join(', ')})`);
    const report = await runPreflight(parseEnvironment(envName, envs[envName]), deps.preflightProbes ?? awsPreflightProbes());
    deps.stdout(args.json ? JSON.stringify(report, null, 2) : formatPreflight(report));
    return report.exitCode === 0 ? EXIT_OK : EXIT_FAILED;
  },
});

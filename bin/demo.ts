/**
 * `npm run demo`: Redstream's whole data path on this machine, with a failover drill (see the README, "Local pipeline").
 * The only place the demo reads files and arguments: cdk.json's `dev` environment, the command line.
 * Exit codes: 0 report OK, 1 the demo could not run (or the input file is unreadable), 2 bad arguments,
 * 3 the report's checks failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, resolveEnvironments } from '../lib/config';
import { formatReport, runDemo } from '../local/demo';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from '../local/demo-options';
import { stopAllPipelines } from '../local/pipeline';

// Ctrl-C, a kill or a closed pipe (`npm run demo | head`) still stops DynamoDB Local and the workers.
let exiting = false;
function exitAfterCleanup(code: number): void {
  if (exiting) return;
  exiting = true;
  void stopAllPipelines().finally(() => process.exit(code));
}
process.once('SIGINT', () => exitAfterCleanup(130));
process.once('SIGTERM', () => exitAfterCleanup(143));
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exitAfterCleanup(141);
  });
}

// The AWS SDK warns once per process that future versions need Node 22; on the supported Node 20 that is noise in a
// demo's output (the project's engines field says >=20). Every other warning is printed as usual.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((...args: unknown[]) => {
  if (args.some((a) => (typeof a === 'string' ? a : JSON.stringify(a ?? null)).includes('NodeVersionSupportWarning'))) return;
  emitWarning(...args);
}) as typeof process.emitWarning;

/** The environment the demo runs: its Regions, streams and settings come from cdk.json. */
const DEMO_ENVIRONMENT = 'dev';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseDemoArgs(argv);
  } catch (err) {
    if (err instanceof DemoUsageError) {
      process.stderr.write(`demo: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  const cdkJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const [config] = resolveEnvironments(cdkJson.context[ENVIRONMENTS_CONTEXT_KEY], DEMO_ENVIRONMENT);
  try {
    const { report } = await runDemo(options, config, {
      progress: (line) => process.stderr.write(line),
      interactive: process.stderr.isTTY === true,
      functionLog: process.env.REDSTREAM_DEBUG ? (region, line) => process.stderr.write(`[replicator ${region}] ${line}\n`) : undefined,
    });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (options.out !== undefined) process.stderr.write(`wrote events.ndjson, rejects.ndjson and report.json to ${options.out}\n`);
    return report.ok ? 0 : 3;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const expected = ['InputFileError', 'DemoFailedError'].includes(e.name);
    process.stderr.write(`demo: ${expected ? e.message : `${e.name}: ${e.message}`}\n`);
    if (!expected && process.env.REDSTREAM_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

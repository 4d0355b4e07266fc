/**
 * `npm run demo`: Redstream's whole data path on this machine, with a failover drill (see the README, "Local pipeline").
 * The only place the demo reads files and arguments: cdk.json's `dev` environment (REDSTREAM_CDK_JSON names another
 * file), the command line.
 * Exit codes: 0 report OK, 1 the demo could not run (or the input file or cdk.json is unreadable), 2 bad usage,
 * 3 the report's checks failed. Errors are one line, `demo: error: ...` (lambda/ops/command-line.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, resolveEnvironments } from '../lib/config';
import { formatReport, runDemo } from '../local/demo';
import { DEMO_USAGE, parseDemoArgs } from '../local/demo-options';
import { errorLine, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, usageErrorLine } from '../lambda/ops/command-line';
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

// The SDK's notice that its 2027 releases need Node 22 says nothing about the demo on the supported Node 20.19+
// (package.json engines); its own documented switch turns it off (set it to false to see it). The SDK reads it when a
// client is created, after this line; worker threads inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PROG = 'demo';
/** The demo ran but its report's checks failed. */
const EXIT_CHECKS_FAILED = 3;

/** The environment the demo runs: its Regions, streams and settings come from cdk.json. */
const DEMO_ENVIRONMENT = 'dev';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseDemoArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${usageErrorLine(PROG, err.message)}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return EXIT_OK;
  }
  const cdkJsonFile = process.env.REDSTREAM_CDK_JSON ?? path.resolve(__dirname, '..', 'cdk.json');
  let context: Record<string, unknown> | undefined;
  try {
    context = (JSON.parse(fs.readFileSync(cdkJsonFile, 'utf8')) as { context?: Record<string, unknown> }).context;
  } catch (err) {
    process.stderr.write(`${errorLine(PROG, `cannot read ${cdkJsonFile}: ${(err as Error).message}`)}\n`);
    return EXIT_FAILED;
  }
  // A ConfigError names the field and the fix; the handler at the bottom prints it as a configuration error (exit 1).
  const [config] = resolveEnvironments(context?.[ENVIRONMENTS_CONTEXT_KEY], DEMO_ENVIRONMENT);
  try {
    const { report } = await runDemo(options, config, {
      progress: (line) => process.stderr.write(line),
      interactive: process.stderr.isTTY === true,
      functionLog: process.env.REDSTREAM_DEBUG ? (region, line) => process.stderr.write(`[replicator ${region}] ${line}\n`) : undefined,
    });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (options.out !== undefined) process.stderr.write(`wrote events.ndjson, rejects.ndjson and report.json to ${options.out}\n`);
    return report.ok ? EXIT_OK : EXIT_CHECKS_FAILED;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const expected = ['InputFileError', 'DemoFailedError'].includes(e.name);
    process.stderr.write(`${errorLine(PROG, expected ? e.message : `${e.name}: ${e.message}`)}\n`);
    if (!expected && process.env.REDSTREAM_DEBUG) process.stderr.write(`${e.stack}\n`);
    return EXIT_FAILED;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${errorLine(PROG, err instanceof Error ? err.message : String(err))}\n`);
    process.exit(EXIT_FAILED);
  },
);

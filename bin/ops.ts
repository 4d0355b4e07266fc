#!/usr/bin/env -S npx tsx
/**
 * Redstream operator CLI: `npm run ops -- <command> [options]` (see `--help`; commands in lambda/ops/commands/).
 * A thin wrapper: reads cdk.json and the process environment, then runs lambda/ops/cli.ts with real AWS clients
 * (default credential chain; AWS_ENDPOINT_URL_* point it at local emulators).
 *
 * Against the local world of `npm run demo -- --serve` (README, "Game day"): `--local` sets the variables of its state
 * file (`.redstream/serve.json`, or REDSTREAM_SERVE_DIR) for this run, as pasting its `export` lines does. With
 * REDSTREAM_LOCAL_WORLD set (one of those lines; REDSTREAM_LOCAL_WORLD_TOKEN, another, lets it in), every command
 * says on stderr which local world it acts on, the operator's clock is the local world's (its clock skew fault),
 * preflight skips what has no local stand-in, erase reaches the warehouse through the serve mode's control endpoint
 * instead of the Redshift Data API (local/serve-warehouse.ts), and rebuild refuses (see LOCAL_REFUSALS).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY } from '../lib/config';
import { CliDeps, runCli } from '../lambda/ops/cli';
import { errorLine, EXIT_FAILED } from '../lambda/ops/command-line';
import { ConfigurationError } from '../lambda/ops/context';
import { awsFactories } from '../lambda/ops/commands/erase';
import { localPreflightProbes } from '../local/preflight-probes';
import { TOKEN_VARIABLE } from '../local/serve-auth';
import { controlState, readServeState } from '../local/serve-ctl';
import { serveEraseFactories } from '../local/serve-warehouse';

// The SDK's notice that its 2027 releases need Node 22 would interrupt an operator on the still-supported Node 20.19+
// (README, "Requirements"); its own documented switch turns it off (set it to false to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function loadEnvironments(): unknown {
  const file = process.env.REDSTREAM_CDK_JSON ?? path.join(__dirname, '..', 'cdk.json');
  let cdkJson: { context?: Record<string, unknown> };
  try {
    cdkJson = JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  } catch (err) {
    throw new ConfigurationError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return cdkJson.context?.[ENVIRONMENTS_CONTEXT_KEY];
}

/**
 * Commands the local world cannot serve, and why. `rebuild` empties the warehouse and replays into it, which is only
 * sound with the warehouse's merge schedule stopped (README, "Rebuild a warehouse from the archive"); the serve mode's
 * merges run on their own schedule inside the serve process, and the command builds its Data API warehouse itself.
 */
const LOCAL_REFUSALS: Readonly<Record<string, string>> = {
  rebuild:
    'rebuild needs its warehouse\'s merge schedule stopped while it empties and refills the tables, and the merges of `npm run demo -- --serve` run on their own schedule in the serve process; ' +
    'rehearse a rebuild locally with `npm run demo -- --no-failover --rebuild-from-archive` (the same rebuild over PGlite)',
};

/** The CLI's dependencies in the local world (REDSTREAM_LOCAL_WORLD set); exits 1 when it cannot serve the command. */
async function localWorld(argv: readonly string[], control: string, token: string, base: CliDeps): Promise<Partial<CliDeps> | number> {
  const command = argv[0];
  if (command === undefined || argv.includes('-h') || argv.includes('--help')) return {};
  // Which world this command acts on, every time: an operator with both a real and a local terminal open must see it.
  process.stderr.write(`local world: ${control} (npm run demo -- --serve)\n`);
  if (command in LOCAL_REFUSALS) {
    process.stderr.write(`${errorLine('ops', `${command} does not run against the local world: ${LOCAL_REFUSALS[command]}`)}\n`);
    return EXIT_FAILED;
  }
  const { clockSkewMs, warehouse } = await controlState(control, token);
  if (clockSkewMs !== 0) process.stderr.write(`local world: this operator's clock runs ${Math.abs(clockSkewMs) / 1000} s ${clockSkewMs > 0 ? 'ahead of' : 'behind'} the Regions' (ctl clock-skew)\n`);
  return {
    clock: () => Date.now() + clockSkewMs,
    ...(command === 'preflight' ? { preflightProbes: localPreflightProbes() } : {}),
    // The warehouse is PGlite in the serve process, reached through its control endpoint instead of the Data API; the
    // archive is the local S3 (AWS_ENDPOINT_URL_S3), as in AWS.
    ...(command === 'erase' ? { eraseFactories: serveEraseFactories(control, token, warehouse, awsFactories(undefined, base).archives) } : {}),
  };
}

async function main(): Promise<number> {
  let argv = process.argv.slice(2);
  try {
    if (argv.includes('--local')) {
      argv = argv.filter((a) => a !== '--local');
      const state = readServeState(process.env.REDSTREAM_SERVE_DIR ?? path.join(__dirname, '..', '.redstream'));
      Object.assign(process.env, state.env);
    }
    const base: CliDeps = {
      stdout: (text) => process.stdout.write(`${text}\n`),
      stderr: (text) => process.stderr.write(`${text}\n`),
      stderrWrite: (chunk) => process.stderr.write(chunk),
      interactive: process.stderr.isTTY === true,
      loadEnvironments,
      env: process.env,
    };
    let local: Partial<CliDeps> = {};
    const control = process.env.REDSTREAM_LOCAL_WORLD;
    if (control) {
      const r = await localWorld(argv, control, process.env[TOKEN_VARIABLE] ?? '', base);
      if (typeof r === 'number') return r;
      local = r;
    }
    return await runCli(argv, { ...base, ...local });
  } catch (err) {
    // The local world's state file or control endpoint (runCli itself never throws).
    process.stderr.write(`${errorLine('ops', err instanceof Error ? err.message : String(err))}\n`);
    return EXIT_FAILED;
  }
}

void main().then((code) => {
  // Keep-alive sockets of the SDK clients would hold the process open.
  process.exit(code);
});

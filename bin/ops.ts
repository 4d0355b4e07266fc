#!/usr/bin/env -S npx tsx
/**
 * Redstream operator CLI: `npm run ops -- <command> [options]` (see `--help`; commands in lambda/ops/commands/).
 * A thin wrapper: reads cdk.json and the process environment, then runs lambda/ops/cli.ts with real AWS clients
 * (default credential chain; AWS_ENDPOINT_URL_* point it at local emulators).
 *
 * Against the local world of `npm run demo -- --serve` (README, "Game day"): `--local` sets the variables of its state
 * file (`.redstream/serve.json`, or REDSTREAM_SERVE_DIR) for this run, as pasting its `export` lines does. With
 * REDSTREAM_LOCAL_WORLD set (one of those lines), the operator's clock is the local world's (its clock skew fault),
 * preflight skips what has no local stand-in, and erase and rebuild, which need the Redshift Data API, refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY } from '../lib/config';
import { CliDeps, runCli } from '../lambda/ops/cli';
import { errorLine, EXIT_FAILED } from '../lambda/ops/command-line';
import { ConfigurationError } from '../lambda/ops/context';
import { localPreflightProbes } from '../local/preflight-probes';
import { controlState, readServeState } from '../local/serve-ctl';

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

/** Commands that need the Redshift Data API, which the local world does not stand in for. */
const NEEDS_DATA_API: Readonly<Record<string, string>> = {
  erase: 'rehearse an erasure locally with `npm run demo -- --no-failover --erase-subject ID` (the same erasure over PGlite)',
  rebuild: 'rehearse a rebuild locally with `npm run demo -- --no-failover --rebuild-from-archive` (the same rebuild over PGlite)',
};

/** The CLI's dependencies in the local world (REDSTREAM_LOCAL_WORLD set); exits 1 when it cannot serve the command. */
async function localWorld(argv: readonly string[], control: string): Promise<Partial<CliDeps> | number> {
  const command = argv[0];
  if (command === undefined || argv.includes('-h') || argv.includes('--help')) return {};
  if (command in NEEDS_DATA_API) {
    process.stderr.write(
      `${errorLine('ops', `${command} needs the Redshift Data API, and the local world of \`npm run demo -- --serve\` has no stand-in for it (its warehouse is PGlite in the serve process); ${NEEDS_DATA_API[command]}`)}\n`,
    );
    return EXIT_FAILED;
  }
  const { clockSkewMs } = await controlState(control);
  if (clockSkewMs !== 0) process.stderr.write(`local world: this operator's clock runs ${Math.abs(clockSkewMs) / 1000} s ${clockSkewMs > 0 ? 'ahead of' : 'behind'} the Regions' (ctl clock-skew)\n`);
  return {
    clock: () => Date.now() + clockSkewMs,
    ...(command === 'preflight' ? { preflightProbes: localPreflightProbes() } : {}),
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
    let local: Partial<CliDeps> = {};
    const control = process.env.REDSTREAM_LOCAL_WORLD;
    if (control) {
      const r = await localWorld(argv, control);
      if (typeof r === 'number') return r;
      local = r;
    }
    return await runCli(argv, {
      stdout: (text) => process.stdout.write(`${text}\n`),
      stderr: (text) => process.stderr.write(`${text}\n`),
      stderrWrite: (chunk) => process.stderr.write(chunk),
      interactive: process.stderr.isTTY === true,
      loadEnvironments,
      env: process.env,
      ...local,
    });
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

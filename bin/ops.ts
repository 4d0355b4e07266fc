#!/usr/bin/env -S npx tsx
/**
 * Redstream operator CLI: `npm run ops -- <command> [options]` (see `--help`; commands in lambda/ops/commands/).
 * A thin wrapper: reads cdk.json and the process environment, then runs lambda/ops/cli.ts with real AWS clients
 * (default credential chain; AWS_ENDPOINT_URL_* point it at local emulators).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY } from '../lib/config';
import { runCli } from '../lambda/ops/cli';
import { ConfigurationError } from '../lambda/ops/context';

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

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  stderrWrite: (chunk) => process.stderr.write(chunk),
  interactive: process.stderr.isTTY === true,
  loadEnvironments,
  env: process.env,
}).then((code) => {
  // Keep-alive sockets of the SDK clients would hold the process open.
  process.exit(code);
});

#!/usr/bin/env -S npx tsx
/**
 * Redstream operator CLI: `npm run ops -- <status|failover|failback> [options]` (see `--help`).
 * A thin wrapper: reads cdk.json and the process environment, then runs lib/ops/cli.ts with real AWS clients
 * (default credential chain; AWS_ENDPOINT_URL_* point it at local emulators).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY } from '../lib/config';
import { runCli } from '../lib/ops/cli';

function loadEnvironments(): unknown {
  const file = process.env.REDSTREAM_CDK_JSON ?? path.join(__dirname, '..', 'cdk.json');
  const cdkJson = JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context?.[ENVIRONMENTS_CONTEXT_KEY];
}

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  loadEnvironments,
  env: process.env,
}).then((code) => {
  // Keep-alive sockets of the SDK clients would hold the process open.
  process.exit(code);
});

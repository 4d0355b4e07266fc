/**
 * `npm run cost -- --env E --events-per-second N --bytes B [--stream NAME] [--on-demand-shards N]
 * [--warehouse-hours H] [--json] [-h]`: a monthly cost estimate of one environment of cdk.json at a steady load.
 * The model is lib/cost/model.ts (pure), the command lib/cost/command.ts; this entry only wires the process to it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCostCommand } from '../lib/cost/command';

process.exitCode = runCostCommand(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readCdkJson: () => JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> },
});

/**
 * The operator CLI (`npm run ops -- <command> [options]`) as a testable function: `runCli(argv, deps)` resolves to
 * the exit code and never throws. `bin/ops.ts` passes the real process, cdk.json and AWS clients.
 *
 * Adding a command takes one file and one line:
 *   1. `lambda/ops/commands/<name>.ts` exports `defineCommand({ name, summary, usage, options, run })` (see
 *      ./context.ts `OpsCommand`): `options` in `node:util` parseArgs form (spread `COMMON_OPTIONS` for --env,
 *      --streams, --json and the table names), `usage` its own lines for `--help`, `run(args, deps)` the exit code.
 *      Throw `UsageError` (./command-line.ts) for bad usage; long waits report through ./progress.ts.
 *   2. Add it to `COMMANDS` below (the order is the order of `--help`).
 * The dispatcher does the rest: `-h/--help` (overall or per command), strict option parsing, one-line errors, exit codes.
 *
 * Exit codes: 0 done (including a no-op and a dry run that would succeed); 1 refused, conflict, stalled or failed, or a
 * configuration error (cdk.json unreadable or invalid); 2 bad usage (unknown command or option, missing value,
 * unknown environment, Region or stream), nothing else.
 */
import { ConfigError } from '../../lib/config';
import { InvalidRequestError } from '../failover/errors';
import { errorLine, EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandLine, UsageError, usageErrorLine } from './command-line';
import { eraseCommand } from './commands/erase';
import { failbackCommand } from './commands/failback';
import { failoverCommand } from './commands/failover';
import { rebuildCommand } from './commands/rebuild';
import { preflightCommand } from './commands/preflight';
import { reconcileCommand } from './commands/reconcile';
import { replayCommand } from './commands/replay';
import { statusCommand } from './commands/status';
import { CliDeps, COMMON_USAGE, ConfigurationError, OpsCommand } from './context';

export type { CliDeps } from './context';
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './command-line';

/** Every command, in the order `--help` lists them. */
const COMMANDS: readonly OpsCommand[] = [
  statusCommand,
  failoverCommand,
  failbackCommand,
  reconcileCommand,
  replayCommand,
  eraseCommand,
  rebuildCommand,
  preflightCommand,
];

const PROG = 'ops';
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

const EXIT_CODES = `Exit codes: 0 done (also: nothing to do, dry run OK), 1 refused / conflict / stalled / failed / configuration error,
2 bad usage.`;

export const USAGE = `Usage: npm run ops -- <command> [options]

Commands
${COMMANDS.map((c) => `  ${c.name.padEnd(26)}  ${c.summary}`).join('\n')}

Options of every command
${COMMON_USAGE}

${COMMANDS.map((c) => c.usage).join('\n\n')}

${EXIT_CODES}
AWS access uses the default credential chain (DynamoDB, Kinesis ListShards, Lambda, SNS); AWS_ENDPOINT_URL_DYNAMODB,
AWS_ENDPOINT_URL_KINESIS etc. point it at local emulators. --local (any command) points it at the local world of
\`npm run demo -- --serve\` (README, "Game day").`;

function commandUsage(command: OpsCommand): string {
  return `Usage: npm run ops -- ${command.usage}\n\nOptions of every command\n${COMMON_USAGE}\n\n${EXIT_CODES}`;
}

/** Runs one CLI command; resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first.startsWith('-')) {
      if (argv.includes('-h') || argv.includes('--help')) {
        deps.stdout(USAGE);
        return EXIT_OK;
      }
      throw new UsageError(`no command given: the command comes first (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    }
    const command = COMMANDS.find((c) => c.name === first);
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(first)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    const { values } = parseCommandLine(rest, { ...command.options, ...HELP }, 0, (option) =>
      COMMANDS.some((c) => option in c.options) ? `option --${option} does not apply to ${command.name}` : undefined,
    );
    if (values.help) {
      deps.stdout(commandUsage(command));
      return EXIT_OK;
    }
    return await command.run(values, deps);
  } catch (err) {
    if (err instanceof UsageError || err instanceof InvalidRequestError) {
      deps.stderr(usageErrorLine(PROG, err.message));
      return EXIT_USAGE;
    }
    // ConfigError: cdk.json's environment is invalid (the message names the field and the fix); not bad usage.
    const known = err instanceof ConfigError || err instanceof ConfigurationError;
    deps.stderr(errorLine(PROG, err instanceof Error ? (known ? err.message : `${err.name}: ${err.message}`) : String(err)));
    return EXIT_FAILED;
  }
}

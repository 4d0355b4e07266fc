/**
 * `npm run diff -- --base REF`: offline, per-stack CloudFormation template diff between a git revision and the
 * working tree (or between two cloud assembly directories with --from/--to). See `--help`.
 * Exit status: 0 with or without differences, 1 on failure, 2 on bad usage.
 */
import * as fs from 'node:fs';
import { errorLine, EXIT_FAILED, EXIT_USAGE, usageErrorLine } from '../lambda/ops/command-line';
import { parseCliArgs, USAGE, UsageError, type CliCommand } from './lib/cli-args';
import { readCloudAssembly } from './lib/cloud-assembly';
import { TemplateDiffError } from './lib/errors';
import { synthesizeBaseAndWorkingTree, withTempDir } from './lib/synth';
import { diffAssemblies, renderMarkdown, renderText } from './lib/template-diff';

function render(command: Extract<CliCommand, { kind: 'diff' }>, fromDir: string, toDir: string, title?: string): string {
  const diff = diffAssemblies(readCloudAssembly(fromDir), readCloudAssembly(toDir));
  const body = command.format === 'markdown' ? renderMarkdown(diff) : renderText(diff);
  if (title === undefined) return body;
  return command.format === 'markdown' ? body.replace(/^## Template diff\n/, `## Template diff: ${title}\n`) : `${title}\n${body}`;
}

const PROG = 'template-diff';

function main(argv: readonly string[]): number {
  let command: CliCommand;
  try {
    command = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${usageErrorLine(PROG, e.message)}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const source = command.source;
  const output =
    source.kind === 'assemblies'
      ? render(command, source.from, source.to)
      : withTempDir((tmp) =>
          synthesizeBaseAndWorkingTree(process.cwd(), source.base, tmp, log, ({ base, fromDir, toDir }) =>
            render(command, fromDir, toDir, `${base.ref} (${base.commit.slice(0, 12)}) → working tree`),
          ),
        );
  if (command.out !== undefined) {
    fs.writeFileSync(command.out, output);
    log(`Template diff written to ${command.out}`);
  } else {
    process.stdout.write(output);
  }
  return 0;
}

// Let a Ctrl-C reach the CDK CLI child and the cleanup in `finally` blocks run instead of dying mid-worktree.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`${usageErrorLine(PROG, e.message)}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    // Expected failures (synth, git, unreadable assembly) get one line; anything else is a bug: show the stack.
    const text = e instanceof TemplateDiffError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`${errorLine(PROG, text)}\n`);
    process.exitCode = EXIT_FAILED;
  }
}

/**
 * `npm run template-diff -- --base REF`: offline, per-stack CloudFormation template diff between a git revision and
 * this checkout (or between two cloud assembly directories with --from/--to), on the CDK's own diff library.
 * See `--help`. Exit status: 0 done, 1 failure, 2 bad usage, 3 a --fail-on check failed.
 */
import * as fs from 'node:fs';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { errorLine, EXIT_FAILED, EXIT_OK, EXIT_USAGE, usageErrorLine } from '../lambda/ops/command-line';
import { parseCliArgs, USAGE, UsageError, type CliCommand } from './lib/cli-args';
import { CloudAssemblyError, TemplateDiffError } from './lib/errors';
import { synthesizeBaseAndWorkingTree, withTempDir } from './lib/synth';
import { diffAssemblies, failures, renderMarkdown, renderText, type CfnTemplate, type StackTemplate } from './lib/template-diff';

const PROG = 'template-diff';
const EXIT_CHECK_FAILED = 3;

/** Every stack of the cloud assembly in `dir` (nested Stage assemblies included), with its construct paths. */
function readStacks(dir: string): StackTemplate[] {
  if (!fs.existsSync(`${dir}/manifest.json`)) throw new CloudAssemblyError(`${dir} is not a cloud assembly: it has no manifest.json`);
  let assembly: CloudAssembly;
  try {
    assembly = new CloudAssembly(dir);
  } catch (e) {
    throw new CloudAssemblyError(`cannot read the cloud assembly in ${dir}: ${(e as Error).message}`);
  }
  return assembly.stacksRecursively.map((stack) => ({
    stackName: stack.stackName,
    displayName: stack.displayName,
    environment: stack.environment.name,
    template: stack.template as CfnTemplate,
    constructPaths: Object.fromEntries(
      stack.findMetadataByType('aws:cdk:logicalId').flatMap((m) => (typeof m.data === 'string' ? [[m.data, m.path.replace(/^\//, '')]] : [])),
    ),
  }));
}

function main(argv: readonly string[]): number {
  const command: CliCommand = parseCliArgs(argv);
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const source = command.source;
  const diff = (fromDir: string, toDir: string, title?: string): { text: string; failed: string[] } => {
    const stacks = diffAssemblies(readStacks(fromDir), readStacks(toDir));
    const text = command.format === 'markdown' ? renderMarkdown(stacks, { title }) : renderText(stacks, { title });
    return { text, failed: failures(stacks, command.failOn) };
  };
  const { text, failed } =
    source.kind === 'assemblies'
      ? diff(source.from, source.to)
      : withTempDir((tmp) =>
          synthesizeBaseAndWorkingTree(
            process.cwd(),
            source.base,
            tmp,
            log,
            ({ base, fromDir, toDir }) => diff(fromDir, toDir, `${base.ref} (${base.commit.slice(0, 12)}) → ${source.headOut ?? 'working tree'}`),
            source.headOut,
          ),
        );
  if (command.out !== undefined) {
    fs.writeFileSync(command.out, text);
    log(`Template diff written to ${command.out}`);
  } else {
    process.stdout.write(text);
  }
  if (failed.length > 0) {
    process.stderr.write(`${errorLine(PROG, `--fail-on: ${failed.join('; ')}`)}\n`);
    return EXIT_CHECK_FAILED;
  }
  return EXIT_OK;
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

/**
 * Offline synthesis of the working tree and of a git revision for `npm run template-diff` (`cdk synth` always synthesizes
 * every stack; this CLI version has no `--all` option for synth and warns about it).
 *
 * The base revision is checked out in a temporary `git worktree` whose `node_modules` is a symlink to this
 * checkout's, so no install (and no network) is needed. The CDK CLI's output goes to standard error: standard
 * output carries only the diff (the workflow appends it to `$GITHUB_STEP_SUMMARY`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SynthError, UsageError } from './errors';


/** Runs git and returns its trimmed standard output; throws {@link SynthError} with git's message. */
export function git(args: readonly string[], cwd: string): string {
  try {
    return execFileSync('git', [...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new SynthError(`git ${args.join(' ')} failed: ${stderr !== undefined && stderr !== '' ? stderr : (e as Error).message}`);
  }
}

function gitSucceeds(args: readonly string[], cwd: string): boolean {
  return spawnSync('git', [...args], { cwd, stdio: 'ignore' }).status === 0;
}

export interface ResolvedBase {
  /** The revision as given (or the default chosen). */
  readonly ref: string;
  /** Its commit id. */
  readonly commit: string;
}

/**
 * The commit to compare against: `ref`, or `origin/main` when it exists, else `HEAD`.
 * An unknown `ref` is bad usage ({@link UsageError}).
 */
export function resolveBase(ref: string | undefined, cwd: string): ResolvedBase {
  const chosen = ref ?? (gitSucceeds(['rev-parse', '--verify', '--quiet', 'origin/main^{commit}'], cwd) ? 'origin/main' : 'HEAD');
  if (!gitSucceeds(['rev-parse', '--verify', '--quiet', `${chosen}^{commit}`], cwd)) {
    throw new UsageError(`--base ${chosen}: not a known git revision (fetch it first, e.g. git fetch origin main)`);
  }
  return { ref: chosen, commit: git(['rev-parse', '--verify', `${chosen}^{commit}`], cwd) };
}

/** Runs `cdk synth --all --quiet` in `projectDir` into `outDir`; the CLI's output goes to standard error. */
export function synthesize(projectDir: string, outDir: string): void {
  const result = spawnSync('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '-o', outDir], {
    cwd: projectDir,
    stdio: ['ignore', 2, 2],
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
  });
  if (result.error !== undefined) throw new SynthError(`cannot run the CDK CLI in ${projectDir}: ${result.error.message}`);
  if (result.status !== 0) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
    throw new SynthError(`cdk synth in ${projectDir} ${how}`);
  }
}

/**
 * Checks `commit` out in a temporary worktree, links this checkout's node_modules into it, calls `fn` with the
 * project directory inside the worktree, and removes the worktree afterwards, whatever happens.
 */
export function withWorktree<T>(projectDir: string, commit: string, tmpDir: string, fn: (dir: string) => T): T {
  const top = git(['rev-parse', '--show-toplevel'], projectDir);
  const prefix = git(['rev-parse', '--show-prefix'], projectDir);
  const worktree = path.join(tmpDir, 'base-worktree');
  git(['worktree', 'add', '--detach', '--quiet', worktree, commit], top);
  const baseProject = path.join(worktree, prefix);
  const link = path.join(baseProject, 'node_modules');
  try {
    if (!fs.existsSync(baseProject)) {
      throw new SynthError(`the project directory ${prefix === '' ? '.' : prefix} does not exist at ${commit}`);
    }
    const modules = path.join(projectDir, 'node_modules');
    if (!fs.existsSync(modules)) throw new SynthError(`${modules} does not exist: run npm ci first`);
    if (!fs.existsSync(link)) fs.symlinkSync(fs.realpathSync(modules), link, 'dir');
    return fn(baseProject);
  } finally {
    // Unlink the symlink first so that nothing below can ever delete the shared node_modules.
    if (fs.lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() === true) fs.unlinkSync(link);
    if (!gitSucceeds(['worktree', 'remove', '--force', worktree], top)) {
      fs.rmSync(worktree, { recursive: true, force: true });
      gitSucceeds(['worktree', 'prune'], top);
    }
  }
}

/** A temporary directory, removed after `fn` returns or throws. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-diff-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface SynthesizedPair {
  readonly base: ResolvedBase;
  readonly fromDir: string;
  readonly toDir: string;
}

/**
 * Synthesizes the base revision of `projectDir` into `tmpDir` and, unless `headOut` names an assembly already
 * synthesized from the checkout (CI's `cdk synth` output), the checkout too; then calls `fn`.
 */
export function synthesizeBaseAndWorkingTree<T>(
  projectDir: string,
  ref: string | undefined,
  tmpDir: string,
  log: (line: string) => void,
  fn: (pair: SynthesizedPair) => T,
  headOut?: string,
): T {
  const base = resolveBase(ref, projectDir);
  const fromDir = path.join(tmpDir, 'base.out');
  log(`Synthesizing the base ${base.ref} (${base.commit.slice(0, 12)}) …`);
  withWorktree(projectDir, base.commit, tmpDir, (dir) => synthesize(dir, fromDir));
  if (headOut !== undefined) {
    log(`Using the synthesized checkout in ${headOut}`);
    return fn({ base, fromDir, toDir: headOut });
  }
  const toDir = path.join(tmpDir, 'working-tree.out');
  log('Synthesizing the working tree …');
  synthesize(projectDir, toDir);
  return fn({ base, fromDir, toDir });
}

/**
 * How `npm run <script>` starts Redstream's TypeScript entry points, for tests that run them as processes: the script's
 * shell execs node with tsx as its loader (package.json's scripts), so a signal npm passes on reaches the entry point
 * itself. Without the exec, dash (Debian's sh) would take the signal and die, leaving node running; tsx's own CLI
 * would relay it to a child and SIGKILL that child when it does not acknowledge within 30 ms, as a busy event loop
 * often does not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = path.resolve(__dirname, '../..');

/** tsx's loader as a file URL: `--import tsx` alone resolves from the working directory, which a test may change. */
export const TSX_LOADER = pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href;

/** The command and arguments that run `entry` (a path relative to the repository) as package.json's scripts do. */
export function tsEntry(entry: string, args: readonly string[] = []): [string, string[]] {
  return [process.execPath, ['--import', TSX_LOADER, path.resolve(ROOT, entry), ...args]];
}

/** package.json's scripts. */
export const NPM_SCRIPTS: Readonly<Record<string, string>> = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/**
 * A script's command line made runnable from any directory, in place of `npm run`: its loader and its entry file as
 * absolute paths, without the `exec` (npm runs the script in a shell of its own; here it is one command of a shell).
 */
export function scriptFromAnywhere(script: string): string {
  return script
    .replace(/^exec /, '')
    // The entry first: the loader's URL (the checkout's path) could hold a `.ts` of its own.
    .replace(/(\S+\.ts)\b/, (file) => path.join(ROOT, file))
    .replace(/--import tsx\b/, `--import ${TSX_LOADER}`);
}

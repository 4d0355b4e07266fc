/** Whether any process of the process group `pgid` is still alive (signal 0 to the group). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The exit code of `child` once its output has been read too: 'exit' can come before the last of stdout/stderr (what
 * a grandchild wrote just before the child exited), 'close' comes after both. A process of the group that keeps the
 * pipes open would hold 'close' back, so after `graceMs` the exit code is returned anyway (the caller's checks for
 * processes left behind then say why).
 */
export function exitAfterOutput(child: import('node:child_process').ChildProcess, graceMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    let code: number | null = null;
    let timer: NodeJS.Timeout | undefined;
    child.once('exit', (c) => {
      code = c;
      timer = setTimeout(() => resolve(code), graceMs);
    });
    child.once('close', () => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

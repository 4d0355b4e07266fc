/**
 * Progress for `ops` commands that make people wait (a failover's wait for in-flight forwarding, a replay, a
 * reconcile): on a terminal, one line redrawn in place with a bar and the time left; otherwise (a pipe, a CI log) a
 * plain line at every `stepPercent` and at the end, so logs stay short and greppable.
 *
 * Usage: `const p = startProgress({ label: 'replaying', total: n, unit: 'records', ...progressOutput(deps) });`, then
 * `p.update(done)` as work completes and `p.finish()`; for a timed wait, `countdownSleep(...)`.
 */
import type { Clock, Sleep } from '../failover/ports';

export interface ProgressOutput {
  /** Draw in place on a terminal (true) or print plain lines (false). */
  readonly interactive: boolean;
  /** Writes a chunk as is (no newline added): stderr. */
  readonly write: (chunk: string) => void;
  /** @default Date.now */
  readonly clock?: Clock;
}

export interface ProgressOptions extends ProgressOutput {
  readonly label: string;
  /** Units of work in all (> 0). */
  readonly total: number;
  /** Name of the unit, shown after the counts (`records`, `s`). @default - none */
  readonly unit?: string;
  /** Without a terminal, print a line each time this many more percent are done. @default 10 */
  readonly stepPercent?: number;
  /** Bar width in characters on a terminal. @default 24 */
  readonly barWidth?: number;
}

export interface Progress {
  /** Reports that `done` units (of `total`) are complete; values are clamped to [0, total]. */
  update(done: number): void;
  /** Ends the line (terminal) or prints the final line (plain), once. */
  finish(): void;
}

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A text bar `[#####.....]` for `fraction` in [0, 1]. */
export function formatBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function startProgress(options: ProgressOptions): Progress {
  const clock = options.clock ?? Date.now;
  const step = options.stepPercent ?? 10;
  const width = options.barWidth ?? 24;
  const unit = options.unit ? ` ${options.unit}` : '';
  const started = clock();
  let lastStep = -1;
  let done = 0;
  let finished = false;

  const eta = (): string => {
    if (done >= options.total) return 'done';
    if (done <= 0) return 'time left unknown';
    const elapsed = clock() - started;
    return `${formatDuration((elapsed / done) * (options.total - done))} left`;
  };
  const counts = (): string => `${Math.round(done)}/${options.total}${unit}`;
  const percent = (): number => Math.floor((done / options.total) * 100);

  const draw = (): void => {
    if (options.interactive) {
      // \r and "erase to end of line" redraw the same line; the final newline comes with finish().
      options.write(`\r${options.label} ${formatBar(done / options.total, width)} ${String(percent()).padStart(3)}% ${counts()} · ${eta()}\x1b[K`);
      return;
    }
    const at = Math.floor(percent() / step);
    if (at === lastStep) return;
    lastStep = at;
    options.write(`${options.label}: ${percent()}% (${counts()}), ${eta()}\n`);
  };

  draw();
  return {
    update(value: number): void {
      if (finished) return;
      done = Math.min(options.total, Math.max(0, value));
      draw();
    },
    finish(): void {
      if (finished) return;
      finished = true;
      if (options.interactive) options.write('\n');
      else if (done < options.total) options.write(`${options.label}: stopped at ${percent()}% (${counts()})\n`);
    },
  };
}

/**
 * A `sleep` that shows a countdown for every wait of at least `minimumMs`, labelled by `label()` (e.g. the last
 * progress line), ticking once a second through `sleep`; shorter waits pass straight through.
 */
export function countdownSleep(sleep: Sleep, output: ProgressOutput, label: () => string, minimumMs = 5_000): Sleep {
  return async (ms: number) => {
    if (ms < minimumMs) return sleep(ms);
    const seconds = Math.ceil(ms / 1000);
    const p = startProgress({ ...output, label: label(), total: seconds, unit: 's' });
    try {
      let left = ms;
      for (let s = 1; left > 0; s++) {
        const tick = Math.min(1000, left);
        await sleep(tick);
        left -= tick;
        p.update(s);
      }
    } finally {
      p.finish();
    }
  };
}

/**
 * How `npm run demo` (the drill and the serve mode) ends on a signal, a closed pipe or a last-resort error, as a pure
 * state machine (bin/demo.ts performs its actions):
 *
 * - the first signal (SIGINT, SIGTERM, EPIPE, Ctrl-C in raw mode) or an uncaught error starts an orderly stop
 *   (producer, control endpoint, archive, workers, DynamoDB Local) with an overall deadline;
 * - the stop ending exits with the first event's code;
 * - a repeat while stopping (the user pressing Ctrl-C again) or the deadline passing exits at once, with the first
 *   event's code, after killing the DynamoDB Local JVMs synchronously (they would outlive Node otherwise);
 * - but the same signal again within {@link DUPLICATE_SIGNAL_MS} is the first one delivered twice, not a repeat: a
 *   terminal's Ctrl-C reaches the whole foreground process group, npm included, and npm passes SIGINT and SIGTERM on
 *   to its script (here node itself, which the script execs), so every Ctrl-C through `npm run` arrives twice.
 */

/** How long an orderly stop may take before the process is ended anyway (a stop takes a few seconds). */
export const STOP_DEADLINE_MS = 30_000;

/** How soon the same signal again counts as a second delivery of the first (npm's relay takes a few milliseconds). */
export const DUPLICATE_SIGNAL_MS = 500;

export type ShutdownState =
  | { readonly phase: 'running' }
  /** `signalledAtMs`: when the signal that began the stop arrived (for a duplicate delivery of it). */
  | { readonly phase: 'stopping'; readonly code: number; readonly signalledAtMs?: number }
  | { readonly phase: 'exited'; readonly code: number };

export type ShutdownEvent =
  /**
   * A signal, a closed pipe or an uncaught error, with the exit code it ends the process with; `atMs` (a monotonic
   * clock) when it arrived, for the signals npm may deliver twice.
   */
  | { readonly kind: 'signal'; readonly code: number; readonly atMs?: number }
  /** The orderly stop finished (whatever its outcome). */
  | { readonly kind: 'stopped' }
  /** {@link STOP_DEADLINE_MS} passed since the stop began. */
  | { readonly kind: 'deadline' };

export type ShutdownAction =
  | { readonly kind: 'none' }
  /** Begin the orderly stop and arm the deadline. */
  | { readonly kind: 'stop'; readonly code: number }
  /** Exit with this code (the stop is done). */
  | { readonly kind: 'exit'; readonly code: number }
  /** Kill the JVMs synchronously and exit with this code, without waiting for the stop. */
  | { readonly kind: 'force'; readonly code: number; readonly why: 'repeat' | 'deadline' };

export const INITIAL_SHUTDOWN: ShutdownState = { phase: 'running' };

export function nextShutdown(state: ShutdownState, event: ShutdownEvent): { state: ShutdownState; action: ShutdownAction } {
  const none = { state, action: { kind: 'none' } as const };
  switch (state.phase) {
    case 'running':
      // A stop that was not begun here (the serve mode's `q`) ends through the normal return, not through this.
      return event.kind === 'signal' ? { state: { phase: 'stopping', code: event.code, signalledAtMs: event.atMs }, action: { kind: 'stop', code: event.code } } : none;
    case 'stopping':
      if (event.kind === 'stopped') return { state: { phase: 'exited', code: state.code }, action: { kind: 'exit', code: state.code } };
      if (
        event.kind === 'signal' &&
        event.code === state.code &&
        event.atMs !== undefined &&
        state.signalledAtMs !== undefined &&
        event.atMs - state.signalledAtMs < DUPLICATE_SIGNAL_MS
      ) {
        return none;
      }
      return {
        state: { phase: 'exited', code: state.code },
        action: { kind: 'force', code: state.code, why: event.kind === 'signal' ? 'repeat' : 'deadline' },
      };
    case 'exited':
      return none;
  }
}

import { DUPLICATE_SIGNAL_MS, INITIAL_SHUTDOWN, nextShutdown, ShutdownEvent, ShutdownState } from '../../local/shutdown';

function run(events: ShutdownEvent[]): Array<ReturnType<typeof nextShutdown>['action']> {
  let state: ShutdownState = INITIAL_SHUTDOWN;
  return events.map((e) => {
    const r = nextShutdown(state, e);
    state = r.state;
    return r.action;
  });
}

test('the first signal starts an orderly stop; its end exits with the signal code', () => {
  expect(run([{ kind: 'signal', code: 143 }, { kind: 'stopped' }])).toEqual([
    { kind: 'stop', code: 143 },
    { kind: 'exit', code: 143 },
  ]);
});

test('a second signal while stopping forces the exit, with the first code', () => {
  expect(run([{ kind: 'signal', code: 143 }, { kind: 'signal', code: 130 }, { kind: 'stopped' }, { kind: 'signal', code: 130 }])).toEqual([
    { kind: 'stop', code: 143 },
    { kind: 'force', code: 143, why: 'repeat' },
    { kind: 'none' },
    { kind: 'none' },
  ]);
});

test('the deadline while stopping forces the exit; a late stop end changes nothing', () => {
  expect(run([{ kind: 'signal', code: 1 }, { kind: 'deadline' }, { kind: 'stopped' }])).toEqual([
    { kind: 'stop', code: 1 },
    { kind: 'force', code: 1, why: 'deadline' },
    { kind: 'none' },
  ]);
});

test('a stop end or a deadline without a signal does nothing (the serve mode quit by itself)', () => {
  expect(run([{ kind: 'stopped' }, { kind: 'deadline' }])).toEqual([{ kind: 'none' }, { kind: 'none' }]);
});

test('the same signal again within moments is one Ctrl-C delivered twice (the group and npm\'s relay), not a repeat', () => {
  expect(run([{ kind: 'signal', code: 130, atMs: 1000 }, { kind: 'signal', code: 130, atMs: 1003 }, { kind: 'stopped' }])).toEqual([
    { kind: 'stop', code: 130 },
    { kind: 'none' },
    { kind: 'exit', code: 130 },
  ]);
  // Later, it is the user again: forced. So is another signal at once, or one without an arrival time.
  expect(run([{ kind: 'signal', code: 130, atMs: 1000 }, { kind: 'signal', code: 130, atMs: 1000 + DUPLICATE_SIGNAL_MS }])[1]).toEqual({ kind: 'force', code: 130, why: 'repeat' });
  expect(run([{ kind: 'signal', code: 143, atMs: 1000 }, { kind: 'signal', code: 130, atMs: 1001 }])[1]).toEqual({ kind: 'force', code: 143, why: 'repeat' });
  expect(run([{ kind: 'signal', code: 130, atMs: 1000 }, { kind: 'signal', code: 130 }])[1]).toEqual({ kind: 'force', code: 130, why: 'repeat' });
});

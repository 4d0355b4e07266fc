/**
 * The shared progress helper: plain lines at each step without a terminal, one line redrawn in place with a bar and
 * the time left on a terminal, and the countdown sleep that the failover's wait uses.
 */
import { countdownSleep, formatBar, formatDuration, startProgress } from '../../../lambda/ops/progress';

function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; advance: (ms: number) => void; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms) => void (t += ms),
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

test.each([
  [0, '0:00'],
  [999, '0:01'],
  [65_000, '1:05'],
  [3_600_000 + 61_000, '1:01:01'],
])('formatDuration(%d) = %s', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});

test('formatBar', () => {
  expect(formatBar(0, 4)).toBe('[....]');
  expect(formatBar(0.5, 4)).toBe('[##..]');
  expect(formatBar(2, 4)).toBe('[####]');
});

test('without a terminal: one line per 25 % step with counts and the time left, nothing in between', () => {
  const time = fakeTime();
  const out: string[] = [];
  const p = startProgress({ label: 'replaying', total: 200, unit: 'records', interactive: false, write: (c) => out.push(c), clock: time.now, stepPercent: 25 });
  for (let done = 10; done <= 200; done += 10) {
    time.advance(1_000);
    p.update(done);
  }
  p.finish();
  expect(out).toEqual([
    'replaying: 0% (0/200 records), time left unknown\n',
    'replaying: 25% (50/200 records), 0:15 left\n',
    'replaying: 50% (100/200 records), 0:10 left\n',
    'replaying: 75% (150/200 records), 0:05 left\n',
    'replaying: 100% (200/200 records), done\n',
  ]);
});

test('without a terminal, an unfinished run says where it stopped', () => {
  const out: string[] = [];
  const p = startProgress({ label: 'x', total: 10, interactive: false, write: (c) => out.push(c) });
  p.update(3);
  p.finish();
  p.finish();
  expect(out.at(-1)).toBe('x: stopped at 30% (3/10)\n');
});

test('on a terminal: the same line redrawn in place with a bar, then a newline', () => {
  const time = fakeTime();
  const out: string[] = [];
  const p = startProgress({ label: 'waiting', total: 4, unit: 's', interactive: true, write: (c) => out.push(c), clock: time.now, barWidth: 4 });
  time.advance(1_000);
  p.update(1);
  p.finish();
  expect(out).toEqual(['\rwaiting [....]   0% 0/4 s · time left unknown\x1b[K', '\rwaiting [#...]  25% 1/4 s · 0:03 left\x1b[K', '\n']);
});

test('countdownSleep: a long wait ticks once a second and counts down; a short one passes straight through', async () => {
  const time = fakeTime();
  const out: string[] = [];
  const sleep = countdownSleep(time.sleep, { interactive: false, write: (c) => out.push(c), clock: time.now }, () => 'in-flight forwarding', 5_000);

  await sleep(1_000);
  expect(out).toEqual([]);
  expect(time.slept).toEqual([1_000]);

  await sleep(10_500);
  expect(time.slept.slice(1)).toEqual([1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 500]);
  expect(out[0]).toBe('in-flight forwarding: 0% (0/11 s), time left unknown\n');
  expect(out.at(-1)).toBe('in-flight forwarding: 100% (11/11 s), done\n');
  expect(out).toHaveLength(11);
});

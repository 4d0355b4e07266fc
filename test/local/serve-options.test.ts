import { DemoUsageError } from '../../local/demo-options';
import { isServe, keyToRequest, KeyContext, parseCtlArgs, parseServeArgs, SERVE_DEFAULTS, ServeOptions, validateCtlRequest } from '../../local/serve-options';

const defaults: ServeOptions = { ...SERVE_DEFAULTS, help: false };

describe('parseServeArgs', () => {
  test.each<[string, string[], Partial<ServeOptions>]>([
    ['just --serve', ['--serve'], {}],
    ['every option', ['--serve', '--env', 'prod', '--rate=20', '--duplicates', '0', '--malformed', '0.1', '--status-every', '1'], { env: 'prod', rate: 20, duplicates: 0, malformed: 0.1, statusEverySeconds: 1 }],
    ['a fractional rate', ['--serve', '--rate', '0.5'], { rate: 0.5 }],
    ['help', ['--serve', '--help'], { help: true }],
  ])('%s', (_name, argv, expected) => {
    expect(parseServeArgs(argv)).toEqual({ ...defaults, ...expected });
  });

  test.each<[string, string[], string]>([
    ['a drill option', ['--serve', '--events', '5'], '--events belongs to the drill and does not apply to --serve'],
    ['the nemesis', ['--serve', '--nemesis', 'all'], '--nemesis belongs to the drill and does not apply to --serve'],
    ['an unknown option', ['--serve', '--colour'], 'unknown option --colour'],
    ['rate zero', ['--serve', '--rate', '0'], '--rate must be a number of records per second above 0 and at most 5000 (got "0")'],
    ['rate not a number', ['--serve', '--rate', 'fast'], '--rate must be a number of records per second above 0 and at most 5000 (got "fast")'],
    ['shares above 1', ['--serve', '--duplicates', '0.7', '--malformed', '0.5'], '--duplicates plus --malformed must not exceed 1 (got 0.7 + 0.5)'],
    ['a bad environment name', ['--serve', '--env', '../x'], '--env must be an environment name of cdk.json (got "../x")'],
    ['status every 0', ['--serve', '--status-every', '0'], '--status-every must be a number of seconds from 0.2 to 3600 (got "0")'],
    ['a positional', ['--serve', 'now'], 'unexpected argument "now"'],
  ])('%s: one line', (_name, argv, message) => {
    expect(() => parseServeArgs(argv)).toThrow(DemoUsageError);
    expect(() => parseServeArgs(argv)).toThrow(message);
  });

  test('isServe finds --serve anywhere, and only it', () => {
    expect(isServe(['--rate', '5', '--serve'])).toBe(true);
    expect(isServe(['--no-failover'])).toBe(false);
    expect(isServe(['--server'])).toBe(false);
  });
});

describe('parseCtlArgs', () => {
  test.each<[string[], unknown]>([
    [['env'], { action: 'env' }],
    [['status'], { action: 'status' }],
    [['verify'], { action: 'verify' }],
    [['kinesis-down', 'us-east-1'], { action: 'kinesis-down', region: 'us-east-1' }],
    [['kinesis-up', 'us-west-2'], { action: 'kinesis-up', region: 'us-west-2' }],
    [['partition', 'eu-central-1'], { action: 'partition', region: 'eu-central-1' }],
    [['heal', 'us-east-1'], { action: 'heal', region: 'us-east-1' }],
    [['clock-skew', '5'], { action: 'clock-skew', seconds: 5 }],
    [['clock-skew', '-2.5'], { action: 'clock-skew', seconds: -2.5 }],
    [['replica-lag', '0'], { action: 'replica-lag', seconds: 0 }],
    [['status', '--help'], { help: true }],
    [['-h'], { help: true }],
  ])('%j', (argv, expected) => {
    expect(parseCtlArgs(argv)).toEqual(expected);
  });

  test.each<[string[], string]>([
    [[], 'ctl needs an action (env, status, verify, kinesis-down, kinesis-up, partition, heal, clock-skew, replica-lag)'],
    [['explode'], 'unknown ctl action "explode" (actions: env, status, verify, kinesis-down, kinesis-up, partition, heal, clock-skew, replica-lag)'],
    [['--json'], 'unknown option --json'],
    [['kinesis-down'], 'kinesis-down needs a REGION'],
    [['kinesis-down', 'primary'], 'kinesis-down: "primary" is not a Region name such as us-east-1'],
    [['heal', 'us-east-1', 'now'], 'unexpected argument "now"'],
    [['status', 'x'], 'unexpected argument "x"'],
    [['clock-skew'], 'clock-skew needs SECONDS'],
    [['clock-skew', 'lots'], 'clock-skew takes seconds from -300 to 300 (got "lots")'],
    [['clock-skew', '301'], 'clock-skew takes seconds from -300 to 300 (got "301")'],
    [['replica-lag', '-1'], 'replica-lag takes seconds from 0 to 300 (got "-1")'],
  ])('%j: one line', (argv, message) => {
    expect(() => parseCtlArgs(argv)).toThrow(DemoUsageError);
    expect(() => parseCtlArgs(argv)).toThrow(message);
  });
});

describe('validateCtlRequest (the control endpoint)', () => {
  const regions = ['us-east-1', 'us-west-2'];

  test.each<[unknown, unknown]>([
    [{ action: 'status' }, { action: 'status' }],
    [{ action: 'kinesis-down', region: 'us-west-2' }, { action: 'kinesis-down', region: 'us-west-2' }],
    [{ action: 'clock-skew', seconds: -3 }, { action: 'clock-skew', seconds: -3 }],
    // Fields an action does not take are dropped, not passed on.
    [{ action: 'verify', region: 'us-east-1' }, { action: 'verify' }],
  ])('%j', (body, expected) => {
    expect(validateCtlRequest(body, regions)).toEqual(expected);
  });

  test.each<[unknown, string]>([
    [null, 'the request must be a JSON object with an "action"'],
    [['status'], 'the request must be a JSON object with an "action"'],
    [{ action: 'rm -rf' }, 'unknown action "rm -rf"'],
    [{ action: 'partition', region: 'eu-west-1' }, 'partition: "eu-west-1" is not a Region of the local world (Regions: us-east-1, us-west-2)'],
    [{ action: 'partition' }, 'partition: undefined is not a Region of the local world'],
    [{ action: 'replica-lag', seconds: '2' }, 'replica-lag needs "seconds" (a number)'],
    [{ action: 'replica-lag', seconds: 1000 }, 'replica-lag takes seconds from 0 to 300 (got "1000")'],
  ])('%j is refused', (body, message) => {
    expect(() => validateCtlRequest(body, regions)).toThrow(message);
  });
});

describe('keyToRequest', () => {
  const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({ primary: 'us-east-1', standby: 'us-west-2', down: new Set(), partitioned: new Set(), clockSkewMs: 0, ...over });

  test.each<[string, Partial<KeyContext>, unknown]>([
    ['k', {}, { action: 'kinesis-down', region: 'us-east-1' }],
    ['k', { down: new Set(['us-east-1']) }, { action: 'kinesis-up', region: 'us-east-1' }],
    ['K', {}, { action: 'kinesis-down', region: 'us-west-2' }],
    ['p', {}, { action: 'partition', region: 'us-east-1' }],
    ['P', { partitioned: new Set(['us-west-2']) }, { action: 'heal', region: 'us-west-2' }],
    ['+', { clockSkewMs: 5000 }, { action: 'clock-skew', seconds: 10 }],
    ['-', {}, { action: 'clock-skew', seconds: -5 }],
    ['+', { clockSkewMs: 298_000 }, { action: 'clock-skew', seconds: 300 }],
    ['0', { clockSkewMs: 5000 }, { action: 'clock-skew', seconds: 0 }],
    ['v', {}, { action: 'verify' }],
    ['?', {}, 'help'],
    ['q', {}, 'quit'],
    ['\u0003', {}, 'quit'],
    ['x', {}, undefined],
  ])('%j with %j', (key, over, expected) => {
    expect(keyToRequest(key, ctx(over))).toEqual(expected);
  });
});

import { DEMO_DEFAULTS, DemoOptions, DemoUsageError, parseDemoArgs } from '../../local/demo-options';

const defaults: DemoOptions = { ...DEMO_DEFAULTS, failoverAt: 'half', input: undefined, out: undefined, json: false, help: false };

describe('parseDemoArgs', () => {
  test.each<[string, string[], Partial<DemoOptions>]>([
    ['no arguments', [], {}],
    ['every value option', ['--events', '100', '--rate=50', '--duplicates', '0.1', '--malformed', '0', '--failover-at', '10', '--out', 'o'], { events: 100, rate: 50, duplicates: 0.1, malformed: 0, failoverAt: 10, out: 'o' }],
    ['no failover', ['--no-failover'], { failoverAt: undefined }],
    ['input', ['--input', 'f.ndjson', '--json'], { input: 'f.ndjson', json: true }],
    ['input with a failover point', ['--input=f', '--failover-at=3'], { input: 'f', failoverAt: 3 }],
    ['help', ['--help'], { help: true }],
    ['help wins over other options', ['--events', '0', '--help'], { help: true }],
    ['-h', ['-h'], { help: true }],
    ['a fractional rate', ['--rate', '0.5'], { rate: 0.5 }],
    ['one event: no drill', ['--events', '1'], { events: 1, failoverAt: undefined }],
  ])('%s', (_name, argv, expected) => {
    expect(parseDemoArgs(argv)).toEqual({ ...defaults, ...expected });
  });

  test.each<[string, string[], string]>([
    ['an unknown option', ['--evnets', '5'], 'unknown option --evnets'],
    ['a positional argument', ['5'], 'unexpected argument "5"'],
    ['a missing value', ['--events'], 'option --events needs a value'],
    ['a value that is another option', ['--out', '--json'], 'option --out needs a value (write a value that starts with a dash as --out=-…)'],
    ['events not a number', ['--events', 'many'], '--events must be a whole number from 1 to 10000000 (got "many")'],
    ['events zero', ['--events', '0'], '--events must be a whole number from 1 to 10000000 (got "0")'],
    ['negative rate', ['--rate=-1'], '--rate must be a number of records per second above 0 and at most 1000000 (got "-1")'],
    ['a value that looks like an option', ['--rate', '-1'], 'option --rate needs a value (write a value that starts with a dash as --rate=-…)'],
    ['fraction above 1', ['--duplicates', '1.5'], '--duplicates must be a number from 0 to 1 (got "1.5")'],
    ['fractions summing above 1', ['--duplicates', '0.6', '--malformed', '0.5'], '--duplicates plus --malformed must not exceed 1 (got 0.6 + 0.5)'],
    ['failover at the end', ['--events', '10', '--failover-at', '10'], '--failover-at must be a whole number from 1 to 9 (got "10")'],
    ['both failover flags', ['--failover-at', '3', '--no-failover'], '--failover-at and --no-failover cannot be used together'],
    ['events with input', ['--input', 'f', '--events', '3'], '--events cannot be used with --input (the file says what is sent)'],
    ['a switch with a value', ['--json=yes'], 'option --json takes no value'],
    ['a repeated option', ['--rate', '1', '--rate', '2'], 'option --rate is given twice'],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(new DemoUsageError(message));
  });
});

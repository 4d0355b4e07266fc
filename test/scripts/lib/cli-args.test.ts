import { parseCliArgs, UsageError, type CliCommand } from '../../../scripts/lib/cli-args';

describe('parseCliArgs', () => {
  test.each<[string, string[], CliCommand]>([
    ['no arguments: default base, text, no check', [], { kind: 'diff', source: { kind: 'git' }, format: 'text', failOn: [] }],
    ['--base REF', ['--base', 'origin/main'], { kind: 'diff', source: { kind: 'git', base: 'origin/main' }, format: 'text', failOn: [] }],
    ['--base=REF --markdown', ['--base=HEAD~1', '--markdown'], { kind: 'diff', source: { kind: 'git', base: 'HEAD~1' }, format: 'markdown', failOn: [] }],
    ['--head-out reuses a synthesized checkout', ['--head-out', 'cdk.out'], { kind: 'diff', source: { kind: 'git', headOut: 'cdk.out' }, format: 'text', failOn: [] }],
    ['--from/--to with --out', ['--from', 'a', '--to', 'b', '--out', 'd.md'], {
      kind: 'diff',
      source: { kind: 'assemblies', from: 'a', to: 'b' },
      format: 'text',
      out: 'd.md',
      failOn: [],
    }],
    ['--fail-on one check', ['--fail-on', 'broadening'], { kind: 'diff', source: { kind: 'git' }, format: 'text', failOn: ['broadening'] }],
    ['--fail-on a list', ['--fail-on', 'destructive, broadening,destructive'], { kind: 'diff', source: { kind: 'git' }, format: 'text', failOn: ['destructive', 'broadening'] }],
    ['--fail-on none', ['--fail-on', 'none'], { kind: 'diff', source: { kind: 'git' }, format: 'text', failOn: [] }],
    ['--help wins', ['--base', 'x', '--help'], { kind: 'help' }],
    ['-h', ['-h'], { kind: 'help' }],
  ])('%s', (_name, argv, expected) => {
    expect(parseCliArgs(argv)).toEqual(expected);
  });

  test.each<[string, string[], string]>([
    ['an unknown option', ['--bsae', 'x'], 'unknown option --bsae'],
    ['a positional argument', ['main'], 'unexpected argument "main"'],
    ['--from without --to', ['--from', 'a'], '--from and --to go together: give both cloud assembly directories'],
    ['--to without --from', ['--to', 'b'], '--from and --to go together: give both cloud assembly directories'],
    ['--base with --from/--to', ['--base', 'x', '--from', 'a', '--to', 'b'], '--base cannot be combined with --from/--to'],
    ['--head-out with --from/--to', ['--head-out', 'x', '--from', 'a', '--to', 'b'], '--head-out cannot be combined with --from/--to (--to names the new assembly)'],
    ['--base without a value', ['--base'], 'option --base needs a value'],
    ['an empty --out', ['--out', ''], 'option --out needs a value'],
    ['an unknown check', ['--fail-on', 'destructive,loud'], '--fail-on "loud": expected destructive, broadening or none (comma-separated)'],
    ['a repeated option', ['--base', 'a', '--base', 'b'], 'option --base is given twice'],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(new UsageError(message));
  });
});

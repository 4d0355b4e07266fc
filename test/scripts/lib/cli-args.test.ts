import { parseCliArgs, UsageError, type CliCommand } from '../../../scripts/lib/cli-args';

describe('parseCliArgs', () => {
  test.each<[string, string[], CliCommand]>([
    ['no arguments: default base, text', [], { kind: 'diff', source: { kind: 'git' }, format: 'text' }],
    ['--base REF', ['--base', 'origin/main'], { kind: 'diff', source: { kind: 'git', base: 'origin/main' }, format: 'text' }],
    ['--base=REF --markdown', ['--base=HEAD~1', '--markdown'], { kind: 'diff', source: { kind: 'git', base: 'HEAD~1' }, format: 'markdown' }],
    ['--from/--to with --out', ['--from', 'a', '--to', 'b', '--out', 'd.md'], {
      kind: 'diff',
      source: { kind: 'assemblies', from: 'a', to: 'b' },
      format: 'text',
      out: 'd.md',
    }],
    ['--help wins', ['--base', 'x', '--help'], { kind: 'help' }],
    ['-h', ['-h'], { kind: 'help' }],
  ])('%s', (_name, argv, expected) => {
    expect(parseCliArgs(argv)).toEqual(expected);
  });

  test.each<[string, string[], RegExp]>([
    ['an unknown option', ['--bsae', 'x'], /^unknown option --bsae$/],
    ['a positional argument', ['main'], /^unexpected argument "main"$/],
    ['--from without --to', ['--from', 'a'], /--from and --to go together/],
    ['--to without --from', ['--to', 'b'], /--from and --to go together/],
    ['--base with --from/--to', ['--base', 'x', '--from', 'a', '--to', 'b'], /--base cannot be combined with --from\/--to/],
    ['--base without a value', ['--base'], /^option --base needs a value$/],
    ['an empty --out', ['--out', ''], /^option --out needs a value$/],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});

/**
 * End-to-end tests of `npm run diff` (scripts/template-diff.ts), run as a process:
 * --from/--to on hand-made cloud assemblies, and --base on a tiny throwaway CDK app in a temporary git repository
 * (never the Redstream app itself).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HASH_A, HASH_B, lambdaFn, policy, securityGroup, stream, template, writeAssembly } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/template-diff.ts');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without git variables that would point git at another repository (e.g. inside a git hook). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR']) delete env[k];
  return env;
}

function runDiff(args: readonly string[], cwd = ROOT): Run {
  const r = spawnSync(TSX, [SCRIPT, ...args], { cwd, encoding: 'utf8', env: cleanEnv() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'template-diff-test-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('--from/--to on hand-made cloud assemblies', () => {
  let from: string;
  let to: string;

  beforeAll(() => {
    from = path.join(tmp, 'from');
    to = path.join(tmp, 'to');
    const ingress = { IpProtocol: 'tcp', FromPort: 5439, ToPort: 5439, CidrIp: '10.0.0.0/16' };
    writeAssembly(
      from,
      [
        {
          id: 'RedstreamDevRegionUsEast1',
          stackName: 'redstream-dev-region-us-east-1',
          template: template({
            Stream: stream({ Name: 'redstream-dev-events' }),
            Replicator: lambdaFn(HASH_A),
            ReplicatorPolicy: policy([{ Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } }]),
          }),
        },
        { id: 'RedstreamDevLegacy', template: template({ Queue: { Type: 'AWS::SQS::Queue' } }) },
      ],
      {
        Prod: [
          {
            id: 'ProdWarehouse',
            environment: 'aws://333333333333/us-east-1',
            template: template({ Sg: securityGroup([ingress]) }),
          },
        ],
      },
    );
    writeAssembly(
      to,
      [
        {
          id: 'RedstreamDevRegionUsEast1',
          stackName: 'redstream-dev-region-us-east-1',
          template: template({
            Stream: stream({ Name: 'redstream-dev-clicks' }),
            Replicator: lambdaFn(HASH_B),
            ReplicatorPolicy: policy([
              { Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } },
              { Effect: 'Allow', Action: 'kinesis:PutRecords', Resource: '*' },
            ]),
          }),
        },
        { id: 'RedstreamDevState', template: template({ Table: { Type: 'AWS::DynamoDB::GlobalTable', Properties: {} } }) },
      ],
      {
        Prod: [
          {
            id: 'ProdWarehouse',
            environment: 'aws://333333333333/us-east-1',
            template: template({ Sg: securityGroup([{ ...ingress, CidrIp: '0.0.0.0/0' }]) }),
          },
        ],
      },
    );
  });

  test('prints a per-stack text diff and exits 0', () => {
    const r = runDiff(['--from', from, '--to', to]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expectedLines = [
      'Template diff: 4 stack(s), 4 with differences',
      'Stack RedstreamDevRegionUsEast1 (redstream-dev-region-us-east-1) [aws://111111111111/us-east-1]: changed — ' +
        '1 replaced, 1 updated, 1 code asset changed, 1 IAM',
      '! AWS::Kinesis::Stream Stream  REPLACE  (old resource deleted)',
      'Name: "redstream-dev-events" → "redstream-dev-clicks"  [replaces]',
      '~ AWS::Lambda::Function Replicator  code asset changed',
      '+       Allow kinesis:PutRecords on *',
      'Stack RedstreamDevState [aws://111111111111/us-east-1]: NEW STACK — 1 added',
      'Stack ProdWarehouse [aws://333333333333/us-east-1]: changed — 1 updated, 1 security group',
      '-       ingress tcp 5439 from 10.0.0.0/16',
      '+       ingress tcp 5439 from 0.0.0.0/0',
      'Stack RedstreamDevLegacy [aws://111111111111/us-east-1]: STACK REMOVED — 1 removed',
    ];
    for (const line of expectedLines) expect(r.stdout).toContain(line);
    expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
  });

  test('--markdown prints the job-summary form', () => {
    const r = runDiff(['--from', from, '--to', to, '--markdown']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('## Template diff\n')).toBe(true);
    expect(r.stdout).toContain('| RedstreamDevLegacy | aws://111111111111/us-east-1 | STACK REMOVED ⚠️ |');
    expect(r.stdout).toContain('```diff\n');
  });

  test('--out writes the diff to a file and nothing to standard output', () => {
    const out = path.join(tmp, 'diff.txt');
    const r = runDiff(['--from', from, '--to', to, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(out, 'utf8')).toContain('Template diff: 4 stack(s), 4 with differences');
  });

  test('identical assemblies: no differences, exit 0', () => {
    const r = runDiff(['--from', from, '--to', from]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('No differences.');
  });

  test.each([
    ['an unknown option', ['--frm', 'x'], /^template-diff: error: unknown option --frm; run with --help for usage\n$/],
    ['--from without --to', ['--from', 'x'], /--from and --to go together/],
    ['--base with --from', ['--base', 'HEAD', '--from', 'a', '--to', 'b'], /--base cannot be combined/],
  ])('bad usage (%s) exits 2 with one line pointing to --help', (_name, args, message) => {
    const r = runDiff(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^template-diff: error: [^\n]*; run with --help for usage\n$/);
  });

  test('a directory that is not a cloud assembly exits 1 and names it', () => {
    const r = runDiff(['--from', tmp, '--to', to]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${tmp} is not a cloud assembly`);
  });

  test('--help prints the usage and exits 0', () => {
    const r = runDiff(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--base REF');
  });
});

describe('--base on a tiny CDK app in a temporary git repository', () => {
  let repo: string;
  const git = (...args: string[]): string => {
    const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], {
      cwd: repo,
      encoding: 'utf8',
      env: cleanEnv(),
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const app = (queueSeconds: number, withTopic: boolean): string =>
    [
      "const cdk = require('aws-cdk-lib');",
      'const app = new cdk.App();',
      "const stack = new cdk.Stack(app, 'Tiny', { env: { account: '111111111111', region: 'us-east-1' } });",
      `new cdk.aws_sqs.Queue(stack, 'Queue', { visibilityTimeout: cdk.Duration.seconds(${queueSeconds}) });`,
      withTopic ? "new cdk.aws_sns.Topic(stack, 'Topic');" : '',
      'app.synth();',
    ].join('\n');

  beforeAll(() => {
    repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\ncdk.out\n');
    fs.writeFileSync(path.join(repo, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
    fs.writeFileSync(path.join(repo, 'app.js'), "throw new Error('this revision does not synthesize');\n");
    git('init', '--quiet', '--initial-branch=main');
    git('add', '.');
    git('commit', '--quiet', '-m', 'broken app');
    fs.writeFileSync(path.join(repo, 'app.js'), app(30, false));
    git('commit', '--quiet', '-am', 'tiny app');
    // Working tree: a changed queue and a new topic, not committed.
    fs.writeFileSync(path.join(repo, 'app.js'), app(60, true));
  });

  test('without --base (and no origin/main): synthesizes HEAD in a worktree and the working tree, diffs, cleans up', () => {
    const r = runDiff([], repo);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`HEAD (${git('rev-parse', 'HEAD').slice(0, 12)}) → working tree`);
    expect(r.stdout).toContain('Stack Tiny [aws://111111111111/us-east-1]: changed — 1 added, 1 updated');
    expect(r.stdout).toContain('+ AWS::SNS::Topic Topic');
    expect(r.stdout).toContain('VisibilityTimeout: 30 → 60');
    expect(r.stderr).toContain('Synthesizing the base HEAD');
    expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(fs.existsSync(path.join(ROOT, 'node_modules/aws-cdk-lib/package.json'))).toBe(true);
  });

  test('a base that fails to synthesize exits 1 and still removes the worktree', () => {
    const r = runDiff(['--base', 'HEAD~1'], repo);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('this revision does not synthesize');
    expect(r.stderr).toMatch(/template-diff: error: cdk synth in .*base-worktree exited with status 1/);
    expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  test('an unknown base revision is bad usage: exit 2', () => {
    const r = runDiff(['--base', 'no-such-branch'], repo);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--base no-such-branch: not a known git revision');
  });
});

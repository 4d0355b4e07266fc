/**
 * End-to-end tests of `npm run template-diff` (scripts/template-diff.ts), run as a process:
 * --from/--to on hand-made cloud assemblies, and --base on a tiny throwaway CDK app in a temporary git repository
 * (never the Redstream app itself).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tsEntry } from '../helpers/npm-script';
import { HASH_A, HASH_B, lambdaFn, policy, securityGroup, stream, template, writeAssembly } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/template-diff.ts');

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
  const r = spawnSync(...tsEntry(SCRIPT, args), { cwd, encoding: 'utf8', env: cleanEnv() });
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
  const read = { Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } };
  const regionPaths = { Stream: 'RedstreamDevRegionUsEast1/Events/Stream/Resource', Replicator: 'RedstreamDevRegionUsEast1/Replicator/Function/Resource' };

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
          constructPaths: regionPaths,
          template: template({ Stream: stream({ Name: 'redstream-dev-events' }), Replicator: lambdaFn(HASH_A), ReplicatorPolicy: policy([read]) }),
        },
        { id: 'RedstreamDevLegacy', template: template({ Queue: { Type: 'AWS::SQS::Queue' } }) },
      ],
      { Prod: [{ id: 'ProdWarehouse', environment: 'aws://333333333333/us-east-1', template: template({ Sg: securityGroup([ingress]) }) }] },
    );
    writeAssembly(
      to,
      [
        {
          id: 'RedstreamDevRegionUsEast1',
          stackName: 'redstream-dev-region-us-east-1',
          constructPaths: regionPaths,
          template: template({
            Stream: stream({ Name: 'redstream-dev-clicks' }),
            Replicator: lambdaFn(HASH_B),
            ReplicatorPolicy: policy([read, { Effect: 'Allow', Action: 'kinesis:PutRecords', Resource: '*' }]),
          }),
        },
        { id: 'RedstreamDevState', template: template({ Table: { Type: 'AWS::DynamoDB::GlobalTable', Properties: {} } }) },
      ],
      { Prod: [{ id: 'ProdWarehouse', environment: 'aws://333333333333/us-east-1', template: template({ Sg: securityGroup([{ ...ingress, CidrIp: '0.0.0.0/0' }]) }) }] },
    );
  });

  test('text: every stack (nested assemblies included) with the library\'s rendering, construct paths and asset changes; exit 0', () => {
    const r = runDiff(['--from', from, '--to', to]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const line of [
      'Template diff',
      '4 stack(s), 4 with differences; destructive changes in redstream-dev-region-us-east-1, RedstreamDevLegacy; permissions broadened in redstream-dev-region-us-east-1, ProdWarehouse.',
      'Stack RedstreamDevRegionUsEast1 (redstream-dev-region-us-east-1) [aws://111111111111/us-east-1]: changed: 1 replace, 1 update, 1 code asset(s) changed · DESTRUCTIVE · PERMISSIONS BROADENED',
      '[~] AWS::Kinesis::Stream Events/Stream Stream replace',
      ' └─ [~] Name (requires replacement)',
      'Code assets changed: Replicator (RedstreamDevRegionUsEast1/Replicator/Function/Resource)',
      'Stack RedstreamDevState [aws://111111111111/us-east-1]: added: 1 add',
      'Stack ProdWarehouse [aws://333333333333/us-east-1]: changed: 1 update · PERMISSIONS BROADENED',
      'Stack RedstreamDevLegacy [aws://111111111111/us-east-1]: removed: 1 destroy · DESTRUCTIVE',
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toMatch(/│ \+ │ \* +│ Allow +│ kinesis:PutRecords/);
    expect(r.stdout).toMatch(/│ \+ │ \$\{Sg\.GroupId\} │ In +│ TCP 5439 +│ Everyone \(IPv4\) │/);
    expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
  });

  test('--markdown --fail-on broadening: the Markdown is printed, one line names the failed check, exit 3', () => {
    const out = path.join(tmp, 'diff.md');
    const r = runDiff(['--from', from, '--to', to, '--markdown', '--fail-on', 'broadening', '--out', out]);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`Template diff written to ${out}\ntemplate-diff: error: --fail-on: permissions broadened in redstream-dev-region-us-east-1, ProdWarehouse\n`);
    const md = fs.readFileSync(out, 'utf8');
    expect(md.startsWith('## Template diff\n')).toBe(true);
    expect(md.match(/^<details( open)?>$/gm)).toHaveLength(4);
    expect(md).toContain('| 🔁 | RedstreamDevRegionUsEast1/Events/Stream/Resource | Stream | AWS::Kinesis::Stream | **REPLACE** |');
    expect(md).toContain('| 📦 | RedstreamDevRegionUsEast1/Replicator/Function/Resource | Replicator | AWS::Lambda::Function | code asset changed |');
    expect(md).toContain('**Security group changes** (rules added)');
  });

  test('--fail-on destructive passes on a change that destroys nothing', () => {
    const r = runDiff(['--from', from, '--to', from, '--fail-on', 'destructive,broadening']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('3 stack(s), 0 with differences.');
  });

  // The other usage rules are unit-tested in lib/cli-args.test.ts, an unknown option as a process in test/bin/clis.test.ts.
  test('bad usage (an unknown check): one line pointing to --help, exit 2', () => {
    const r = runDiff(['--fail-on', 'scary']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('template-diff: error: --fail-on "scary": expected destructive, broadening or none (comma-separated); run with --help for usage\n');
  });

  test('a directory that is not a cloud assembly: one line naming it, exit 1', () => {
    const r = runDiff(['--from', tmp, '--to', to]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`template-diff: error: ${tmp} is not a cloud assembly: it has no manifest.json\n`);
  });
});

describe('--base on a tiny CDK app in a temporary git repository', () => {
  let repo: string;
  const git = (...args: string[]): string => {
    const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8', env: cleanEnv() });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** A stack with a role whose policy reads one stream (or more), and a dashboard with one text widget. */
  const app = (actions: string[], dashboardText: string): string =>
    [
      "const cdk = require('aws-cdk-lib');",
      'const app = new cdk.App();',
      "const stack = new cdk.Stack(app, 'Tiny', { env: { account: '111111111111', region: 'us-east-1' } });",
      "const role = new cdk.aws_iam.Role(stack, 'Reader', { assumedBy: new cdk.aws_iam.ServicePrincipal('lambda.amazonaws.com') });",
      `role.addToPolicy(new cdk.aws_iam.PolicyStatement({ actions: ${JSON.stringify(actions)}, resources: ['arn:aws:kinesis:us-east-1:111111111111:stream/events'] }));`,
      `new cdk.aws_cloudwatch.Dashboard(stack, 'Dashboard', { widgets: [[new cdk.aws_cloudwatch.TextWidget({ markdown: ${JSON.stringify(dashboardText)} })]] });`,
      'app.synth();',
    ].join('\n');
  const commits: Record<'broken' | 'base' | 'widened' | 'dashboard', string> = { broken: '', base: '', widened: '', dashboard: '' };

  beforeAll(() => {
    repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\ncdk.out\n*.out\n');
    fs.writeFileSync(path.join(repo, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
    const commit = (name: keyof typeof commits, source: string): void => {
      fs.writeFileSync(path.join(repo, 'app.js'), source);
      git('add', '.');
      git('commit', '--quiet', '-m', name);
      commits[name] = git('rev-parse', 'HEAD');
    };
    git('init', '--quiet', '--initial-branch=main');
    commit('broken', "throw new Error('this revision does not synthesize');\n");
    commit('base', app(['kinesis:GetRecords'], '# Redstream v1'));
    commit('widened', app(['kinesis:GetRecords', 'kinesis:PutRecords'], '# Redstream v1'));
    commit('dashboard', app(['kinesis:GetRecords', 'kinesis:PutRecords'], '# Redstream v2'));
  });

  test('a commit that widens an IAM statement: --base HEAD~1 --fail-on broadening exits 3; per-stack Markdown with construct paths', () => {
    git('checkout', '--quiet', '--detach', commits.widened);
    const r = runDiff(['--base', 'HEAD~1', '--fail-on', 'broadening', '--markdown'], repo);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('Synthesizing the base HEAD~1');
    expect(r.stderr).toContain('Synthesizing the working tree');
    expect(r.stderr).toMatch(/template-diff: error: --fail-on: permissions broadened in Tiny\n$/);
    expect(r.stdout).toContain(`## Template diff: HEAD~1 (${commits.base.slice(0, 12)}) → working tree`);
    expect(r.stdout).toContain('<details open>\n<summary><strong>Tiny</strong> <code>aws://111111111111/us-east-1</code>: changed: 1 update · PERMISSIONS BROADENED</summary>');
    expect(r.stdout).toMatch(/\| ✏️ \| Tiny\/Reader\/DefaultPolicy\/Resource \| ReaderDefaultPolicy[0-9A-F]{8} \| AWS::IAM::Policy \| update \|/);
    expect(r.stdout).toMatch(/\| \+ \| arn:aws:kinesis:us-east-1:111111111111:stream\/events \| Allow \| kinesis:GetRecords<br>kinesis:PutRecords \| AWS:\$\{Reader\} \|/);
    expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    writeCapture('widened-iam.md', r.stdout);
  });

  test('a dashboard-only commit, reusing the synthesized checkout (--head-out): an in-place update, checks pass', () => {
    git('checkout', '--quiet', '--detach', commits.dashboard);
    const headOut = path.join(repo, 'head.out');
    const synth = spawnSync(path.join(ROOT, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '-o', headOut], { cwd: repo, encoding: 'utf8', env: cleanEnv() });
    expect(synth.status).toBe(0);
    const r = runDiff(['--base', 'HEAD~1', '--head-out', headOut, '--fail-on', 'destructive,broadening', '--markdown'], repo);
    expect(r.stderr).not.toContain('Synthesizing the working tree');
    expect(r.stderr).toContain(`Using the synthesized checkout in ${headOut}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('<details>\n<summary><strong>Tiny</strong> <code>aws://111111111111/us-east-1</code>: changed: 1 update</summary>');
    expect(r.stdout).toMatch(/\| ✏️ \| Tiny\/Dashboard\/Resource \| Dashboard[0-9A-F]{8} \| AWS::CloudWatch::Dashboard \| update \|/);
    expect(r.stdout).not.toMatch(/REPLACE|IAM|Warnings/);
    writeCapture('dashboard-only.md', r.stdout);
  });

  test('a base that fails to synthesize: exit 1, and the worktree is removed', () => {
    const r = runDiff(['--base', commits.broken, '--head-out', path.join(repo, 'head.out')], repo);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('this revision does not synthesize');
    expect(r.stderr).toMatch(/template-diff: error: cdk synth in .*base-worktree exited with status 1\n$/);
    expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  test('an unknown base revision is bad usage: exit 2', () => {
    const r = runDiff(['--base', 'no-such-branch'], repo);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('template-diff: error: --base no-such-branch: not a known git revision (fetch it first, e.g. git fetch origin main); run with --help for usage\n');
  });
});

/** With REDSTREAM_CAPTURE_DIR set, keeps a rendered diff for a reviewer to read (the issue asks for both outputs). */
function writeCapture(name: string, text: string): void {
  const dir = process.env.REDSTREAM_CAPTURE_DIR;
  if (dir !== undefined) fs.writeFileSync(path.join(dir, name), text);
}

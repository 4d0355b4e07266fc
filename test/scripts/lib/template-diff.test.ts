/**
 * The template diff on @aws-cdk/cloudformation-diff, on small literal templates: the library's verdicts as Redstream
 * reads them (impacts from the CloudFormation specification, permission broadening), and what Redstream adds (asset
 * masking, the custom-name and retained-resource warnings, construct paths, --fail-on, the two renderings).
 */
import { ResourceImpact } from '@aws-cdk/cloudformation-diff';
import {
  ASSET_HASH_MASK,
  changeReplaces,
  diffAssemblies,
  diffStack,
  failures,
  maskAssetHashes,
  renderMarkdown,
  renderText,
  type CfnResource,
  type Json,
  type StackDiff,
} from '../../../scripts/lib/template-diff';
import { HASH_A, HASH_B, lambdaFn, policy, securityGroup, stack, stream, template } from '../fixtures';

const res = (Type: string, Properties?: Record<string, unknown>, attrs: Record<string, unknown> = {}): CfnResource =>
  ({ Type, ...(Properties !== undefined ? { Properties } : {}), ...attrs }) as CfnResource;

function diffOne(before: Record<string, CfnResource>, after: Record<string, CfnResource>, paths?: Record<string, string>): StackDiff {
  return diffStack(stack('S', template(before), undefined, paths), stack('S', template(after), undefined, paths));
}

const dashboard = (body: string): CfnResource => res('AWS::CloudWatch::Dashboard', { DashboardBody: body });
const kinesisRead = { Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } };

describe('maskAssetHashes', () => {
  test.each<[string, Json, Json]>([
    ['a plain hash', HASH_A, ASSET_HASH_MASK],
    ['a hash inside a key name', `${HASH_B}.zip`, `${ASSET_HASH_MASK}.zip`],
    ['nested values and keys', { [`asset.${HASH_A}`]: [HASH_B, 1] }, { [`asset.${ASSET_HASH_MASK}`]: [ASSET_HASH_MASK, 1] }],
    ['63 hex characters stay', 'a'.repeat(63), 'a'.repeat(63)],
    ['non-strings stay', [true, null, 3], [true, null, 3]],
  ])('%s', (_name, input, expected) => {
    expect(maskAssetHashes(input)).toEqual(expected);
  });
});

describe('impacts come from the CloudFormation specification (the hand table said "may replace" for a dashboard)', () => {
  test.each<[string, CfnResource, CfnResource, ResourceImpact]>([
    ['dashboard body edit', dashboard('{"widgets":[]}'), dashboard('{"widgets":[1]}'), ResourceImpact.WILL_UPDATE],
    ['stream shard count', stream(), stream({ ShardCount: 2 }), ResourceImpact.WILL_UPDATE],
    ['stream name', stream({ Name: 'a' }), stream({ Name: 'b' }), ResourceImpact.WILL_REPLACE],
    ['table key schema', res('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }] }),
      res('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }] }), ResourceImpact.WILL_REPLACE],
    ['workgroup base capacity', res('AWS::RedshiftServerless::Workgroup', { WorkgroupName: 'w', BaseCapacity: 8 }),
      res('AWS::RedshiftServerless::Workgroup', { WorkgroupName: 'w', BaseCapacity: 16 }), ResourceImpact.WILL_UPDATE],
    ['event source mapping starting position', res('AWS::Lambda::EventSourceMapping', { StartingPosition: 'LATEST' }),
      res('AWS::Lambda::EventSourceMapping', { StartingPosition: 'TRIM_HORIZON' }), ResourceImpact.WILL_REPLACE],
  ])('%s', (_name, before, after, impact) => {
    expect(diffOne({ R: before }, { R: after }).resources).toEqual([{ logicalId: 'R', type: before.Type, path: undefined, impact }]);
  });

  test('removal: destroy, or orphan when retained; addition: create', () => {
    const d = diffOne({ A: stream(), B: stream({}) as CfnResource, C: res('AWS::S3::Bucket', {}, { DeletionPolicy: 'Retain' }) }, { B: stream(), D: stream() });
    expect(d.resources.map((r) => `${r.logicalId} ${r.impact}`)).toEqual(['A WILL_DESTROY', 'C WILL_ORPHAN', 'D WILL_CREATE']);
    expect(d.destructive).toBe(true);
  });

  test.each([
    ['AWS::DynamoDB::GlobalTable', 'TableName', true],
    ['AWS::Kinesis::Stream', 'Name', true],
    ['AWS::CloudWatch::Dashboard', 'DashboardName', true],
    ['AWS::IAM::Policy', 'PolicyName', false],
  ])('changeReplaces(%s, %s) = %s', (type, property, expected) => {
    expect(changeReplaces(type, property)).toBe(expected);
  });
});

describe('asset hashes', () => {
  test('a change of asset hash only is a code asset change, not an update', () => {
    const d = diffOne({ F: lambdaFn(HASH_A) }, { F: lambdaFn(HASH_B) }, { F: 'S/Replicator/Resource' });
    expect(d.resources).toEqual([]);
    expect(d.assetChanges).toEqual([{ logicalId: 'F', type: 'AWS::Lambda::Function', path: 'S/Replicator/Resource', impact: ResourceImpact.WILL_UPDATE }]);
    expect(d.status).toBe('changed');
    expect(d.destructive || d.broadening).toBe(false);
    expect(renderText([d])).not.toMatch(/[0-9a-f]{64}/);
  });

  test('an asset hash and a real change: an update, with no asset line', () => {
    const d = diffOne({ F: lambdaFn(HASH_A) }, { F: lambdaFn(HASH_B, { MemorySize: 1024 }) });
    expect(d.resources.map((r) => r.impact)).toEqual([ResourceImpact.WILL_UPDATE]);
    expect(d.assetChanges).toEqual([]);
  });
});

describe('permission broadening (the library\'s verdict)', () => {
  test.each<[string, Record<string, CfnResource>, Record<string, CfnResource>, boolean]>([
    ['an action added to a statement', { P: policy([kinesisRead]) }, { P: policy([{ ...kinesisRead, Action: ['kinesis:GetRecords', 'kinesis:PutRecords'] }]) }, true],
    ['a resource widened to *', { P: policy([kinesisRead]) }, { P: policy([{ ...kinesisRead, Resource: '*' }]) }, true],
    ['a statement removed', { P: policy([kinesisRead, { ...kinesisRead, Action: 'kinesis:ListShards' }]) }, { P: policy([kinesisRead]) }, false],
    ['an ingress rule opened', { Sg: securityGroup([]) }, { Sg: securityGroup([{ IpProtocol: 'tcp', FromPort: 5439, ToPort: 5439, CidrIp: '0.0.0.0/0' }]) }, true],
    ['a dashboard edit', { D: dashboard('a') }, { D: dashboard('b') }, false],
    ['asset hashes in a policy', { P: policy([{ ...kinesisRead, Resource: `arn:aws:s3:::b/${HASH_A}.zip` }]) },
      { P: policy([{ ...kinesisRead, Resource: `arn:aws:s3:::b/${HASH_B}.zip` }]) }, false],
  ])('%s', (_name, before, after, broadening) => {
    expect(diffOne(before, after).broadening).toBe(broadening);
  });
});

describe('warnings the library does not give', () => {
  const table = (name: string | undefined, key: string, attrs: Record<string, unknown> = {}): CfnResource =>
    res('AWS::DynamoDB::GlobalTable', { ...(name ? { TableName: name } : {}), KeySchema: [{ AttributeName: key, KeyType: 'HASH' }] }, attrs);

  test.each<[string, Record<string, CfnResource>, Record<string, CfnResource>, RegExp[]]>([
    ['a replacement that keeps its custom name fails', { T: table('t', 'a') }, { T: table('t', 'b') }, [
      /^T \(S\/Table\/Resource\) \(AWS::DynamoDB::GlobalTable\) is replaced but keeps its custom name TableName = "t": CloudFormation cannot replace a custom-named resource, so the deploy fails\. Change TableName/,
    ]],
    ['renamed as well: no warning', { T: table('t', 'a') }, { T: table('u', 'b') }, []],
    ['a generated name: no warning', { T: table(undefined, 'a') }, { T: table(undefined, 'b') }, []],
    ['a removed retained resource is left behind', { B: res('AWS::S3::Bucket', {}, { DeletionPolicy: 'Retain' }) }, {}, [
      /^B \(AWS::S3::Bucket\) is removed from the stack but its DeletionPolicy Retain leaves it in the account, outside any stack/,
    ]],
    ['a removed resource without Retain: no warning', { B: res('AWS::S3::Bucket', {}) }, {}, []],
    ['a replaced resource with UpdateReplacePolicy Retain is left behind', { T: table(undefined, 'a', { UpdateReplacePolicy: 'Retain' }) },
      { T: table(undefined, 'b', { UpdateReplacePolicy: 'Retain' }) }, [/^T \(S\/Table\/Resource\) \(AWS::DynamoDB::GlobalTable\) is replaced and its UpdateReplacePolicy Retain leaves the old one in the account/]],
  ])('%s', (_name, before, after, expected) => {
    const d = diffOne(before, after, { T: 'S/Table/Resource' });
    expect(d.warnings).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(d.warnings[i]).toMatch(re));
  });
});

describe('construct paths', () => {
  test('from the assembly metadata, and from aws:cdk:path in the templates', () => {
    const withPath = (r: CfnResource, p: string): CfnResource => ({ ...r, Metadata: { 'aws:cdk:path': p } }) as CfnResource;
    const d = diffOne({ A: stream(), B: withPath(stream(), 'S/B/Resource') }, { A: stream({ ShardCount: 2 }), B: withPath(stream({ ShardCount: 3 }), 'S/B/Resource') }, {
      A: 'S/Events/Stream/Resource',
    });
    expect(d.resources.map((r) => [r.logicalId, r.path])).toEqual([
      ['A', 'S/Events/Stream/Resource'],
      ['B', 'S/B/Resource'],
    ]);
    expect(renderText([d])).toContain('[~] AWS::Kinesis::Stream Events/Stream A');
  });
});

describe('diffAssemblies and failures', () => {
  const east = 'aws://1/us-east-1';
  const west = 'aws://1/us-west-2';
  const stacks = diffAssemblies(
    [stack('Region', template({ S: stream() }), east), stack('Old', template({ S: stream() }), east)],
    [stack('Region', template({ S: stream() }), east), stack('Region', template({ S: stream() }), west)],
  );

  test('pairs stacks by environment and name; added, removed and unchanged stacks', () => {
    expect(stacks.map((s) => `${s.stackName} ${s.environment} ${s.status}`)).toEqual([`Region ${east} unchanged`, `Region ${west} added`, `Old ${east} removed`]);
    expect(stacks[2].resources.map((r) => r.impact)).toEqual([ResourceImpact.WILL_DESTROY]);
  });

  test('--fail-on names the check and the stacks', () => {
    expect(failures(stacks, ['destructive'])).toEqual(['destructive changes in Old']);
    expect(failures(stacks, ['broadening'])).toEqual([]);
    expect(failures(stacks, [])).toEqual([]);
  });
});

describe('renderMarkdown', () => {
  const widened = diffAssemblies(
    [stack('Ops', template({ P: policy([kinesisRead]), D: dashboard('a') }), undefined, { P: 'Ops/Failover/ServiceRole/DefaultPolicy/Resource', D: 'Ops/Dashboard/Resource' }), stack('Same', template({}))],
    [
      stack('Ops', template({ P: policy([{ ...kinesisRead, Resource: '*' }]), D: dashboard('a') }), undefined, { P: 'Ops/Failover/ServiceRole/DefaultPolicy/Resource', D: 'Ops/Dashboard/Resource' }),
      stack('Same', template({})),
    ],
  );
  const md = renderMarkdown(widened, { title: 'HEAD~1 (0123) → working tree' });

  test('a headline, then one open collapsible section for the stack that broadens permissions, none for the unchanged one', () => {
    expect(md).toMatch(/^## Template diff: HEAD~1 \(0123\) → working tree\n\n2 stack\(s\), 1 with differences; permissions broadened in Ops\.\n/);
    expect(md).toContain('<details open>\n<summary><strong>Ops</strong> <code>aws://111111111111/us-east-1</code>: changed: 1 update · PERMISSIONS BROADENED</summary>');
    expect(md).not.toContain('<strong>Same</strong>');
  });

  test('a resource table with construct paths and an IAM statement table', () => {
    expect(md).toContain('| ✏️ | Ops/Failover/ServiceRole/DefaultPolicy/Resource | P | AWS::IAM::Policy | update |');
    expect(md).toContain('**IAM statement changes** (permissions broadened)');
    expect(md).toMatch(/\| \+ \| \* \| Allow \| kinesis:GetRecords \| AWS:\$\{FnRole\} \| {2}\|/);
    expect(md).toMatch(/\| - \| \$\{Stream\.Arn\} \| Allow \| kinesis:GetRecords \|/);
  });

  test('the library\'s property diff in a collapsed block', () => {
    expect(md).toMatch(/<details><summary>Property changes<\/summary>\n\n```\nResources\n\[~\] AWS::IAM::Policy Failover\/ServiceRole\/DefaultPolicy P\n/);
  });

  test('a dashboard-only change: a closed section, an update, no warning', () => {
    const d = renderMarkdown(diffAssemblies([stack('Ops', template({ D: dashboard('a') }))], [stack('Ops', template({ D: dashboard('b') }))]));
    expect(d).toContain('<details>\n<summary><strong>Ops</strong> <code>aws://111111111111/us-east-1</code>: changed: 1 update</summary>');
    expect(d).toContain('| ✏️ |  | D | AWS::CloudWatch::Dashboard | update |');
    expect(d).not.toMatch(/REPLACE|Warnings|IAM/);
  });

  test('a long property diff is cut, saying how much is left out', () => {
    const body = (n: number): string => JSON.stringify({ widgets: Array.from({ length: 40 }, (_, i) => ({ i, text: `w${i}-${n}` })) }, null, 1);
    const d = renderMarkdown(diffAssemblies([stack('Ops', template({ D: dashboard(body(1)) }))], [stack('Ops', template({ D: dashboard(body(2)) }))]), { maxDiffLines: 5 });
    const block = d.slice(d.indexOf('```\n') + 4, d.lastIndexOf('\n```'));
    expect(block.split('\n')).toHaveLength(6);
    expect(block).toMatch(/\n… \d+ more line\(s\): run npm run template-diff locally for the whole diff$/);
  });

  test('a value with backticks gets a longer fence', () => {
    const d = renderMarkdown(diffAssemblies([stack('S', template({ Q: res('AWS::SQS::Queue', { A: 'x' }) }))], [stack('S', template({ Q: res('AWS::SQS::Queue', { A: 'has ``` inside' }) }))]));
    expect(d).toContain('\n````\nResources\n');
  });

  test('no differences', () => {
    const same = [stack('S', template({}))];
    expect(renderMarkdown(diffAssemblies(same, same))).toBe('## Template diff\n\n1 stack(s), 0 with differences.\n');
  });
});

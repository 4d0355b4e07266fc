import {
  ASSET_HASH_MASK,
  diffAssemblies,
  diffResource,
  diffStack,
  diffValues,
  formatChange,
  formatStatement,
  formatValue,
  maskAssetHashes,
  propertyImpact,
  renderMarkdown,
  renderText,
  type CfnResource,
  type Impact,
  type Json,
  type ResourceStatus,
} from '../../../scripts/lib/template-diff';
import { HASH_A, HASH_B, lambdaFn, policy, securityGroup, stack, stream, template } from '../fixtures';

const res = (Type: string, Properties?: Record<string, unknown>, attrs: Record<string, unknown> = {}): CfnResource =>
  ({ Type, ...(Properties !== undefined ? { Properties } : {}), ...attrs }) as CfnResource;

describe('propertyImpact', () => {
  test.each<[string, string, Impact]>([
    ['AWS::Kinesis::Stream', 'Name', 'replace'],
    ['AWS::Kinesis::Stream', 'ShardCount', 'update'],
    ['AWS::Kinesis::Stream', 'StreamEncryption', 'update'],
    ['AWS::Kinesis::StreamConsumer', 'StreamARN', 'replace'],
    ['AWS::DynamoDB::GlobalTable', 'KeySchema', 'replace'],
    ['AWS::DynamoDB::GlobalTable', 'TableName', 'replace'],
    ['AWS::DynamoDB::GlobalTable', 'Replicas', 'update'],
    ['AWS::DynamoDB::Table', 'KeySchema', 'replace'],
    ['AWS::S3::Bucket', 'BucketName', 'replace'],
    ['AWS::S3::Bucket', 'LifecycleConfiguration', 'update'],
    ['AWS::RedshiftServerless::Namespace', 'NamespaceName', 'replace'],
    ['AWS::RedshiftServerless::Workgroup', 'WorkgroupName', 'replace'],
    ['AWS::RedshiftServerless::Workgroup', 'BaseCapacity', 'update'],
    ['AWS::KMS::Key', 'KeySpec', 'rejected'],
    ['AWS::KMS::Key', 'MultiRegion', 'rejected'],
    ['AWS::KMS::Key', 'KeyPolicy', 'update'],
    ['AWS::Lambda::EventSourceMapping', 'StartingPosition', 'replace'],
    ['AWS::Lambda::EventSourceMapping', 'BatchSize', 'update'],
    ['AWS::KinesisFirehose::DeliveryStream', 'KinesisStreamSourceConfiguration', 'replace'],
    ['AWS::EC2::VPC', 'InstanceTenancy', 'may-replace'],
    ['AWS::EC2::VPC', 'EnableDnsSupport', 'update'],
    ['AWS::EC2::SecurityGroupIngress', 'FromPort', 'replace'],
    ['AWS::EC2::SecurityGroupIngress', 'Description', 'update'],
    ['AWS::Foo::Bar', 'Anything', 'may-replace'],
    ['Custom::SqlBootstrap', 'Statements', 'update'],
    ['AWS::CloudFormation::CustomResource', 'ServiceToken', 'update'],
  ])('%s.%s → %s', (type, property, expected) => {
    expect(propertyImpact(type, property)).toBe(expected);
  });
});

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

describe('diffValues', () => {
  test.each<[string, Json, Json, { path: string; kind: string }[]]>([
    ['equal values', { a: [1, { b: 2 }] }, { b: undefined as unknown as Json, a: [1, { b: 2 }] }, []],
    ['nested change', { a: { b: 1, c: 2 } }, { a: { b: 1, c: 3 } }, [{ path: 'a.c', kind: 'changed' }]],
    ['key added and removed', { a: 1 }, { b: 1 }, [
      { path: 'a', kind: 'removed' },
      { path: 'b', kind: 'added' },
    ]],
    ['same-length list by index', { l: [{ k: 1 }, { k: 2 }] }, { l: [{ k: 1 }, { k: 3 }] }, [{ path: 'l[1].k', kind: 'changed' }]],
    ['longer list: members added', { l: ['x', 'y'] }, { l: ['x', 'z', 'y'] }, [{ path: 'l[]', kind: 'added' }]],
    ['shorter list: members removed', { l: ['x', 'y', 'y'] }, { l: ['y'] }, [
      { path: 'l[]', kind: 'removed' },
      { path: 'l[]', kind: 'removed' },
    ]],
    ['intrinsics are leaves', { r: { Ref: 'A' } }, { r: { 'Fn::GetAtt': ['A', 'Arn'] } }, [{ path: 'r', kind: 'changed' }]],
    ['key order does not matter', { o: { a: 1, b: 2 } }, { o: { b: 2, a: 1 } }, []],
  ])('%s', (_name, before, after, expected) => {
    expect(diffValues(before, after).map(({ path, kind }) => ({ path, kind }))).toEqual(expected);
  });

  test('list members keep their values and top-level property', () => {
    const [change] = diffValues({ Tags: [{ Key: 'a', Value: '1' }] }, { Tags: [] });
    expect(change).toEqual({ path: 'Tags[]', top: 'Tags', kind: 'removed', oldValue: { Key: 'a', Value: '1' } });
  });
});

describe('formatValue', () => {
  test.each<[string, Json | undefined, string]>([
    ['Ref', { Ref: 'Bucket' }, '${Bucket}'],
    ['pseudo parameter', { Ref: 'AWS::Region' }, '${AWS::Region}'],
    ['GetAtt list', { 'Fn::GetAtt': ['Stream', 'Arn'] }, '${Stream.Arn}'],
    ['GetAtt string', { 'Fn::GetAtt': 'Stream.Arn' }, '${Stream.Arn}'],
    ['Join', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/*']] }, 'arn:${AWS::Partition}:s3:::b/*'],
    ['Sub', { 'Fn::Sub': ['${A}-x', { A: 'y' }] }, '${A}-x'],
    ['ImportValue', { 'Fn::ImportValue': 'Out' }, 'import("Out")'],
    ['other functions', { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }, 'Select(0, GetAZs(""))'],
    ['string', 'a"b', '"a\\"b"'],
    ['number', 24, '24'],
    ['object and list', { a: [1, { Ref: 'X' }] }, '{a: [1, ${X}]}'],
    ['absent', undefined, '(absent)'],
  ])('%s', (_name, value, expected) => {
    expect(formatValue(value)).toBe(expected);
  });
});

describe('formatChange', () => {
  test('short values are shown whole', () => {
    expect(formatChange('a', 'b')).toBe('"a" → "b"');
  });

  test('long values with a long common prefix are shown from just before their first difference', () => {
    const prefix = 'p'.repeat(200);
    const text = formatChange(`${prefix}OLD-tail`, `${prefix}NEW-tail`, 60);
    expect(text).toContain('OLD-tail');
    expect(text).toContain('NEW-tail');
    expect(text.length).toBeLessThan(2 * 60 + 5);
  });

  test('long values are truncated with an ellipsis', () => {
    const text = formatChange('x'.repeat(500), 'y', 50);
    expect(text).toBe(`"${'x'.repeat(48)}… → "y"`);
  });
});

describe('diffResource', () => {
  test.each<[string, CfnResource | undefined, CfnResource | undefined, ResourceStatus | undefined]>([
    ['added', undefined, stream(), 'added'],
    ['removed', stream(), undefined, 'removed'],
    ['replacing property (stream Name)', stream({ Name: 'a' }), stream({ Name: 'b' }), 'replaced'],
    ['in-place property (ShardCount)', stream(), stream({ ShardCount: 2 }), 'updated'],
    ['type changed (CloudFormation rejects it)', stream(), res('AWS::SQS::Queue', {}), 'rejected'],
    ['table key schema', res('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }] }),
      res('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }] }), 'replaced'],
    ['immutable KMS property', res('AWS::KMS::Key', { KeySpec: 'SYMMETRIC_DEFAULT' }), res('AWS::KMS::Key', { KeySpec: 'RSA_2048' }), 'rejected'],
    ['unknown type', res('AWS::Foo::Bar', { X: 1 }), res('AWS::Foo::Bar', { X: 2 }), 'may-replace'],
    ['only the asset hash', lambdaFn(HASH_A), lambdaFn(HASH_B), 'asset'],
    ['asset hash and a real change', lambdaFn(HASH_A), lambdaFn(HASH_B, { MemorySize: 1024 }), 'updated'],
    ['only Metadata', res('AWS::SQS::Queue', {}, { Metadata: { a: 1 } }), res('AWS::SQS::Queue', {}, { Metadata: { a: 2 } }), undefined],
    ['DeletionPolicy', res('AWS::SQS::Queue', {}, { DeletionPolicy: 'Retain' }), res('AWS::SQS::Queue', {}, { DeletionPolicy: 'Delete' }), 'updated'],
    ['DependsOn order only', res('AWS::SQS::Queue', {}, { DependsOn: ['A', 'B'] }), res('AWS::SQS::Queue', {}, { DependsOn: ['B', 'A'] }), undefined],
  ])('%s → %s', (_name, before, after, expected) => {
    expect(diffResource('R', before, after)?.status).toBe(expected);
  });

  test.each<[string, CfnResource, CfnResource | undefined, { attribute: string; value: string } | undefined]>([
    ['removed, retained', res('AWS::S3::Bucket', {}, { DeletionPolicy: 'Retain' }), undefined, { attribute: 'DeletionPolicy', value: 'Retain' }],
    ['removed, default', stream(), undefined, { attribute: 'DeletionPolicy', value: 'Delete' }],
    ['replaced: UpdateReplacePolicy, not DeletionPolicy', res('AWS::S3::Bucket', { BucketName: 'a' }, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Snapshot' }),
      res('AWS::S3::Bucket', { BucketName: 'b' }, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Snapshot' }), { attribute: 'UpdateReplacePolicy', value: 'Snapshot' }],
    ['replaced, default', stream({ Name: 'a' }), stream({ Name: 'b' }), { attribute: 'UpdateReplacePolicy', value: 'Delete' }],
    ['updated in place', stream(), stream({ ShardCount: 2 }), undefined],
  ])('what happens to the old physical resource: %s', (_name, before, after, expected) => {
    expect(diffResource('R', before, after)?.oldResourcePolicy).toEqual(expected);
  });

  test.each<[string, CfnResource, CfnResource, string | undefined]>([
    ['table key schema with a fixed TableName', res('AWS::DynamoDB::GlobalTable', { TableName: 't', KeySchema: ['a'] }),
      res('AWS::DynamoDB::GlobalTable', { TableName: 't', KeySchema: ['b'] }), 'TableName'],
    ['renamed as well', res('AWS::DynamoDB::GlobalTable', { TableName: 't', KeySchema: ['a'] }),
      res('AWS::DynamoDB::GlobalTable', { TableName: 'u', KeySchema: ['b'] }), undefined],
    ['generated name', res('AWS::DynamoDB::GlobalTable', { KeySchema: ['a'] }), res('AWS::DynamoDB::GlobalTable', { KeySchema: ['b'] }), undefined],
  ])('custom-named replacement: %s', (_name, before, after, expected) => {
    expect(diffResource('T', before, after)?.customName).toBe(expected);
  });

  test('property changes are path-level with old and new values and their impact', () => {
    const change = diffResource('S', stream({ Name: 'a' }), stream({ Name: 'b', ShardCount: 4 }));
    expect(change?.properties).toEqual([
      { path: 'Name', property: 'Name', kind: 'changed', oldValue: 'a', newValue: 'b', assetOnly: false, impact: 'replace' },
      { path: 'ShardCount', property: 'ShardCount', kind: 'changed', oldValue: 1, newValue: 4, assetOnly: false, impact: 'update' },
    ]);
  });

  test('an asset-only property change is flagged as such', () => {
    const change = diffResource('F', lambdaFn(HASH_A), lambdaFn(HASH_B, { MemorySize: 1024 }));
    expect(change?.properties.map((p) => [p.path, p.assetOnly])).toEqual([
      ['Code.S3Key', true],
      ['MemorySize', false],
    ]);
  });
});

describe('diffStack: IAM changes', () => {
  const kinesisRead = { Effect: 'Allow', Action: ['kinesis:GetRecords', 'kinesis:DescribeStream'], Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } };
  const kmsDecrypt = { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['Key', 'Arn'] } };

  test.each<[string, Record<string, CfnResource>, Record<string, CfnResource>, { status: string; facet: string; added: string[]; removed: string[] }[]]>([
    ['statement added to a policy', { P: policy([kinesisRead]) }, { P: policy([kinesisRead, kmsDecrypt]) }, [
      { status: 'changed', facet: 'policy', added: ['Allow kms:Decrypt on ${Key.Arn}'], removed: [] },
    ]],
    ['action added to a statement', { P: policy([kinesisRead]) },
      { P: policy([{ ...kinesisRead, Action: [...kinesisRead.Action, 'kinesis:ListShards'] }]) }, [
        {
          status: 'changed',
          facet: 'policy',
          added: ['Allow kinesis:DescribeStream, kinesis:GetRecords, kinesis:ListShards on ${Stream.Arn}'],
          removed: ['Allow kinesis:DescribeStream, kinesis:GetRecords on ${Stream.Arn}'],
        },
      ]],
    ['new role with a trust policy and a managed policy', {}, {
      Role: res('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'redshift.amazonaws.com' } }] },
        ManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnly'],
      }),
    }, [
      { status: 'added', facet: 'managed policies', added: ['arn:aws:iam::aws:policy/ReadOnly'], removed: [] },
      { status: 'added', facet: 'trust policy', added: ['Allow sts:AssumeRole (principal: Service redshift.amazonaws.com)'], removed: [] },
    ]],
    ['removed policy', { P: policy([kmsDecrypt]) }, {}, [
      { status: 'removed', facet: 'attached to roles', added: [], removed: ['${FnRole}'] },
      { status: 'removed', facet: 'policy', added: [], removed: ['Allow kms:Decrypt on ${Key.Arn}'] },
    ]],
    ['key policy of a KMS key', { K: res('AWS::KMS::Key', { KeyPolicy: { Statement: [kmsDecrypt] } }) },
      { K: res('AWS::KMS::Key', { KeyPolicy: { Statement: [{ ...kmsDecrypt, Principal: { AWS: '*' } }] } }) }, [
        {
          status: 'changed',
          facet: 'key policy',
          added: ['Allow kms:Decrypt on ${Key.Arn} (principal: AWS *)'],
          removed: ['Allow kms:Decrypt on ${Key.Arn}'],
        },
      ]],
    ['bucket policy condition', { BP: res('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] } }) },
      { BP: res('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: [] } }) }, [
        { status: 'changed', facet: 'policy', added: [], removed: ['Deny s3:* (condition: {Bool: {aws:SecureTransport: "false"}})'] },
      ]],
    ['Lambda invoke permission', {}, { Perm: res('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', FunctionName: { Ref: 'Fn' }, Principal: 'sns.amazonaws.com', SourceArn: { Ref: 'Topic' } }) }, [
      { status: 'added', facet: 'invoke permission', added: ['sns.amazonaws.com may lambda:InvokeFunction ${Fn} from ${Topic}'], removed: [] },
    ]],
    ['asset hashes in policies are masked', { P: policy([{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::b/${HASH_A}.zip` }]) },
      { P: policy([{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::b/${HASH_B}.zip` }]) }, []],
    ['non-IAM change', { S: stream() }, { S: stream({ ShardCount: 3 }) }, []],
  ])('%s', (_name, before, after, expected) => {
    const diff = diffStack(stack('S', template(before)), stack('S', template(after)));
    expect(diff.iam.flatMap((c) => c.facets.map((f) => ({ status: c.status, ...f })))).toEqual(expected);
  });
});

describe('diffStack: security-group changes', () => {
  const ingress5439 = { IpProtocol: 'tcp', FromPort: 5439, ToPort: 5439, SourceSecurityGroupId: { Ref: 'ClientSg' } };

  test.each<[string, Record<string, CfnResource>, Record<string, CfnResource>, { facet: string; added: string[]; removed: string[] }[]]>([
    ['inline ingress opened to the world', { Sg: securityGroup([ingress5439]) },
      { Sg: securityGroup([{ ...ingress5439, SourceSecurityGroupId: undefined, CidrIp: '0.0.0.0/0' }]) }, [
        { facet: 'rules', added: ['ingress tcp 5439 from 0.0.0.0/0'], removed: ['ingress tcp 5439 from ${ClientSg}'] },
      ]],
    ['port range', { Sg: securityGroup([]) }, { Sg: securityGroup([{ IpProtocol: 'tcp', FromPort: 1024, ToPort: 2048, CidrIp: '10.0.0.0/8' }]) }, [
      { facet: 'rules', added: ['ingress tcp 1024-2048 from 10.0.0.0/8'], removed: [] },
    ]],
    ['standalone ingress resource', {}, { In: res('AWS::EC2::SecurityGroupIngress', { ...ingress5439, GroupId: { 'Fn::GetAtt': ['Sg', 'GroupId'] } }) }, [
      { facet: 'rules', added: ['ingress on ${Sg.GroupId} tcp 5439 from ${ClientSg}'], removed: [] },
    ]],
    ['security group attached to a function', { Fn: res('AWS::Lambda::Function', { VpcConfig: { SecurityGroupIds: [{ Ref: 'A' }] } }) },
      { Fn: res('AWS::Lambda::Function', { VpcConfig: { SecurityGroupIds: [{ Ref: 'B' }] } }) }, [
        { facet: 'attached security groups', added: ['VpcConfig.SecurityGroupIds: ${B}'], removed: ['VpcConfig.SecurityGroupIds: ${A}'] },
      ]],
    ['description-only change elsewhere', { Sg: securityGroup([ingress5439]) }, { Sg: securityGroup([ingress5439]) }, []],
  ])('%s', (_name, before, after, expected) => {
    const clean = (r: Record<string, CfnResource>): Record<string, CfnResource> => JSON.parse(JSON.stringify(r)) as Record<string, CfnResource>;
    const diff = diffStack(stack('S', template(clean(before))), stack('S', template(clean(after))));
    expect(diff.securityGroups.flatMap((c) => c.facets)).toEqual(expected);
  });
});

describe('diffStack: other sections and metadata', () => {
  test('Outputs and Parameters are compared; AWS::CDK::Metadata is ignored', () => {
    const before = template(
      { CDKMetadata: res('AWS::CDK::Metadata', { Analytics: 'v2:deflate64:AAA' }), Q: res('AWS::SQS::Queue', {}) },
      { Outputs: { Arn: { Value: { Ref: 'Q' } }, Old: { Value: 'x' } } } as never,
    );
    const after = template(
      { CDKMetadata: res('AWS::CDK::Metadata', { Analytics: 'v2:deflate64:BBB' }), Q: res('AWS::SQS::Queue', {}) },
      { Outputs: { Arn: { Value: { 'Fn::GetAtt': ['Q', 'Arn'] } } }, Parameters: { P: { Type: 'String' } } } as never,
    );
    const diff = diffStack(stack('S', before), stack('S', after));
    expect(diff.resources).toEqual([]);
    expect(diff.sections.map(({ section, name, kind }) => `${section}.${name} ${kind}`)).toEqual([
      'Parameters.P added',
      'Outputs.Arn changed',
      'Outputs.Old removed',
    ]);
    expect(diff.status).toBe('changed');
  });
});

describe('diffAssemblies', () => {
  test('pairs stacks by name and environment; reports added, removed and unchanged stacks', () => {
    const east = 'aws://1/us-east-1';
    const west = 'aws://1/us-west-2';
    const diff = diffAssemblies(
      [stack('Region', template({ S: stream() }), east), stack('Old', template({ S: stream() }), east)],
      [stack('Region', template({ S: stream() }), east), stack('Region', template({ S: stream() }), west)],
    );
    expect(diff.stacks.map((s) => `${s.displayName} ${s.environment} ${s.status}`)).toEqual([
      `Region ${east} unchanged`,
      `Region ${west} added`,
      `Old ${east} removed`,
    ]);
    expect(diff.stacks[1].resources.map((r) => r.status)).toEqual(['added']);
    expect(diff.stacks[2].resources.map((r) => r.status)).toEqual(['removed']);
  });

  test('resources are listed most dangerous first', () => {
    const diff = diffStack(
      stack('S', template({ A: stream(), B: stream({ Name: 'x' }), C: lambdaFn(HASH_A), D: res('AWS::Foo::Bar', { X: 1 }) })),
      stack('S', template({ A: stream({ ShardCount: 2 }), B: stream({ Name: 'y' }), C: lambdaFn(HASH_B), E: stream() })),
    );
    expect(diff.resources.map((r) => `${r.logicalId}:${r.status}`)).toEqual(['B:replaced', 'D:removed', 'E:added', 'A:updated', 'C:asset']);
  });
});

describe('renderText', () => {
  const diff = diffAssemblies(
    [stack('State', template({ S: stream({ Name: 'a' }), F: lambdaFn(HASH_A), P: policy([]), Gone: res('AWS::S3::Bucket', {}, { DeletionPolicy: 'Retain' }) }))],
    [stack('State', template({ S: stream({ Name: 'b' }), F: lambdaFn(HASH_B), P: policy([{ Effect: 'Allow', Action: 'kinesis:PutRecords', Resource: '*' }]) }))],
  );
  const text = renderText(diff);

  test.each([
    ['the stack summary', 'Stack State [aws://111111111111/us-east-1]: changed — 1 removed, 1 replaced, 1 updated, 1 code asset changed, 1 IAM'],
    ['the replacement and its cause', '! AWS::Kinesis::Stream S  REPLACE  (old resource deleted)'],
    ['the replacing property', 'Name: "a" → "b"  [replaces]'],
    ['a retained removed resource', '- AWS::S3::Bucket Gone  (DeletionPolicy Retain: old resource kept, no longer managed)'],
    ['the code asset change', '~ AWS::Lambda::Function F  code asset changed'],
    ['a pointer to the IAM section', 'PolicyDocument: see IAM changes'],
    ['the IAM section', 'IAM changes'],
    ['the added statement', '+       Allow kinesis:PutRecords on *'],
  ])('shows %s', (_name, line) => {
    expect(text).toContain(line);
  });

  test.each<[string, CfnResource, CfnResource, string[]]>([
    ['an immutable KMS property', res('AWS::KMS::Key', { KeySpec: 'SYMMETRIC_DEFAULT' }), res('AWS::KMS::Key', { KeySpec: 'RSA_2048' }), [
      '  ! AWS::KMS::Key R  UPDATE REJECTED',
      '          KeySpec: "SYMMETRIC_DEFAULT" → "RSA_2048"  [rejected: immutable]',
    ]],
    ['a type change', stream(), res('AWS::SQS::Queue', {}), [
      '  ! AWS::Kinesis::Stream → AWS::SQS::Queue R  UPDATE REJECTED (type changed under the same logical id)',
    ]],
    ['a custom-named replacement', res('AWS::DynamoDB::GlobalTable', { TableName: 't', KeySchema: ['a'] }, { UpdateReplacePolicy: 'Retain' }),
      res('AWS::DynamoDB::GlobalTable', { TableName: 't', KeySchema: ['b'] }, { UpdateReplacePolicy: 'Retain' }), [
        '  ! AWS::DynamoDB::GlobalTable R  REPLACE  (UpdateReplacePolicy Retain: old resource kept, no longer managed)',
        '          TableName is a custom name and unchanged: CloudFormation cannot replace a custom-named resource (the update fails); change the name too',
        '          KeySchema[0]: "a" → "b"  [replaces]',
      ]],
  ])('renders %s', (_name, before, after, expected) => {
    const lines = renderText(diffAssemblies([stack('S', template({ R: before }))], [stack('S', template({ R: after }))])).split('\n');
    const start = lines.indexOf('  Resources') + 1;
    expect(lines.slice(start, start + expected.length)).toEqual(expected);
  });

  test('never shows a raw asset hash', () => {
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  test('says so when nothing changed', () => {
    const same = [stack('S', template({ S: stream() }))];
    expect(renderText(diffAssemblies(same, same))).toBe('Template diff: 1 stack(s), 0 with differences, 1 unchanged\n\nNo differences.\n');
  });

  test('truncates long values', () => {
    const long = diffAssemblies(
      [stack('S', template({ Q: res('AWS::SQS::Queue', { RedrivePolicy: 'x' }) }))],
      [stack('S', template({ Q: res('AWS::SQS::Queue', { RedrivePolicy: 'y'.repeat(1000) }) }))],
    );
    const line = renderText(long, { maxValueLength: 40 }).split('\n').find((l) => l.includes('RedrivePolicy'));
    expect(line).toBe(`          RedrivePolicy: "x" → "${'y'.repeat(38)}…`);
  });
});

describe('renderMarkdown', () => {
  test('a summary table, a warning for replacements and a diff block per changed stack', () => {
    const md = renderMarkdown(
      diffAssemblies(
        [stack('State', template({ S: stream({ Name: 'a' }) })), stack('Same', template({}))],
        [stack('State', template({ S: stream({ Name: 'b' }) })), stack('Same', template({}))],
      ),
    );
    expect(md).toContain('| State | aws://111111111111/us-east-1 | changed ⚠️ | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 0 |');
    expect(md).not.toContain('| Same |');
    expect(md).toContain('\nUnchanged (1): Same\n');
    expect(md).toContain('> [!WARNING]');
    expect(md).toContain('```diff\nResources\n! AWS::Kinesis::Stream S  REPLACE  (old resource deleted)\n');
    expect(md).not.toContain('### Same');
  });

  test('a value with backticks gets a longer fence', () => {
    const md = renderMarkdown(
      diffAssemblies(
        [stack('S', template({ Q: res('AWS::SQS::Queue', { A: 'x' }) }))],
        [stack('S', template({ Q: res('AWS::SQS::Queue', { A: 'has ``` inside' }) }))],
      ),
    );
    expect(md).toContain('````diff\n');
    expect(md.trimEnd().endsWith('````')).toBe(true);
  });

  test('no differences', () => {
    const same = [stack('S', template({}))];
    expect(renderMarkdown(diffAssemblies(same, same))).toBe('## Template diff\n\nNo differences in 1 stack(s).\n');
  });
});

describe('formatStatement', () => {
  test.each<[string, Json, string]>([
    ['NotAction and NotResource', { Effect: 'Deny', NotAction: 'iam:*', NotResource: ['b', 'a'] }, 'Deny NOT iam:* on NOT a, b'],
    ['a whole statement as an intrinsic', { 'Fn::If': ['C', { Effect: 'Allow' }, { Ref: 'AWS::NoValue' }] }, 'If("C", {Effect: "Allow"}, ${AWS::NoValue})'],
  ])('%s', (_name, statement, expected) => {
    expect(formatStatement(statement)).toBe(expected);
  });
});

/**
 * Issue 10, CloudFormation half: what the first `cdk deploy` into a fresh account needs, read from the synthesized
 * templates of every shipped environment (each test fails on the templates before the fix).
 */
import { Annotations, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EnvironmentConfig } from '../../lib/config';
import { alarmTopicName } from '../../lib/names';
import { acknowledgeNagFindings } from '../../lib/nag-acknowledgements';
import { addEnvironment, checkStreamRecordSizes } from '../../lib/redstream-app';
import { putRecordsRequestBudgetBytes } from '../../lib/replicator';
import { WORKGROUP_CONFIG_PARAMETERS } from '../../lib/warehouse-stack';
import { EventStream } from '../../lib/event-stream';
import { allStacks, BuiltEnvironment, environmentFrom, newApp, shippedEnvironment } from '../helpers/cdk-app';

/**
 * Builds an environment as the app does, without bundling the functions (context `aws:cdk:bundling-stacks` = []):
 * these tests read templates, not code, and bundling costs seconds per function.
 */
function buildEnvironment(config: EnvironmentConfig): BuiltEnvironment {
  const app = newApp();
  app.node.setContext('aws:cdk:bundling-stacks', []);
  const stacks = addEnvironment(app, config);
  acknowledgeNagFindings(stacks);
  return { app, ...stacks };
}

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties?: Json; DependsOn?: string[] }>;

const SHIPPED = ['dev', 'staging', 'prod'] as const;
const built = new Map<string, BuiltEnvironment>();
const env = (name: string): BuiltEnvironment => {
  if (!built.has(name)) built.set(name, buildEnvironment(shippedEnvironment(name)));
  return built.get(name)!;
};
const templateOf = (stack: Stack): { Resources: Resources; Outputs?: Record<string, Json> } => Template.fromStack(stack).toJSON() as { Resources: Resources };

/** A small environment built from a literal (no warehouse-heavy defaults beyond what the test varies). */
function custom(raw: Json): BuiltEnvironment {
  return buildEnvironment(
    environmentFrom({
      account: '123456789012',
      primaryRegion: 'us-east-1',
      standbyRegions: ['us-west-2'],
      streams: [{ name: 'events' }],
      warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'] } },
      ...raw,
    }),
  );
}

function statementsOf(policy: { Properties?: Json }): Json[] {
  const doc = policy.Properties!.PolicyDocument as { Statement: Json[] };
  return doc.Statement;
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('1. every topic an alarm notifies lets CloudWatch publish', () => {
  /**
   * Resolves an alarm action to the Region stack's topic it names: a Ref inside the Region stack, or the topic's ARN
   * (built from its deterministic name) from the Ops and Warehouse stacks.
   */
  function topicOf(envName: string, b: BuiltEnvironment, stack: Stack, action: unknown): { stack: Stack; logicalId: string } {
    const region = b.regions.get(stack.region)!;
    if (typeof action === 'object' && action !== null && 'Ref' in action && stack === region) {
      return { stack: region, logicalId: (action as { Ref: string }).Ref };
    }
    expect(action).toBe(`arn:aws:sns:${stack.region}:${stack.account}:${alarmTopicName(envName)}`);
    const [logicalId] = Object.entries(templateOf(region).Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic' && r.Properties?.TopicName === alarmTopicName(envName))!;
    return { stack: region, logicalId };
  }

  test.each(SHIPPED)('%s: each alarm action\'s topic policy allows cloudwatch.amazonaws.com to publish, for this account\'s alarms, and its key lets it', (name) => {
    const b = env(name);
    let actions = 0;
    for (const stack of allStacks(b)) {
      const alarms = Object.values(templateOf(stack).Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm');
      for (const alarm of alarms) {
        for (const action of [...asList(alarm.Properties!.AlarmActions), ...asList(alarm.Properties!.OKActions)]) {
          actions++;
          const topic = topicOf(name, b, stack, action);
          const resources = templateOf(topic.stack).Resources;
          const policies = Object.values(resources).filter(
            (r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties!.Topics) === JSON.stringify([{ Ref: topic.logicalId }]),
          );
          expect(policies).toHaveLength(1);
          const allow = statementsOf(policies[0]).find(
            (s) => s.Effect === 'Allow' && JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }) && asList(s.Action).includes('sns:Publish'),
          );
          expect(allow).toMatchObject({
            Resource: { Ref: topic.logicalId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': stack.account },
              ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
            },
          });
          // An encrypted topic: CloudWatch also needs the key.
          const keyRef = (resources[topic.logicalId].Properties!.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
          const keyStatements = statementsOf({ Properties: { PolicyDocument: resources[keyRef].Properties!.KeyPolicy } });
          expect(keyStatements).toContainEqual(
            expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
          );
        }
      }
    }
    // Not vacuous: the Region, Ops and Warehouse stacks all have notifying alarms.
    expect(actions).toBeGreaterThan(10);
  });
});

describe('3. warehouse subnets and the Kinesis endpoint placed by AZ ID; case-sensitive identifiers on the workgroup', () => {
  test.each(SHIPPED)('%s: three subnets with the configured AvailabilityZoneId each (no zone name), endpoint and workgroup in them', (name) => {
    const b = env(name);
    const config = shippedEnvironment(name);
    for (const [region, warehouse] of b.warehouses) {
      const t = Template.fromStack(warehouse);
      const subnets = t.findResources('AWS::EC2::Subnet');
      expect(Object.values(subnets).map((s) => s.Properties.AvailabilityZoneId)).toEqual(config.warehouse.availabilityZoneIds[region]);
      for (const s of Object.values(subnets)) expect(s.Properties.AvailabilityZone).toBeUndefined();
      const refs = Object.keys(subnets).map((id) => ({ Ref: id }));
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: `com.amazonaws.${region}.kinesis-streams`, SubnetIds: refs });
      t.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
        SubnetIds: refs,
        ConfigParameters: Match.arrayWith([{ ParameterKey: 'enable_case_sensitive_identifier', ParameterValue: 'true' }]),
      });
    }
  });

  test('the workgroup parameters are the documented one', () => {
    expect(WORKGROUP_CONFIG_PARAMETERS).toEqual({ enable_case_sensitive_identifier: 'true' });
  });

  test('a warehouse Region without AZ IDs fails synth naming the field and the fix', () => {
    expect(() => custom({ warehouse: {} })).toThrow(
      /redstream:environments\.test\.warehouse\.availabilityZoneIds\.us-east-1: missing: .*fix: list three AZ IDs of us-east-1, e\.g\. \["use1-az1", "use1-az2", "use1-az3"\]/,
    );
  });
});

describe('4. no cross-stack exports between the Region, Ops and Warehouse stacks', () => {
  test.each(SHIPPED)('%s: no stack exports a value another stack imports; order comes from stack dependencies', (name) => {
    const b = env(name);
    const exported = new Set<string>();
    const imported: string[] = [];
    for (const stack of allStacks(b)) {
      const t = templateOf(stack);
      for (const output of Object.values(t.Outputs ?? {})) {
        const exportName = (output.Export as { Name?: unknown } | undefined)?.Name;
        if (exportName !== undefined) exported.add(JSON.stringify(exportName));
      }
      JSON.stringify(t, (key, value: unknown) => {
        if (key === 'Fn::ImportValue') imported.push(`${stack.stackName} imports ${JSON.stringify(value)}`);
        return value;
      });
    }
    expect(imported).toEqual([]);
    expect([...exported]).toEqual([]);
    for (const [region, stack] of [...b.ops, ...b.warehouses]) expect(stack.dependencies).toContain(b.regions.get(region));
  });

  test('the Ops and Warehouse stacks address the Region stack\'s streams, topic and keys by name', () => {
    const ops = Template.fromStack(env('dev').ops.get('us-east-1')!);
    ops.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: ['arn:aws:sns:us-east-1:111111111111:redstream-dev-alarms'] });
    const opsPolicy = JSON.stringify(ops.findResources('AWS::IAM::Policy'));
    expect(opsPolicy).toContain('"kms:ResourceAliases":"alias/redstream-dev-alarms"');
    const warehouse = Template.fromStack(env('dev').warehouses.get('us-east-1')!);
    const policies = JSON.stringify(warehouse.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('arn:aws:kinesis:us-east-1:111111111111:stream/redstream-dev-events');
    expect(policies).toContain('"kms:ResourceAliases":"alias/redstream-dev-streams"');
  });
});

describe('5. reserved concurrency: opt-in, and never fighting the failover', () => {
  const replicator = (b: BuiltEnvironment, region: string) =>
    Object.values(templateOf(b.regions.get(region)!).Resources).find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties!.FunctionName).endsWith('-replicator'))!;

  test.each(SHIPPED)('%s: no reservation in the template (a low-quota account deploys; the failover owns the live value)', (name) => {
    for (const region of env(name).regions.keys()) expect(replicator(env(name), region).Properties!.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('opted in without moveReservedConcurrency, the template sets it in every Region', () => {
    const b = custom({ replicator: { reservedConcurrency: 7 } });
    for (const region of b.regions.keys()) expect(replicator(b, region).Properties!.ReservedConcurrentExecutions).toBe(7);
  });

  test('with moveReservedConcurrency the template leaves it unset and the failover function carries the value', () => {
    const b = custom({ replicator: { reservedConcurrency: 7 }, failover: { moveReservedConcurrency: true } });
    for (const region of b.regions.keys()) expect(replicator(b, region).Properties!.ReservedConcurrentExecutions).toBeUndefined();
    Template.fromStack(b.ops.get('us-east-1')!).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REPLICATOR_RESERVED_CONCURRENCY: '7' }) },
    });
  });
});

/** Whether an IAM action pattern (with `*` and `?`) covers a concrete action. */
function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(action);
}

describe('6. the archive delivery role cannot delete or rewrite history', () => {
  const FORBIDDEN = [
    's3:DeleteObject',
    's3:DeleteObjectVersion',
    's3:DeleteObjectTagging',
    's3:PutObjectRetention',
    's3:PutObjectLegalHold',
    's3:PutBucketPolicy',
    's3:PutLifecycleConfiguration',
    'kms:ReEncryptFrom',
    'kms:ReEncryptTo',
  ];

  /** Every action granted to the role a delivery stream writes to S3 with (all policies attached to that role). */
  function deliveryRoleActions(resources: Resources): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::KinesisFirehose::DeliveryStream') continue;
      const roleArn = (r.Properties!.ExtendedS3DestinationConfiguration as Json).RoleARN as { 'Fn::GetAtt': [string, string] };
      const role = roleArn['Fn::GetAtt'][0];
      const actions = Object.values(resources)
        .filter((p) => p.Type === 'AWS::IAM::Policy' && JSON.stringify(p.Properties!.Roles).includes(`"${role}"`))
        .flatMap((p) => statementsOf(p).filter((s) => s.Effect === 'Allow').flatMap((s) => asList(s.Action as string | string[])));
      const inline = asList(resources[role].Properties!.Policies as Array<{ PolicyDocument: { Statement: Json[] } }>).flatMap((p) =>
        p.PolicyDocument.Statement.flatMap((s) => asList(s.Action as string | string[])),
      );
      const managed = resources[role].Properties!.ManagedPolicyArns;
      expect(managed).toBeUndefined();
      out.set(id, [...actions, ...inline]);
    }
    return out;
  }

  test.each(SHIPPED)('%s: no s3:DeleteObject*, PutObjectRetention, kms:ReEncrypt* (nor a wildcard covering them), only what delivery needs', (name) => {
    for (const region of env(name).regions.values()) {
      const roles = deliveryRoleActions(templateOf(region).Resources);
      expect(roles.size).toBe(shippedEnvironment(name).streams.length);
      for (const actions of roles.values()) {
        for (const forbidden of FORBIDDEN) expect(actions.filter((a) => covers(a, forbidden))).toEqual([]);
        // Delivery, plus invoking the archive's transformation function (issue 11) and nothing else.
        expect([...new Set(actions)].sort()).toEqual([
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'lambda:GetFunctionConfiguration',
          'lambda:InvokeFunction',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:GetObject',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
          's3:PutObject',
        ]);
      }
    }
  });

  test('objects only under the stream\'s own prefixes; the key only through S3; the stream waits for the role\'s policy', () => {
    const resources = templateOf(env('dev').regions.get('us-east-1')!).Resources;
    const [policy] = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.includes('ArchiveRole'));
    const bySid = Object.fromEntries(statementsOf(policy[1]).map((s) => [s.Sid, s]));
    expect(JSON.stringify(bySid.ArchiveObjects.Resource)).toMatch(/"\/errors\/events\/\*".*"\/events\/\*"/);
    expect(bySid.ArchiveKeyThroughS3.Condition).toMatchObject({ StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } });
    const [, stream] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')!;
    expect(stream.DependsOn).toContain(policy[0]);
  });

  test('a transformation function is granted exactly invoke and get-configuration on it', () => {
    const stack = new Stack(undefined, 'T', { env: { account: '123456789012', region: 'us-east-1' } });
    const key = new kms.Key(stack, 'K');
    const bucket = new s3.Bucket(stack, 'B', { encryptionKey: key });
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:transform');
    new EventStream(stack, 'S', { streamName: 's', archivePrefix: 's', encryptionKey: key, archiveBucket: bucket, archiveTransform: fn });
    const resources = templateOf(stack).Resources;
    const roleActions = deliveryRoleActions(resources);
    const [actions] = [...roleActions.values()];
    expect(actions).toEqual(expect.arrayContaining(['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration']));
    for (const forbidden of FORBIDDEN) expect(actions.filter((a) => covers(a, forbidden))).toEqual([]);
    Template.fromStack(stack).hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        ProcessingConfiguration: { Enabled: true, Processors: [Match.objectLike({ Type: 'Lambda' })] },
      }),
    });
  });
});

describe('7. the stream iterator-age alarm says what it covers', () => {
  test('GetRecords consumers only: it names the archive and the warehouse, and says enhanced fan-out (the replicator) is not in it', () => {
    const alarms = Template.fromStack(env('dev').regions.get('us-east-1')!).findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'GetRecords.IteratorAgeMilliseconds' },
    });
    const descriptions = Object.values(alarms).map((a) => a.Properties.AlarmDescription as string);
    expect(descriptions).toHaveLength(1);
    expect(descriptions[0]).not.toMatch(/check the replicator/i);
    expect(descriptions[0]).toMatch(/Firehose archive or Redshift streaming ingestion/);
    expect(descriptions[0]).toMatch(/enhanced fan-out, which this metric does not include/);
  });
});

describe('8. maximum record size per stream', () => {
  test('set on every Region\'s copy of each stream from config (staging telemetry raised to 2 MiB)', () => {
    for (const region of env('staging').regions.values()) {
      const t = Template.fromStack(region);
      t.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'redstream-staging-events', MaxRecordSizeInKiB: 1024 });
      t.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'redstream-staging-telemetry', MaxRecordSizeInKiB: 2048 });
    }
  });

  test.each<[string, number, number]>([
    ['default 1 MiB records', 1024, 5 * 1024 * 1024],
    ['4 MiB records still fit the 5 MiB budget', 4096, 5 * 1024 * 1024],
    ['8 MiB records raise the budget to 8 MiB', 8192, 8 * 1024 * 1024],
    ['10 MiB records: the 10 MiB request limit', 10240, 10 * 1024 * 1024],
  ])('the replicator\'s request budget: %s', (_what, kib, budget) => {
    expect(putRecordsRequestBudgetBytes(kib * 1024)).toBe(budget);
  });

  test('the replicator gets the budget of the largest record any of its streams takes', () => {
    const b = custom({ streams: [{ name: 'events' }, { name: 'big', maxRecordSizeKiB: 8192 }] });
    // Records this large cannot all become archive lines (lib/archive-transform.ts warns); known here. Every Region
    // before the first synth, which synthesizes them all.
    for (const region of b.regions.values()) Annotations.of(region).acknowledgeWarning('redstream:archiveRecordSize', 'the test raises the record size on purpose');
    for (const region of b.regions.values()) {
      Template.fromStack(region).hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 'redstream-test-replicator',
        Environment: { Variables: Match.objectLike({ MAX_REQUEST_BYTES: String(8 * 1024 * 1024) }) },
      });
      Template.fromStack(region).hasResourceProperties('AWS::Kinesis::Stream', { Name: 'redstream-test-big', MaxRecordSizeInKiB: 8192 });
    }
    const shipped = Template.fromStack(env('dev').regions.get('us-east-1')!);
    shipped.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'redstream-dev-replicator', Environment: { Variables: Match.objectLike({ MAX_REQUEST_BYTES: String(5 * 1024 * 1024) }) } });
  });

  test('a Region whose copy of a stream differs fails synth, naming the stream and the fix', () => {
    const b = custom({ streams: [{ name: 'events', maxRecordSizeKiB: 2048 }] });
    const west = b.regions.get('us-west-2')!.streams.get('events')!;
    (west.stream.node.defaultChild as kinesis.CfnStream).maxRecordSizeInKiB = 1024;
    expect(() => checkStreamRecordSizes(b.regions)).toThrow(
      "stream events: maxRecordSizeKiB is 2048 in us-east-1 but 1024 in us-west-2; fix: give every Region's copy of a stream the same maximum record size (streams[].maxRecordSizeKiB in cdk.json)",
    );
  });

  test('out-of-range sizes are refused by the construct', () => {
    const stack = new Stack(undefined, 'T2', { env: { account: '123456789012', region: 'us-east-1' } });
    const key = new kms.Key(stack, 'K');
    const bucket = new s3.Bucket(stack, 'B');
    expect(() => new EventStream(stack, 'S', { streamName: 's', archivePrefix: 's', encryptionKey: key, archiveBucket: bucket, maxRecordSize: Size.mebibytes(11) })).toThrow(
      'maxRecordSize must be a whole number of KiB between 1024 and 10240 (got 11264 KiB)',
    );
  });
});

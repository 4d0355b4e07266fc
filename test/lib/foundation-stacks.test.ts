import { Match, Template } from 'aws-cdk-lib/assertions';
import { physicalStreamName } from '../../lib/config';
import { activeRegionTableName, checkpointTableName, streamKeyAlias } from '../../lib/names';
import { buildEnvironment, BuiltEnvironment, shippedEnvironment } from '../helpers/cdk-app';

let dev: BuiltEnvironment;
let prod: BuiltEnvironment;

beforeAll(() => {
  dev = buildEnvironment(shippedEnvironment('dev'));
  prod = buildEnvironment(shippedEnvironment('prod'));
});

const regionTemplate = (env: BuiltEnvironment, region: string) => Template.fromStack(env.regions.get(region)!);

describe('state stack', () => {
  test('two global tables, on demand, PITR, encrypted, replicated to every standby Region', () => {
    const t = Template.fromStack(dev.state);
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: checkpointTableName('dev'),
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'streamName', KeyType: 'HASH' },
        { AttributeName: 'shardId', KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: 'us-west-2', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        Match.objectLike({ Region: 'us-east-1', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ]),
    });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: activeRegionTableName('dev'),
      KeySchema: [{ AttributeName: 'streamName', KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: Match.arrayWith([Match.objectLike({ Region: 'us-west-2' })]),
    });
  });

  test('tables are deleted with a dev stack but retained, with deletion protection, in prod', () => {
    Template.fromStack(dev.state).allResources('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    const t = Template.fromStack(prod.state);
    t.allResources('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.allResourcesProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: Match.arrayWith([Match.objectLike({ DeletionProtectionEnabled: true })]),
    });
  });

  test('seeds each stream as active in the primary Region without overwriting a later failover', () => {
    const t = Template.fromStack(prod.state);
    t.resourceCountIs('Custom::AWS', 2);
    const seeds = Object.values(t.findResources('Custom::AWS')).map((r) => JSON.stringify(r));
    expect(seeds.join()).toContain('attribute_not_exists(streamName)');
    expect(seeds.join()).toContain(physicalStreamName('prod', 'events'));
    expect(seeds.join()).toContain(physicalStreamName('prod', 'telemetry'));
  });
});

describe('region stack', () => {
  test.each(['us-east-1', 'us-west-2'])('%s: every stream is KMS-encrypted with the Region key and named for the environment', (region) => {
    const t = regionTemplate(prod, region);
    t.resourceCountIs('AWS::Kinesis::Stream', 2);
    t.allResourcesProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StreamKey'), 'Arn'] } },
    });
    t.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: physicalStreamName('prod', 'events'),
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 168,
    });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: streamKeyAlias('prod') });
    t.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('dev has one provisioned one-shard stream', () => {
    const t = regionTemplate(dev, 'us-east-1');
    t.resourceCountIs('AWS::Kinesis::Stream', 1);
    t.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 1, StreamModeDetails: { StreamMode: 'PROVISIONED' }, RetentionPeriodHours: 24 });
  });

  test('an enhanced fan-out consumer per stream', () => {
    const t = regionTemplate(prod, 'us-east-1');
    t.resourceCountIs('AWS::Kinesis::StreamConsumer', 2);
    t.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'redstream-replicator' });
  });

  test('a Firehose archive per stream: GZIP, hourly prefixes per stream, a separate error prefix, buffering from config', () => {
    const t = regionTemplate(prod, 'us-east-1');
    t.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      ExtendedS3DestinationConfiguration: Match.objectLike({
        CompressionFormat: 'GZIP',
        Prefix: 'events/!{timestamp:yyyy/MM/dd/HH}/',
        ErrorOutputPrefix: 'errors/events/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/',
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 128 },
      }),
    });
  });

  test('archive bucket: KMS, versioned, public access blocked, TLS-only, lifecycle, access logs', () => {
    const t = regionTemplate(prod, 'us-east-1');
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ BucketKeyEnabled: true, ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'archive/' }),
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] })],
      },
    });
    // Every bucket, the access-log bucket included: public access off and encryption on.
    t.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: Match.anyValue(),
    });
    const policies = Object.values(t.findResources('AWS::S3::BucketPolicy'));
    expect(policies.length).toBe(2);
    for (const policy of policies) {
      expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
    }
  });

  test('prod retains the archive and keys; dev deletes them', () => {
    regionTemplate(prod, 'us-east-1').allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    regionTemplate(prod, 'us-east-1').allResources('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain' });
    regionTemplate(dev, 'us-east-1').allResources('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
  });

  test('alarms: iterator age at 50 % of retention, write throttling, archive freshness, all to the encrypted alarm topic', () => {
    const t = regionTemplate(dev, 'us-east-1');
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Threshold: 12 * 3600 * 1000,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'WriteProvisionedThroughputExceeded', Threshold: 0 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DeliveryToS3.DataFreshness', Threshold: 900 });
  });
});

describe('replicator wiring', () => {
  test.each([
    ['us-east-1', 'us-west-2'],
    ['us-west-2', 'us-east-1'],
  ])('%s replicates to %s with the environment\'s settings, on each stream\'s enhanced fan-out consumer', (region, target) => {
    const t = regionTemplate(prod, region);
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'redstream-prod-replicator',
      Architectures: ['arm64'],
      // prod moves reserved concurrency on failover, so the template leaves it to the failover (lib/region-stack.ts).
      ReservedConcurrentExecutions: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          TARGET_REGIONS: target,
          CHECKPOINT_TABLE_NAME: checkpointTableName('prod'),
          ACTIVE_REGION_TABLE_NAME: activeRegionTableName('prod'),
          RELAXED_ORDER_STREAMS: physicalStreamName('prod', 'telemetry'),
        }),
      },
    });
    t.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      { BatchSize: 2000, FunctionResponseTypes: ['ReportBatchItemFailures'], EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'ConsumerARN'] } },
      2,
    );
    // Writes go to the same-named streams of the other Region only.
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`:kinesis:${target}:333333333333:stream/${physicalStreamName('prod', 'events')}`);
    expect(policies).not.toContain(`:kinesis:${region}:333333333333:stream/`);
  });
});

describe('warehouse stack', () => {
  test('prod runs a warehouse in every Region, dev in the primary only', () => {
    expect([...prod.warehouses.keys()]).toEqual(['us-east-1', 'us-west-2']);
    expect([...dev.warehouses.keys()]).toEqual(['us-east-1']);
  });

  test('VPC with isolated subnets in three zones, no NAT, a Kinesis interface endpoint', () => {
    const t = Template.fromStack(dev.warehouses.get('us-east-1')!);
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.us-east-1.kinesis-streams',
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
    });
  });

  test('namespace: managed admin secret and KMS; workgroup private with enhanced VPC routing and base RPUs from config', () => {
    const t = Template.fromStack(prod.warehouses.get('us-west-2')!);
    t.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
      ManageAdminPassword: true,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseKey'), 'Arn'] },
      AdminPasswordSecretKmsKeyId: Match.anyValue(),
      DbName: 'redstream',
    });
    t.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      BaseCapacity: 32,
      EnhancedVpcRouting: true,
      PubliclyAccessible: false,
    });
    t.hasResource('AWS::RedshiftServerless::Namespace', { DeletionPolicy: 'Retain' });
    // No password ever appears in the template.
    expect(JSON.stringify(t.toJSON())).not.toMatch(/AdminUserPassword/);
  });

  test('streaming-ingestion role: trusted by Redshift; exact actions on this Region\'s stream ARNs, ListStreams on *, kms:Decrypt on the stream key', () => {
    const t = Template.fromStack(prod.warehouses.get('us-east-1')!);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'redshift.amazonaws.com' }, Action: 'sts:AssumeRole' })],
      },
    });
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes('StreamingIngestionRole'),
    );
    expect(policies).toHaveLength(1);
    const statements = policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement);
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid as string, s]));
    expect(bySid.ReadStreams.Action).toEqual([
      'kinesis:DescribeStream',
      'kinesis:DescribeStreamSummary',
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
    ]);
    expect(bySid.ReadStreams.Resource).toEqual([
      'arn:aws:kinesis:us-east-1:333333333333:stream/redstream-prod-events',
      'arn:aws:kinesis:us-east-1:333333333333:stream/redstream-prod-telemetry',
    ]);
    expect(bySid.ListStreams).toMatchObject({ Action: 'kinesis:ListStreams', Resource: '*' });
    // By the stream key's alias, not by an imported key ARN.
    expect(bySid.DecryptStreams).toEqual({
      Sid: 'DecryptStreams',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:us-east-1:333333333333:key/*',
      Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/redstream-prod-streams' } },
    });
    expect(statements.map((s) => s.Sid).sort()).toEqual(['DecryptStreams', 'ListStreams', 'ReadStreams']);
  });

  test('applies the SQL after the workgroup exists, merges on the configured schedule, and alarms on failed merges', () => {
    const t = Template.fromStack(dev.warehouses.get('us-east-1')!);
    const sql = Object.values(t.findResources('Custom::RedstreamWarehouseSql'));
    expect(sql).toHaveLength(1);
    expect(JSON.stringify(sql[0])).toMatch(/Workgroup/);
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      AlarmActions: ['arn:aws:sns:us-east-1:111111111111:redstream-dev-alarms'],
    });
  });

  test('security groups admit SQL and HTTPS from inside the VPC only', () => {
    const t = Template.fromStack(dev.warehouses.get('us-east-1')!);
    const json = JSON.stringify(t.findResources('AWS::EC2::SecurityGroup'));
    expect(json).not.toContain('0.0.0.0/0');
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.40.0.0/16', FromPort: 5439, ToPort: 5439 })],
    });
  });
});

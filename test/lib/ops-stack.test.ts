/** OpsStack in a test App with dev-like configs: alarms' metric math and thresholds, topic actions, dashboard, IAM. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EnvironmentConfig, parseEnvironment } from '../../lib/config';
import { acknowledgeOpsStackNagFindings } from '../../lib/nag-acknowledgements';
import { OpsStack } from '../../lib/ops-stack';
import { newApp } from '../helpers/cdk-app';

const ACCOUNT = '111111111111';
const PRIMARY = 'us-east-1';
const STANDBY = 'us-west-2';

function config(overrides: Record<string, unknown> = {}): EnvironmentConfig {
  return parseEnvironment('dev', {
    account: ACCOUNT,
    primaryRegion: PRIMARY,
    standbyRegions: [STANDBY],
    streams: [
      { name: 'events', mode: 'PROVISIONED', shards: 2, retentionHours: 48 },
      { name: 'telemetry', retentionHours: 24 },
    ],
    alarms: { producerErrorRatePercent: 2.5, producerErrorRateMinutes: 10, replicationLagSeconds: 120 },
    ...overrides,
  });
}

interface Built {
  ops: OpsStack;
  template: Template;
}

/** The Region's streams and topic belong to the Region stack; the Ops stack addresses them by name (lib/names.ts). */
function build(cfg: EnvironmentConfig, region: string): Built {
  const app = newApp();
  const ops = new OpsStack(app, `Ops-${region}`, { env: { account: cfg.account, region }, config: cfg });
  acknowledgeOpsStackNagFindings(ops);
  return { ops, template: Template.fromStack(ops) };
}

let primary: Built;
let standby: Built;
beforeAll(() => {
  primary = build(config(), PRIMARY);
  standby = build(config(), STANDBY);
});

/** The Region stack's topic, by its deterministic ARN (no export to import). */
const topicArn = (region = PRIMARY) => `arn:aws:sns:${region}:${ACCOUNT}:redstream-dev-alarms`;

describe('alarms', () => {
  test('producer error rate per stream: (failed + throttled) / total PutRecords records, threshold and period from config', () => {
    const kinesisSum = (metricName: string) => ({
      MetricStat: { Metric: { Namespace: 'AWS/Kinesis', MetricName: metricName, Dimensions: [{ Name: 'StreamName', Value: Match.anyValue() }] }, Period: 600, Stat: 'Sum' },
      ReturnData: false,
    });
    primary.template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Metrics: Match.arrayWith([Match.objectLike({ Expression: '100 * (FILL(failed, 0) + FILL(throttled, 0)) / total' })]) }, 2);
    primary.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        { Expression: '100 * (FILL(failed, 0) + FILL(throttled, 0)) / total', Id: 'expr_1', Label: 'events producer error rate (%)', ReturnData: true },
        { Id: 'failed', ...kinesisSum('PutRecords.FailedRecords') },
        { Id: 'throttled', ...kinesisSum('PutRecords.ThrottledRecords') },
        { Id: 'total', ...kinesisSum('PutRecords.TotalRecords') },
      ]),
      Threshold: 2.5,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('npm run ops -- failover --env dev --to us-west-2 --from us-east-1'),
    });
  });

  test('the composite health alarm is any stream\'s error-rate alarm, and notifies the topic on ALARM and OK', () => {
    primary.template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    primary.template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmRule: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^\\(ALARM\\("$')])] },
      AlarmActions: [topicArn()],
      OKActions: [topicArn()],
      AlarmDescription: Match.stringLikeRegexp('^Redstream dev in us-east-1 is unhealthy.*npm run ops -- status --env dev'),
    });
    // The per-stream error-rate alarms notify through the composite only.
    const rates = primary.template.findResources('AWS::CloudWatch::Alarm', { Properties: { Metrics: Match.arrayWith([Match.objectLike({ Id: 'total' })]) } });
    for (const alarm of Object.values(rates)) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  test('the standby\'s health alarm names the primary as the failover target', () => {
    standby.template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmDescription: Match.stringLikeRegexp('failover --env dev --to us-east-1 --from us-west-2'),
    });
  });

  test('replication lag per stream on the replicator\'s EMF metric, threshold from config', () => {
    for (const stream of ['redstream-dev-events', 'redstream-dev-telemetry']) {
      primary.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Redstream',
        MetricName: 'ReplicationLagSeconds',
        Dimensions: Match.arrayEquals([
          { Name: 'region', Value: PRIMARY },
          { Name: 'service', Value: 'redstream-replicator' },
          { Name: 'stream', Value: stream },
        ]),
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 120,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        AlarmActions: [topicArn()],
        OKActions: [topicArn()],
      });
    }
  });

  test('leaves the replicator\'s own iterator-age and errors alarms to its construct (no duplicate pages)', () => {
    primary.template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda' }, 0);
  });
});

describe('failover function', () => {
  test('ARM64, a current Node.js runtime, a timeout that covers the replica wait plus the in-flight wait', () => {
    primary.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      // 120 s replica wait + (120 s replicator timeout + 5 s cache TTL + 1 s) + 60 s
      Timeout: 306,
      Environment: {
        Variables: Match.objectLike({
          REGIONS: 'us-east-1,us-west-2',
          STREAM_NAMES: 'redstream-dev-events,redstream-dev-telemetry',
          CHECKPOINT_TABLE_NAME: 'redstream-dev-checkpoints',
          ACTIVE_REGION_TABLE_NAME: 'redstream-dev-active-region',
          RESULT_TOPIC_ARN: topicArn(),
        }),
      },
    });
  });

  test('its role can do exactly: the two tables, reading the streams (and their keys, by alias) in every Region, the replicator fence, the topic and its key, its log group', () => {
    const policies = primary.template.findResources('AWS::IAM::Policy');
    expect(Object.keys(policies)).toHaveLength(1);
    const statements = Object.values(policies)[0].Properties.PolicyDocument.Statement;
    const table = (region: string, name: string) => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${name}`;
    const stream = (region: string, name: string) => `arn:aws:kinesis:${region}:${ACCOUNT}:stream/${name}`;
    expect(statements).toEqual([
      { Sid: 'ActiveRegionTable', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [table(PRIMARY, 'redstream-dev-active-region'), table(STANDBY, 'redstream-dev-active-region')] },
      { Sid: 'CheckpointTable', Effect: 'Allow', Action: 'dynamodb:Query', Resource: [table(PRIMARY, 'redstream-dev-checkpoints'), table(STANDBY, 'redstream-dev-checkpoints')] },
      {
        Sid: 'StreamShards',
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
        Resource: [
          stream(PRIMARY, 'redstream-dev-events'),
          stream(PRIMARY, 'redstream-dev-telemetry'),
          stream(STANDBY, 'redstream-dev-events'),
          stream(STANDBY, 'redstream-dev-telemetry'),
        ],
      },
      {
        Sid: 'ReadStreamKeys',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: [`arn:aws:kms:${PRIMARY}:${ACCOUNT}:key/*`, `arn:aws:kms:${STANDBY}:${ACCOUNT}:key/*`],
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/redstream-dev-streams' } },
      },
      {
        Sid: 'ReplicatorFence',
        Effect: 'Allow',
        Action: ['lambda:DeleteFunctionConcurrency', 'lambda:GetFunctionConcurrency', 'lambda:PutFunctionConcurrency'],
        Resource: [`arn:aws:lambda:${PRIMARY}:${ACCOUNT}:function:redstream-dev-replicator`, `arn:aws:lambda:${STANDBY}:${ACCOUNT}:function:redstream-dev-replicator`],
      },
      { Sid: 'ResultTopic', Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn() },
      {
        Sid: 'ResultTopicKey',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: `arn:aws:kms:${PRIMARY}:${ACCOUNT}:key/*`,
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/redstream-dev-alarms' } },
      },
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^FailoverLogs/), 'Arn'] } },
    ]);
    primary.template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  test('with moveReservedConcurrency, also its reserved-concurrency calls on the replicator functions, nothing more', () => {
    const built = build(config({ replicator: { reservedConcurrency: 10 }, failover: { moveReservedConcurrency: true } }), PRIMARY);
    const statements = Object.values(built.template.findResources('AWS::IAM::Policy'))[0].Properties.PolicyDocument.Statement as Array<Record<string, unknown>>;
    const fn = (region: string) => `arn:aws:lambda:${region}:${ACCOUNT}:function:redstream-dev-replicator`;
    expect(statements.find((s) => s.Sid === 'ReplicatorReservedConcurrency')).toEqual({
      Sid: 'ReplicatorReservedConcurrency',
      Effect: 'Allow',
      Action: ['lambda:DeleteFunctionConcurrency', 'lambda:PutFunctionConcurrency'],
      Resource: [fn(PRIMARY), fn(STANDBY)],
    });
    expect(statements).toHaveLength(9);
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REPLICATOR_FUNCTION_NAME: 'redstream-dev-replicator', REPLICATOR_RESERVED_CONCURRENCY: '10' }) },
    });
  });
});

describe('automatic failover', () => {
  test('off by default: no alarm-driven rule (the only rule is the stray check\'s schedule)', () => {
    expect(Object.keys(primary.template.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } }))).toHaveLength(0);
    primary.template.resourceCountIs('AWS::Events::Rule', 1);
  });

  test('automatic: the primary\'s health alarm going to ALARM invokes the function to fail over to the first standby', () => {
    const auto = build(config({ failover: { mode: 'automatic' } }), PRIMARY);
    auto.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmsHealth'), 'Arn'] }],
        detail: { state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Failover'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
          InputTransformer: {
            InputPathsMap: { 'detail-alarmName': '$.detail.alarmName', time: '$.time' },
            InputTemplate: Match.stringLikeRegexp('"action":"failover","targetRegion":"us-west-2","expectedRegion":"us-east-1"'),
          },
        }),
      ],
    });
    // A standby never fails over on its own.
    build(config({ failover: { mode: 'automatic' } }), STANDBY).template.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('stray check (issue 9: records arriving in a Region that does not forward them)', () => {
  test('the primary runs a dry-run reconcile on a schedule and alarms per stream on records the active Region lacks', () => {
    primary.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ action: 'stray-check', windowMinutes: 20, lagMinutes: 5 }) })],
    });
    for (const stream of ['redstream-dev-events', 'redstream-dev-telemetry']) {
      primary.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Redstream',
        MetricName: 'RecordsMissingFromActiveRegion',
        Dimensions: Match.arrayWith([{ Name: 'stream', Value: stream }]),
        Threshold: 1,
        AlarmActions: Match.anyValue(),
        AlarmDescription: Match.stringLikeRegexp('npm run ops -- reconcile --env dev'),
      });
    }
  });

  test('only in the primary, and off with strayCheckIntervalMinutes 0', () => {
    expect(Object.keys(standby.template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } }))).toHaveLength(0);
    const off = build(config({ failover: { strayCheckIntervalMinutes: 0 } }), PRIMARY);
    expect(Object.keys(off.template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } }))).toHaveLength(0);
  });
});

describe('dashboard', () => {
  test('one per environment, in the primary Region, with every Region\'s metrics', () => {
    primary.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    standby.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const [dashboard] = Object.values(primary.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBe('Redstream-dev');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const needle of ['IncomingRecords', 'IncomingBytes', 'PutRecords.FailedRecords', 'PutRecords.ThrottledRecords', 'ReplicationLagSeconds', 'GetRecords.IteratorAgeMilliseconds', 'IteratorAge', 'DeliveryToS3.DataFreshness']) {
      expect(body).toContain(needle);
    }
    for (const region of [PRIMARY, STANDBY]) expect(body).toContain(`\\"region\\":\\"${region}\\"`);
  });
});

describe('validation', () => {
  test('the Region is not one of the environment', () => {
    expect(() => new OpsStack(newApp(), 'Ops', { env: { account: ACCOUNT, region: 'eu-west-1' }, config: config() })).toThrow(
      /OpsStack region must be one of us-east-1, us-west-2 \(got eu-west-1\)/,
    );
  });

  test('a protocol longer than Lambda allows is refused at synth', () => {
    expect(() => build(config({ replicator: { timeoutSeconds: 900 } }), PRIMARY)).toThrow(/needs up to 1086 s .* above Lambda's 900 s/);
  });
});

test('cdk-nag AwsSolutions finds nothing in either Region\'s ops stack', () => {
  for (const built of [primary, standby]) {
    const report = new AwsSolutionsChecks(undefined).validateScope(built.ops);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
  }
});

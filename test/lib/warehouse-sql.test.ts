/**
 * The WarehouseSql construct in a small test stack: the custom resource, the two functions, least-privilege IAM,
 * the merge schedule, ordering after the namespace and workgroup, and prop validation.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeWarehouseSqlNagFindings } from '../../lib/nag-acknowledgements';
import { renderStreamingViews } from '../../lib/sql/render';
import { WarehouseSql, WarehouseSqlAuthentication, WarehouseSqlProps } from '../../lib/warehouse-sql';

interface Fixture {
  stack: Stack;
  namespace: redshiftserverless.CfnNamespace;
  workgroup: redshiftserverless.CfnWorkgroup;
  role: iam.Role;
  key: kms.Key;
  endpoint: ec2.CfnVPCEndpoint;
}

function fixture(): Fixture {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Warehouse', { env: { account: '111111111111', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const role = new iam.Role(stack, 'StreamingRole', { assumedBy: new iam.ServicePrincipal('redshift.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['kinesis:GetRecords'], resources: ['arn:aws:kinesis:us-east-1:111111111111:stream/redstream-dev-events'] }));
  // The interface endpoint streaming ingestion reaches Kinesis through (created before the construct, as in the stack).
  const endpoint = new ec2.CfnVPCEndpoint(stack, 'KinesisEndpoint', { vpcId: 'vpc-12345678', serviceName: 'com.amazonaws.us-east-1.kinesis-streams', vpcEndpointType: 'Interface' });
  const namespace = new redshiftserverless.CfnNamespace(stack, 'Namespace', {
    namespaceName: 'redstream-dev',
    dbName: 'redstream',
    manageAdminPassword: true,
    adminPasswordSecretKmsKeyId: key.keyArn,
    iamRoles: [role.roleArn],
  });
  const workgroup = new redshiftserverless.CfnWorkgroup(stack, 'Workgroup', { workgroupName: 'redstream-dev', namespaceName: 'redstream-dev' });
  return { stack, namespace, workgroup, role, key, endpoint };
}

function build(extra: Partial<WarehouseSqlProps> = {}): { f: Fixture; sql: WarehouseSql; t: Template } {
  const f = fixture();
  const sql = new WarehouseSql(f.stack, 'Sql', {
    namespace: f.namespace,
    workgroup: f.workgroup,
    databaseName: 'redstream',
    streamingRole: f.role,
    adminSecretKey: f.key,
    streams: [
      { name: 'events', physicalName: 'redstream-dev-events' },
      { name: 'telemetry', physicalName: 'redstream-dev-telemetry' },
    ],
    ...extra,
  });
  return { f, sql, t: Template.fromStack(f.stack) };
}

let shared: { f: Fixture; sql: WarehouseSql; t: Template };
beforeAll(() => {
  shared = build();
});

const logicalId = (f: Fixture, c: { node: { defaultChild?: unknown } } | redshiftserverless.CfnWorkgroup | redshiftserverless.CfnNamespace): string =>
  f.stack.getLogicalId((c instanceof redshiftserverless.CfnWorkgroup || c instanceof redshiftserverless.CfnNamespace ? c : c.node.defaultChild) as redshiftserverless.CfnWorkgroup);

describe('custom resource', () => {
  test('carries the rendered statements in order, after the namespace and workgroup exist', () => {
    const { t, f, sql } = shared;
    const resources = t.findResources('Custom::RedstreamWarehouseSql');
    const [id, resource] = Object.entries(resources)[0] ?? [];
    expect(id).toBeDefined();
    const statements = (resource?.Properties as { Statements: Array<{ Id: string; Kind: string }> }).Statements;
    expect(statements.map((s) => s.Id)).toEqual(sql.statements.map((s) => s.id));
    expect(statements.filter((s) => s.Kind === 'materialized-view').length).toBe(2);
    expect(resource?.DependsOn).toEqual(expect.arrayContaining([logicalId(f, f.workgroup), logicalId(f, f.namespace)]));
    expect(resource?.Properties.ServiceTimeout).toBe('1200');
  });

  test('the stack\'s Region is the source Region and the streaming role ARN is a CloudFormation reference', () => {
    const { t } = shared;
    const json = JSON.stringify(t.findResources('Custom::RedstreamWarehouseSql'));
    expect(json).toContain("'us-east-1', w.shard_id");
    expect(json).toMatch(/IAM_ROLE '",\{"Fn::GetAtt":\["StreamingRole[0-9A-F]{8}","Arn"\]\}/);
    expect(json).not.toMatch(/\{\{[a-z_]+\}\}/);
  });

  test('no credential is in the template: the functions read the managed admin secret at run time', () => {
    const { t } = shared;
    // CloudFormation has no attribute for the managed secret's ARN: an AwsCustomResource reads it from GetNamespace.
    expect(JSON.stringify(t.findResources('Custom::AWS'))).toContain('\\"action\\":\\"getNamespace\\"');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SECRET_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SqlAdminSecretLookup'), 'namespace.adminPasswordSecretArn'] } }) },
    });
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain('AdminUserPassword');
    expect(json).not.toContain('{{resolve:secretsmanager');
  });
});

describe('functions', () => {
  test('two Node.js 24 ARM64 functions share one role and are configured by environment', () => {
    const { t } = shared;
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } });
    const own = Object.values(fns).filter((r) => (r.Properties.Environment?.Variables ?? {}).WORKGROUP_NAME);
    expect(own.length).toBe(2);
    for (const r of own) {
      expect(r.Properties.Architectures).toEqual(['arm64']);
      expect(r.Properties.Environment.Variables).toMatchObject({ DATABASE_NAME: 'redstream', WORKGROUP_NAME: { 'Fn::GetAtt': [expect.any(String), 'Workgroup.WorkgroupName'] } });
    }
    expect(new Set(own.map((r) => JSON.stringify(r.Properties.Role))).size).toBe(1);
    const merge = own.find((r) => r.Properties.Environment.Variables.MERGE_SQL);
    expect(JSON.parse(merge?.Properties.Environment.Variables.MERGE_SQL)).toEqual([
      'SET enable_case_sensitive_identifier TO true',
      'CALL redstream.merge_events()',
      'SELECT new_rows, inserted, duplicates, rejected, skipped, skipped_reported FROM redstream.merge_runs ORDER BY merged_at DESC LIMIT 1',
    ]);
    // A missing streaming view is created again by a failing merge, with the bootstrap's own statement.
    const views = JSON.parse(merge?.Properties.Environment.Variables.STREAMING_VIEWS) as Array<{ schema: string; name: string; sql: string }>;
    expect(views).toEqual(renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-dev-events' }, { name: 'telemetry', physicalName: 'redstream-dev-telemetry' }] }));
    expect(views).toEqual(shared.sql.streamingViews);
    const bootstrap = shared.sql.statements.filter((st) => st.kind === 'materialized-view');
    expect(bootstrap.map((st) => st.sql.replace(/--[^\n]*\n/g, ' ').replace(/\s+/g, ' ').trim())).toEqual(views.map((v) => `${v.sql};`));
    expect(own.filter((r) => r.Properties.Environment.Variables.STREAMING_VIEWS)).toEqual([merge]);
  });

  test("the view statements fit Lambda's 4 KB environment, or synth names the fix; restoreStreamingViews false leaves them out", () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ name: `stream${i}`, physicalName: `redstream-dev-stream${i}` }));
    expect(() => build({ streams: many })).toThrow(/^the merge runner's environment would be about \d+ bytes, over Lambda's 4096 \(8 streaming view definitions\); fix: set warehouse\.mergeRestoresStreamingViews to false/);
    const { t } = build({ streams: many, restoreStreamingViews: false });
    const merge = Object.values(t.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.MERGE_SQL);
    expect(merge?.Properties.Environment.Variables.STREAMING_VIEWS).toBeUndefined();
  });

  test('a restored view raises an alarm of its own (a one-off failed merge does not reach the merge errors alarm); IAM authentication: no restore, and asking for one names the fix', () => {
    const { t } = shared;
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Redstream',
      MetricName: 'StreamingViewsRestored',
      Threshold: 1,
      EvaluationPeriods: 1,
      AlarmDescription: Match.stringLikeRegexp('found a streaming view missing and created it again'),
    });
    const iamAuth = build({ authentication: WarehouseSqlAuthentication.IAM });
    const merge = Object.values(iamAuth.t.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.MERGE_SQL);
    expect(merge?.Properties.Environment.Variables.STREAMING_VIEWS).toBeUndefined();
    expect(iamAuth.sql.streamingViewRestoredAlarm).toBeUndefined();
    expect(() => build({ authentication: WarehouseSqlAuthentication.IAM, restoreStreamingViews: true })).toThrow(/restoreStreamingViews needs authentication ADMIN_SECRET .*fix: leave restoreStreamingViews unset or false/);
  });

  test('least privilege: Data API on the workgroup, statement follow-up on own statements, secret and key by ARN', () => {
    const { t } = shared;
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'RunStatements', Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], Resource: { 'Fn::GetAtt': [Match.anyValue(), 'Workgroup.WorkgroupArn'] } }),
          Match.objectLike({
            Sid: 'FollowOwnStatements',
            Resource: '*',
            Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
          }),
          Match.objectLike({ Sid: 'ReadAdminSecret', Action: 'secretsmanager:GetSecretValue', Resource: { 'Fn::GetAtt': [Match.anyValue(), 'namespace.adminPasswordSecretArn'] } }),
          Match.objectLike({ Sid: 'DecryptAdminSecret', Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } } }),
        ]),
      },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('redshift-data:*');
    expect(policies).not.toContain('redshift-serverless:GetCredentials');
  });

  test('IAM authentication: GetCredentials on the workgroup instead of the secret', () => {
    const { t } = build({ authentication: WarehouseSqlAuthentication.IAM });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'GetCredentials', Action: 'redshift-serverless:GetCredentials', Resource: { 'Fn::GetAtt': [Match.anyValue(), 'Workgroup.WorkgroupArn'] } })]) },
    });
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain('SECRET_ARN');
    expect(json).not.toContain('secretsmanager:GetSecretValue');
  });
});

describe('first deploy: what the SQL bootstrap and the merge need', () => {
  test('session statements are allowed: ExecuteStatement on * for the role\'s own sessions (redshift-data:session-owner-iam-userid)', () => {
    const { t } = shared;
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'RunSessionStatements',
            Action: 'redshift-data:ExecuteStatement',
            Resource: '*',
            Condition: { StringEquals: { 'redshift-data:session-owner-iam-userid': '${aws:userid}' } },
          }),
        ]),
      },
    });
  });

  test('the streaming views are created only after the streaming role\'s policy and the Kinesis endpoint exist', () => {
    const { t, f } = shared;
    const [resource] = Object.values(t.findResources('Custom::RedstreamWarehouseSql'));
    const policyId = f.stack.getLogicalId(f.role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy);
    expect(resource?.DependsOn).toEqual(expect.arrayContaining([policyId, f.stack.getLogicalId(f.role.node.defaultChild as iam.CfnRole), f.stack.getLogicalId(f.endpoint)]));
  });

  test('ingestionDependencies replaces the endpoint lookup', () => {
    const f = fixture();
    const other = new ec2.CfnVPCEndpoint(f.stack, 'OtherEndpoint', { vpcId: 'vpc-12345678', serviceName: 'com.amazonaws.us-east-1.kinesis-streams', vpcEndpointType: 'Interface' });
    new WarehouseSql(f.stack, 'Sql', {
      namespace: f.namespace,
      workgroup: f.workgroup,
      databaseName: 'redstream',
      streamingRole: f.role,
      streams: [{ name: 'events', physicalName: 'redstream-dev-events' }],
      ingestionDependencies: [other],
    });
    const [resource] = Object.values(Template.fromStack(f.stack).findResources('Custom::RedstreamWarehouseSql'));
    expect(resource?.DependsOn).toContain(f.stack.getLogicalId(other));
    expect(resource?.DependsOn).not.toContain(f.stack.getLogicalId(f.endpoint));
  });

  test('one merge at a time: reserved concurrency 1, throttled scheduled invocations dropped after a minute', () => {
    const { t, f, sql } = shared;
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1, Environment: { Variables: Match.objectLike({ MERGE_SQL: Match.anyValue() }) } });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: f.stack.getLogicalId(sql.mergeFunction.node.defaultChild as iam.CfnRole) },
      MaximumEventAgeInSeconds: 60,
      MaximumRetryAttempts: 0,
    });
    const runner = Object.values(t.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Description?.includes('applies the warehouse SQL'));
    expect(runner?.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('an alarm on records streaming ingestion skipped, on the metrics the merge runner emits', () => {
    const topicAction: cloudwatch.IAlarmAction = { bind: () => ({ alarmActionArn: 'arn:aws:sns:us-east-1:111111111111:alarms' }) };
    const { t, sql } = build({ alarmActions: [topicAction] });
    const [alarm] = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    const metrics = alarm?.Properties.Metrics as Array<{ Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: Array<{ Name: string }> } } }>;
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('MAX([rejected, reported])');
    expect(metrics.filter((m) => m.MetricStat).map((m) => [m.MetricStat?.Metric.Namespace, m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Dimensions.map((d) => d.Name).sort()])).toEqual([
      ['Redstream', 'IngestionSkippedRows', ['service', 'workgroup']],
      ['Redstream', 'IngestionSkippedRowsReported', ['service', 'workgroup']],
    ]);
    expect(alarm?.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', AlarmActions: ['arn:aws:sns:us-east-1:111111111111:alarms'] });
    expect(sql.ingestionSkippedAlarm).toBeDefined();
    // The runner emits under the same service name and namespace.
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'redstream-merge', POWERTOOLS_METRICS_NAMESPACE: 'Redstream' }) } });
  });
});

describe('merge schedule', () => {
  test('invokes the merge runner every minute by default, after the SQL bootstrap', () => {
    const { t, f, sql } = shared;
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(f, sql.mergeFunction), 'Arn'] }, RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) }),
    });
    const schedule = Object.values(t.findResources('AWS::Scheduler::Schedule'))[0];
    expect(schedule?.DependsOn).toEqual(expect.arrayContaining([logicalId(f, sql.resource)]));
  });

  test('follows mergeInterval and can be disabled', () => {
    const { t } = build({ mergeInterval: Duration.minutes(15), mergeScheduleEnabled: false });
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(15 minutes)', State: 'DISABLED' });
  });
});

describe('validation', () => {
  test.each<[string, Partial<WarehouseSqlProps>, RegExp]>([
    ['a merge interval that is not whole minutes', { mergeInterval: Duration.seconds(90) }, /mergeInterval must be a whole number of minutes between 1 and 1440 \(got 1 minute 30 seconds\)/],
    ['a merge interval over a day', { mergeInterval: Duration.days(2) }, /mergeInterval must be a whole number of minutes between 1 and 1440/],
    ['a bad database name', { databaseName: 'Red-Stream' }, /databaseName must be a lower-case SQL identifier \(got "Red-Stream"\)/],
    ['no streams', { streams: [] }, /streams must list at least one stream/],
    ['a dedup window of 400 days', { dedupWindowDays: 400 }, /dedupWindowDays must be a whole number between 1 and 365 \(got 400\)/],
    ['a dedup key path with spaces', { dedupKeyPath: 'message id' }, /dedupKeyPath must be a dot-separated path/],
    ['a refresh margin over a day', { refreshMarginMinutes: 2000 }, /refreshMarginMinutes must be a whole number between 1 and 1440 \(got 2000\)/],
  ])('rejects %s before creating anything', (_name, change, message) => {
    const f = fixture();
    const make = (): WarehouseSql =>
      new WarehouseSql(f.stack, 'Sql', {
        namespace: f.namespace,
        workgroup: f.workgroup,
        databaseName: 'redstream',
        streamingRole: f.role,
        streams: [{ name: 'events', physicalName: 'redstream-dev-events' }],
        ...change,
      });
    expect(make).toThrow(message);
    expect(f.stack.node.tryFindChild('Sql')?.node.children.length ?? 0).toBe(0);
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  const findingsOf = (stack: Stack): string[] =>
    new AwsSolutionsChecks(undefined).validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`));

  test('without acknowledgements it finds exactly the by-design findings (the check is not vacuous)', () => {
    const { f } = build();
    expect(findingsOf(f.stack).sort()).toEqual([
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] at Warehouse/AWS679f53fac002430cb0da5b7982bd2287/ServiceRole/Resource',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] at Warehouse/Sql/Provider/framework-onEvent/ServiceRole/Resource',
      'AwsSolutions-IAM5[Resource::*] at Warehouse/Sql/Role/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::<SqlMergeRunnerF5E8B663.Arn>:*] at Warehouse/Sql/SchedulerRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::<SqlSqlRunner1BBC584F.Arn>:*] at Warehouse/Sql/Provider/framework-onEvent/ServiceRole/DefaultPolicy/Resource',
    ]);
  });

  test('with acknowledgeWarehouseSqlNagFindings nothing is left', () => {
    const { f, sql } = build();
    acknowledgeWarehouseSqlNagFindings(sql);
    expect(findingsOf(f.stack)).toEqual([]);
  });
});

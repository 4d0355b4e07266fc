/**
 * The WarehouseSql construct in a small test stack: the custom resource, the two functions, least-privilege IAM,
 * the merge schedule, ordering after the namespace and workgroup, and prop validation.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeWarehouseSqlNagFindings } from '../../lib/nag-acknowledgements';
import { WarehouseSql, WarehouseSqlAuthentication, WarehouseSqlProps } from '../../lib/warehouse-sql';

interface Fixture {
  stack: Stack;
  namespace: redshiftserverless.CfnNamespace;
  workgroup: redshiftserverless.CfnWorkgroup;
  role: iam.Role;
  key: kms.Key;
}

function fixture(): Fixture {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Warehouse', { env: { account: '111111111111', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const role = new iam.Role(stack, 'StreamingRole', { assumedBy: new iam.ServicePrincipal('redshift.amazonaws.com') });
  const namespace = new redshiftserverless.CfnNamespace(stack, 'Namespace', {
    namespaceName: 'redstream-dev',
    dbName: 'redstream',
    manageAdminPassword: true,
    adminPasswordSecretKmsKeyId: key.keyArn,
    iamRoles: [role.roleArn],
  });
  const workgroup = new redshiftserverless.CfnWorkgroup(stack, 'Workgroup', { workgroupName: 'redstream-dev', namespaceName: 'redstream-dev' });
  return { stack, namespace, workgroup, role, key };
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
    expect(JSON.parse(merge?.Properties.Environment.Variables.MERGE_SQL)).toEqual(['SET enable_case_sensitive_identifier TO true', 'CALL redstream.merge_events()']);
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

/**
 * The erasure's scheduled step as deployed (lib/erasure-finish.ts in every Warehouse stack): a schedule, a function
 * that recreates the streaming views from the bootstrap's own statements, least-privilege IAM, an alarm on failure,
 * and the config field that sets (or turns off) the schedule.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import { parseErasureFinishEnv } from '../../lambda/erasure-finish/env';
import { ConfigError, erasureSweepRegions } from '../../lib/config';
import { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT, ErasureFinish, MAX_INTERVAL_HOURS } from '../../lib/erasure-finish';
import { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT as RUN_REFRESH_CONTEXT } from '../../lambda/erasure-finish/run';
import { archiveBucketParameterName, archiveKeyAlias } from '../../lib/names';
import { renderStreamingViews } from '../../lib/sql/render';
import { BuiltEnvironment, buildEnvironment, environmentFrom, newApp } from '../helpers/cdk-app';
import { addEnvironment } from '../../lib/redstream-app';

type Json = Record<string, unknown>;

function custom(raw: Json = {}): BuiltEnvironment {
  const app = newApp();
  app.node.setContext('aws:cdk:bundling-stacks', []);
  return buildEnvironment(
    environmentFrom({
      account: '123456789012',
      primaryRegion: 'us-east-1',
      standbyRegions: ['us-west-2'],
      streams: [{ name: 'events', retentionHours: 48 }],
      warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'] }, ...((raw.warehouse as Json | undefined) ?? {}) },
      ...Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'warehouse')),
    }),
  );
}

const built = custom();
const warehouse = built.warehouses.get('us-east-1')!;
const template = Template.fromStack(warehouse);
const finish = warehouse.erasureFinish!;
const finishLogicalId = warehouse.getLogicalId(finish.function.node.defaultChild as never);

/** The construct's props in a stack of its own (no environment around it), bundling skipped. */
function bareStepProps() {
  const app = newApp();
  app.node.setContext('aws:cdk:bundling-stacks', []);
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
  const workgroup = new redshiftserverless.CfnWorkgroup(stack, 'W', { workgroupName: 'redstream-test' });
  const streams = Array.from({ length: 2 }, (_, i) => ({ name: `s${i}`, physicalName: `redstream-test-s${i}`, retentionHours: 24 }));
  const streamingViews = renderStreamingViews({ region: 'us-east-1', streams });
  return { stack, base: { workgroup, databaseName: 'redstream', streams, streamingViews, archiveBucketName: 'b', archiveBucketParameterName: '/p', archiveKeyAlias: 'alias/a', archiveDelay: Duration.minutes(20) } };
}

function functionEnv(): Record<string, unknown> {
  const fn = template.toJSON().Resources[finishLogicalId] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
  return fn.Properties.Environment.Variables;
}

test('a daily schedule runs the step; one run at a time, not retried; an alarm notifies the Region\'s topic when a run fails', () => {
  template.hasResourceProperties('AWS::Scheduler::Schedule', {
    ScheduleExpression: 'rate(1 day)',
    Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [finishLogicalId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 } }),
  });
  template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('finishes due erasures'), ReservedConcurrentExecutions: 1, Timeout: 900 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: finishLogicalId } }],
    Threshold: 1,
    AlarmActions: ['arn:aws:sns:us-east-1:123456789012:redstream-test-alarms'],
    AlarmDescription: Match.stringLikeRegexp('erasure scheduled step in us-east-1 failed'),
    // Between two daily runs there is no data: the state stays ALARM until a run succeeds.
    TreatMissingData: 'ignore',
  });
});

test('a second alarm fires when no run started for the interval plus 2 hours, after a warm-up that covers the first run', () => {
  // A disabled schedule or a Scheduler that cannot invoke the function fails nothing: only missing invocations show it.
  const missed = {
    Namespace: 'AWS/Lambda',
    MetricName: 'Invocations',
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: finishLogicalId } }],
    Statistic: 'Sum',
    Period: 3600,
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    // Lambda publishes nothing for an hour without an invocation: those hours must count against it.
    TreatMissingData: 'breaching',
    AlarmActions: ['arn:aws:sns:us-east-1:123456789012:redstream-test-alarms'],
    OKActions: ['arn:aws:sns:us-east-1:123456789012:redstream-test-alarms'],
    AlarmDescription: Match.stringLikeRegexp('erasure scheduled step in us-east-1 has not run for 26 hours \\(it runs every 24 h\\).*schedule is enabled'),
  };
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    ...missed,
    EvaluationPeriods: 26,
    // A new alarm has no data at all, every hour breaching: it must not evaluate before the first scheduled run.
    WarmUpConfiguration: { WarmUpPeriodDurationInMinutes: 26 * 60, OnlyStartEvaluatingAfterWarmUpPeriodEnds: true },
  });
  // With a longer interval, the window grows with it; the warm-up stops at CloudWatch's 2,880 minutes.
  for (const [hours, periods, warmUp] of [[1, 3, 180], [46, 48, 2880], [72, 74, 2880], [166, 168, 2880]]) {
    const { stack, base } = bareStepProps();
    new ErasureFinish(stack, 'Step', { ...base, interval: Duration.hours(hours) });
    const t = Template.fromStack(stack);
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Invocations' } })) as Array<{ Properties: Json }>;
    expect(alarms.map((a) => [a.Properties.EvaluationPeriods, a.Properties.Period, a.Properties.WarmUpConfiguration])).toEqual([
      [periods, 3600, { WarmUpPeriodDurationInMinutes: warmUp, OnlyStartEvaluatingAfterWarmUpPeriodEnds: true }],
    ]);
    // CloudWatch API Reference, PutMetricAlarm: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds".
    expect(periods * 3600).toBeLessThanOrEqual(604_800);
  }
});

test('the function recreates the views from the very statements the SQL bootstrap creates them with', () => {
  const env = functionEnv();
  const views = JSON.parse(env.STREAMING_VIEWS as string) as Array<{ schema: string; name: string; sql: string }>;
  expect(views).toEqual(renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] }));
  const bootstrap = warehouse.sql.statements.find((s) => s.kind === 'materialized-view')!;
  expect(bootstrap.sql.replace(/--[^\n]*\n/g, ' ').replace(/\s+/g, ' ').trim()).toBe(`${views[0].sql};`);
  expect(JSON.parse(env.STREAMS as string)).toEqual([{ name: 'redstream-test-events', retentionHours: 48 }]);
  expect(JSON.parse(env.ARCHIVE_PREFIXES as string)).toEqual(['events/', 'errors/']);
  // The bucket comes from the Region stack's parameter, resolved at deploy time (no export).
  expect((env.ARCHIVE_BUCKET as { Ref: string }).Ref).toMatch(/^SsmParameterValue/);
  const param = Object.entries(template.toJSON().Parameters as Record<string, { Type: string; Default: string }>).find(([k]) => k === (env.ARCHIVE_BUCKET as { Ref: string }).Ref)![1];
  expect(param).toEqual({ Type: 'AWS::SSM::Parameter::Value<String>', Default: archiveBucketParameterName('test') });
  Template.fromStack(built.regions.get('us-east-1')!).hasResourceProperties('AWS::SSM::Parameter', { Name: archiveBucketParameterName('test'), Value: { Ref: Match.anyValue() } });
  Template.fromStack(built.regions.get('us-east-1')!).hasResourceProperties('AWS::KMS::Alias', { AliasName: archiveKeyAlias('test') });
  // The rest of the environment parses as the handler parses it at cold start.
  const parsed = parseErasureFinishEnv({ ...(env as Record<string, string>), WORKGROUP_NAME: 'w', ARCHIVE_BUCKET: 'b', OTHER_ARCHIVES: '[{"region":"us-west-2","bucket":"b2"}]', SECRET_ARN: undefined, AWS_REGION: 'us-east-1' });
  expect(parsed).toMatchObject({ schema: 'redstream', subjectPaths: ['userId', 'anonymousId'], archiveDelayMs: (300 + 900) * 1000 });
});

test('IAM: the Data API on this workgroup and own statements, the archive under the stream and error prefixes, its key by alias through S3', () => {
  const policies = template.findResources('AWS::IAM::Policy');
  const roleId = warehouse.getLogicalId(finish.role.node.defaultChild as never);
  const [, policy] = Object.entries(policies).find(([, p]) => JSON.stringify((p as { Properties: Json }).Properties.Roles).includes(roleId))!;
  const statements = (policy as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument.Statement;
  const bySid = new Map(statements.filter((s) => s.Sid).map((s) => [s.Sid as string, s]));
  expect(bySid.get('RunStatements')).toMatchObject({ Action: 'redshift-data:ExecuteStatement', Resource: { 'Fn::GetAtt': [warehouse.getLogicalId(warehouse.workgroup), 'Workgroup.WorkgroupArn'] } });
  expect(bySid.get('RunSessionStatements')).toMatchObject({ Resource: '*', Condition: { StringEquals: { 'redshift-data:session-owner-iam-userid': '${aws:userid}' } } });
  expect(bySid.get('FollowOwnStatements')).toMatchObject({
    // CancelStatement: the deadline cancels a statement still running (lambda/sql-runner/data-api.ts).
    Action: ['redshift-data:CancelStatement', 'redshift-data:DescribeStatement', 'redshift-data:GetStatementResult'],
    Resource: '*',
    Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
  });
  const bucketRef = { Ref: (functionEnv().ARCHIVE_BUCKET as { Ref: string }).Ref };
  expect(bySid.get('ListArchive')).toMatchObject({ Action: 's3:ListBucketVersions', Condition: { StringLike: { 's3:prefix': ['events/*', 'errors/*'] } } });
  // S3 API Reference, HeadObject / GetObject: "If you have the s3:ListBucket permission on the bucket, Amazon S3 returns
  // an HTTP status code 404 Not Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP
  // status code 403 Forbidden error." The sweep tells a version deleted meanwhile by that 404; a GET or HEAD carries no
  // s3:prefix, so the permission must hold without a prefix condition.
  expect(bySid.get('ListArchiveKeys')).toMatchObject({ Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:aws:s3:::', bucketRef]] } });
  expect(bySid.get('ListArchiveKeys')!.Condition).toBeUndefined();
  const objects = ['errors', 'events'].map((p) => ({ 'Fn::Join': ['', ['arn:aws:s3:::', bucketRef, `/${p}/*`]] }));
  expect(bySid.get('ReadArchiveObjectsDeleteVersions')).toMatchObject({ Action: ['s3:DeleteObjectVersion', 's3:GetObject', 's3:GetObjectVersion'], Resource: objects });
  expect(bySid.get('ReadArchiveObjectsDeleteVersions')!.Condition).toBeUndefined();
  // Writes and delete markers only with a condition header: no blind overwrite or delete.
  // An ETag, not `If-Match: *` (User Guide, "Enforce conditional deletes": `*` matches whatever is current).
  expect(bySid.get('RewriteArchiveObjectsIfMatch')).toMatchObject({
    Action: ['s3:DeleteObject', 's3:PutObject'],
    Resource: objects,
    Condition: { Null: { 's3:if-match': 'false' }, StringNotEquals: { 's3:if-match': '*' } },
  });
  expect(bySid.get('WriteBackArchiveObjectsIfNoneMatch')).toMatchObject({ Action: 's3:PutObject', Resource: objects, Condition: { Null: { 's3:if-none-match': 'false' } } });
  // A DELETE naming a version is authorized as s3:DeleteObjectVersion (Service Authorization Reference: s3:versionid is
  // a condition key of DeleteObjectVersion, not of DeleteObject), so s3:DeleteObject needs no other statement.
  expect(statements.filter((st) => JSON.stringify(st.Action).includes('"s3:DeleteObject"')).map((st) => st.Sid)).toEqual(['RewriteArchiveObjectsIfMatch', 'RewriteArchiveObjectsIfMatchuswest2']);
  for (const s of statements) {
    const actions = (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[];
    if (actions.includes('s3:PutObject') || actions.includes('s3:DeleteObject')) expect(Object.keys((s.Condition as Json | undefined)?.Null ?? {})).toHaveLength(1);
  }
  expect(bySid.get('ArchiveKeyThroughS3')).toMatchObject({
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': archiveKeyAlias('test') }, StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
  });
  // Nothing else: no s3:* or kms:*. (s3:DeleteObject puts a delete marker back over an expired object's copy written
  // back without the erased records; the old bytes go by DeleteObjectVersion.)
  const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[]);
  expect(actions.filter((a) => a.endsWith('*'))).toEqual([]);
  expect([...new Set(actions.filter((a) => a.startsWith('s3:Delete')))].sort()).toEqual(['s3:DeleteObject', 's3:DeleteObjectVersion']);
});

test('the merge runner creates a missing view with the same statements as the erasure step; warehouse.mergeRestoresStreamingViews false leaves them out', () => {
  const merge = template.toJSON().Resources[warehouse.getLogicalId(warehouse.sql.mergeFunction.node.defaultChild as never)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
  expect(merge.Properties.Environment.Variables.STREAMING_VIEWS).toBe(functionEnv().STREAMING_VIEWS);
  const off = custom({ warehouse: { mergeRestoresStreamingViews: false } }).warehouses.get('us-east-1')!;
  const offMerge = Template.fromStack(off).toJSON().Resources[off.getLogicalId(off.sql.mergeFunction.node.defaultChild as never)] as typeof merge;
  expect(offMerge.Properties.Environment.Variables.STREAMING_VIEWS).toBeUndefined();
  expect(() => custom({ warehouse: { mergeRestoresStreamingViews: 'yes' } })).toThrow(/test\.warehouse\.mergeRestoresStreamingViews: expected true or false \(got "yes"\)/);
});

test('warehouse.erasureFinishIntervalHours sets the schedule; 0 deploys no step; out of range names the field and the fix', () => {
  const longest = custom({ warehouse: { erasureFinishIntervalHours: 166 } }).warehouses.get('us-east-1')!;
  Template.fromStack(longest).hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(166 hours)', Description: Match.stringLikeRegexp('erasures') });
  const off = custom({ warehouse: { erasureFinishIntervalHours: 0 } }).warehouses.get('us-east-1')!;
  expect(off.erasureFinish).toBeUndefined();
  expect(JSON.stringify(Template.fromStack(off).toJSON())).not.toContain('finishes due erasures');
  // 167 and 168: the missed-run alarm would have to look back further than CloudWatch allows (7 days).
  expect(MAX_INTERVAL_HOURS).toBe(166);
  for (const bad of [167, 168, -1, 1.5, '24']) {
    expect(() => custom({ warehouse: { erasureFinishIntervalHours: bad } })).toThrow(ConfigError);
    expect(() => custom({ warehouse: { erasureFinishIntervalHours: bad } })).toThrow(
      /test\.warehouse\.erasureFinishIntervalHours: must be a whole number of hours between 0 and 166 .*fix: 24 runs .* daily, 166 is the longest .*, 0 turns it off/,
    );
  }
});

test('the construct validates before creating anything: interval, one view per stream, and the environment size Lambda allows', () => {
  const a = bareStepProps();
  expect(() => new ErasureFinish(a.stack, 'E1', { ...a.base, interval: Duration.minutes(90) })).toThrow('interval must be a whole number of hours between 1 and 166 (got 1 hour 30 minutes)');
  expect(() => new ErasureFinish(a.stack, 'E1b', { ...a.base, interval: Duration.hours(167) })).toThrow(/between 1 and 166 \(got 6 days 23 hours\)/);
  expect(() => new ErasureFinish(a.stack, 'E1c', { ...a.base, interval: Duration.seconds(Token.asNumber({ Ref: 'Seconds' })) })).toThrow(/interval must be a concrete duration/);
  expect(() => new ErasureFinish(a.stack, 'E2', { ...a.base, streamingViews: a.base.streamingViews.slice(1) })).toThrow(/one view per stream \(got 1 for 2 streams\)/);
  const many = Array.from({ length: 8 }, (_, i) => ({ name: `stream${i}`, physicalName: `redstream-test-stream${i}`, retentionHours: 24 }));
  expect(() => new ErasureFinish(a.stack, 'E3', { ...a.base, streams: many, streamingViews: renderStreamingViews({ region: 'us-east-1', streams: many }) })).toThrow(
    /over Lambda's 4096 .*fix: set warehouse\.erasureFinishIntervalHours to 0/,
  );
});

test('the Regions each step sweeps: its own, and a Region without a warehouse is swept by the primary\'s step (or the first warehouse Region\'s)', () => {
  const env = (regions: unknown, standby = ['us-west-2', 'eu-west-1']) =>
    environmentFrom({
      account: '123456789012',
      primaryRegion: 'us-east-1',
      standbyRegions: standby,
      streams: [{ name: 'events' }],
      warehouse: { regions, availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'], 'us-west-2': ['usw2-az1', 'usw2-az2', 'usw2-az3'], 'eu-west-1': ['euw1-az1', 'euw1-az2', 'euw1-az3'] } },
    });
  expect(erasureSweepRegions(env('primary'), 'us-east-1')).toEqual(['us-east-1', 'us-west-2', 'eu-west-1']);
  expect(erasureSweepRegions(env('all'), 'us-east-1')).toEqual(['us-east-1']);
  expect(erasureSweepRegions(env('all'), 'eu-west-1')).toEqual(['eu-west-1']);
  expect(erasureSweepRegions(env(['us-east-1', 'eu-west-1']), 'us-east-1')).toEqual(['us-east-1', 'us-west-2']);
  expect(erasureSweepRegions(env(['us-east-1', 'eu-west-1']), 'eu-west-1')).toEqual(['eu-west-1']);
  // No warehouse in the primary: the first warehouse Region looks after the others.
  expect(erasureSweepRegions(env(['eu-west-1', 'us-west-2']), 'eu-west-1')).toEqual(['eu-west-1', 'us-east-1']);
  expect(erasureSweepRegions(env(['eu-west-1', 'us-west-2']), 'us-west-2')).toEqual(['us-west-2']);
  expect(erasureSweepRegions(env('primary'), 'us-west-2')).toEqual([]);
  // Every archive is swept by exactly one step, whatever the warehouse Regions.
  for (const regions of ['primary', 'all', ['us-west-2'], ['eu-west-1', 'us-east-1']]) {
    const e = env(regions);
    const swept = ['us-east-1', 'us-west-2', 'eu-west-1'].flatMap((r) => erasureSweepRegions(e, r));
    expect([...swept].sort()).toEqual(['eu-west-1', 'us-east-1', 'us-west-2']);
  }
});

test('a standby Region without a warehouse: the primary\'s step sweeps its archive, the bucket read from its SSM parameter at deploy time, with IAM for that bucket and its key through S3 in that Region', () => {
  const env = functionEnv();
  // The standby's bucket: a lookup of its parameter in us-west-2 (CloudFormation resolves parameters in its own Region only).
  const other = env.OTHER_ARCHIVES as { 'Fn::Join': [string, unknown[]] };
  const resolved = JSON.stringify(other);
  const lookups = template.findResources('Custom::AWS');
  const [lookupId, lookup] = Object.entries(lookups).find(([, r]) => JSON.stringify(r).includes('getParameter'))!;
  expect(resolved).toContain('us-west-2');
  expect(resolved).toContain(JSON.stringify({ 'Fn::GetAtt': [lookupId, 'Parameter.Value'] }));
  const create = JSON.stringify((lookup as { Properties: Json }).Properties);
  expect(create).toContain('\\"region\\":\\"us-west-2\\"');
  expect(create).toContain(`\\"Name\\":\\"${archiveBucketParameterName('test')}\\"`);
  expect(env.ARCHIVE_BUCKET_PARAMETER).toBe(archiveBucketParameterName('test'));
  // The deploy reads that parameter: the Warehouse stack waits for the standby's Region stack.
  expect(warehouse.dependencies.map((d) => d.stackName)).toEqual(expect.arrayContaining(['Redstream-test-Region-us-east-1', 'Redstream-test-Region-us-west-2']));

  const roleId = warehouse.getLogicalId(finish.role.node.defaultChild as never);
  const [, policy] = Object.entries(template.findResources('AWS::IAM::Policy')).find(([, p]) => JSON.stringify((p as { Properties: Json }).Properties.Roles).includes(roleId))!;
  const statements = (policy as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument.Statement;
  const bySid = new Map(statements.filter((s) => s.Sid).map((s) => [s.Sid as string, s]));
  const bucket = { 'Fn::GetAtt': [lookupId, 'Parameter.Value'] };
  const objects = ['errors', 'events'].map((p) => ({ 'Fn::Join': ['', ['arn:aws:s3:::', bucket, `/${p}/*`]] }));
  expect(bySid.get('ReadArchiveObjectsDeleteVersionsuswest2')).toMatchObject({ Action: ['s3:DeleteObjectVersion', 's3:GetObject', 's3:GetObjectVersion'], Resource: objects });
  expect(bySid.get('RewriteArchiveObjectsIfMatchuswest2')).toMatchObject({
    Action: ['s3:DeleteObject', 's3:PutObject'],
    Resource: objects,
    Condition: { Null: { 's3:if-match': 'false' }, StringNotEquals: { 's3:if-match': '*' } },
  });
  expect(bySid.get('ListArchiveKeysuswest2')).toMatchObject({ Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:aws:s3:::', bucket]] } });
  expect(bySid.get('WriteBackArchiveObjectsIfNoneMatchuswest2')).toMatchObject({ Action: 's3:PutObject', Resource: objects, Condition: { Null: { 's3:if-none-match': 'false' } } });
  expect(bySid.get('ListArchiveuswest2')).toMatchObject({ Resource: { 'Fn::Join': ['', ['arn:aws:s3:::', bucket]] }, Condition: { StringLike: { 's3:prefix': ['events/*', 'errors/*'] } } });
  expect(bySid.get('ArchiveKeyThroughS3uswest2')).toMatchObject({
    Resource: 'arn:aws:kms:us-west-2:123456789012:key/*',
    Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': archiveKeyAlias('test') }, StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } },
  });
  // Every run checks both Regions' parameters still name the buckets swept.
  expect(bySid.get('CheckArchiveBucketNames')).toMatchObject({
    Action: 'ssm:GetParameter',
    Resource: ['us-east-1', 'us-west-2'].map((r) => `arn:aws:ssm:${r}:123456789012:parameter${archiveBucketParameterName('test')}`),
  });
});

test('warehouses in every Region: each step sweeps its own Region\'s archive only, with no lookup', () => {
  const both = custom({
    warehouse: { regions: 'all', availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'], 'us-west-2': ['usw2-az1', 'usw2-az2', 'usw2-az3'] } },
  });
  for (const region of ['us-east-1', 'us-west-2']) {
    const stack = both.warehouses.get(region)!;
    expect(stack.erasureFinish!.archives.map((a) => a.region)).toEqual([region]);
    const t = Template.fromStack(stack);
    const fn = t.toJSON().Resources[stack.getLogicalId(stack.erasureFinish!.function.node.defaultChild as never)] as { Properties: { Environment: { Variables: Json } } };
    expect(fn.Properties.Environment.Variables.OTHER_ARCHIVES).toBeUndefined();
    expect(JSON.stringify(t.toJSON())).not.toContain('getParameter');
  }
});

test('a replaced standby bucket: the lookup runs again on a deploy with a new -c redstream:refreshArchiveBucketLookup, and the run\'s error says so', () => {
  expect(ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT).toBe(RUN_REFRESH_CONTEXT);
  const lookupOf = (t: Template): Json => Object.values(t.findResources('Custom::AWS')).find((r) => JSON.stringify(r).includes('getParameter')) as Json;
  // Without it: no property that changes, so CloudFormation does not call the lookup again.
  expect((lookupOf(template).Properties as Json).Refresh).toBeUndefined();
  const app = newApp();
  app.node.setContext(ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT, '1796220655');
  const config = environmentFrom({
    account: '123456789012',
    primaryRegion: 'us-east-1',
    standbyRegions: ['us-west-2'],
    streams: [{ name: 'events', retentionHours: 48 }],
    warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'] } },
  });
  const refreshed = addEnvironment(app, config).warehouses.get('us-east-1')!;
  expect((lookupOf(Template.fromStack(refreshed)).Properties as Json).Refresh).toBe('1796220655');
});

/**
 * The erasure's scheduled step, deployed: a function (lambda/erasure-finish) that EventBridge Scheduler runs every
 * `interval` in a warehouse Region. It finishes the erasures whose streams' retention has passed (README, "Erasure"):
 * recreates the streaming views from the bootstrap's statements, deletes what the suppression list still finds in
 * events and rejects, sweeps the archives for objects Firehose delivered after the request, and marks the request
 * finished in the audit table. One alarm notifies when a run fails, another when no run started for the interval
 * plus 2 hours.
 *
 * Which archives: this Region's, and those of the Regions without a warehouse that this step looks after
 * (lib/config.ts erasureSweepRegions): the audit table that says what is due lives in a warehouse, so a standby
 * Region with no warehouse is swept from here, through S3 in its own Region. Each such bucket's name is read from
 * that Region's SSM parameter at deploy time (a cross-Region lookup; CloudFormation resolves parameters in its own
 * Region only), and every run checks each Region's parameter still names the bucket it was deployed with.
 *
 * Least privilege: the Data API on this workgroup only (session statements and statement follow-ups by the caller's
 * own id), the admin secret the other warehouse functions use, each archive bucket's objects under the streams' and
 * the error prefixes only (read, write a new version, delete a version), each archive key by its alias through S3 in
 * its Region, and the bucket-name parameters.
 */
import * as path from 'node:path';
import { ArnFormat, CfnResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { StreamingViewDefinition } from '../lambda/archive/streaming-views';
import { DEFAULT_SUBJECT_PATHS } from '../lambda/archive/subject';
import { ERASURE_FINISH_MAX_INTERVAL_HOURS, ERASURE_MISSED_RUN_GRACE_HOURS } from './config';
import { BUNDLED_SDK_EXTERNAL_MODULES } from './esm-bundling';
import { checkLambdaEnvironmentSize } from './lambda-environment';
import { grantDataApiCredentials, grantDataApiStatements } from './warehouse-sql';

export interface ErasureFinishStream {
  /** Logical name: the archive prefix `<name>/`. */
  readonly name: string;
  /** Physical stream name. */
  readonly physicalName: string;
  /** The stream's retention: its records expire after it. Valid range: 24–8760. */
  readonly retentionHours: number;
}

export interface ErasureFinishProps {
  /** The workgroup the Data API runs statements in. */
  readonly workgroup: redshiftserverless.CfnWorkgroup;
  /** Database name. */
  readonly databaseName: string;
  /** The admin secret the warehouse's functions use (they own the views). @default - the function's IAM identity (GetCredentials) */
  readonly adminSecretArn?: string;
  /** The key of the admin secret, decrypted through Secrets Manager only. @default - none */
  readonly adminSecretKey?: kms.IKey;
  /** Redstream's schema. @default 'redstream' */
  readonly schemaName?: string;
  /** The streams of this Region. At least one. */
  readonly streams: readonly ErasureFinishStream[];
  /** The streaming views to recreate: lib/sql/render.ts renderStreamingViews, the bootstrap's own statements. */
  readonly streamingViews: readonly StreamingViewDefinition[];
  /** The JSON paths that name a subject (the merge's). @default ['userId', 'anonymousId'] */
  readonly subjectPaths?: readonly string[];
  /** This Region's archive bucket name (may be a deploy-time token). */
  readonly archiveBucketName: string;
  /**
   * The SSM parameter that names the archive bucket, the same name in every Region (lib/names.ts): other Regions'
   * buckets are looked up from it at deploy time, and every run checks that it still names the bucket swept.
   */
  readonly archiveBucketParameterName: string;
  /**
   * Other Regions whose archives this step sweeps: Regions without a warehouse of their own (lib/config.ts
   * erasureSweepRegions). Their Region stacks must be deployed first (the lookup reads their parameter).
   * @default - none: this Region's archive only
   */
  readonly otherArchiveRegions?: readonly string[];
  /**
   * Reads the other Regions' bucket names again when it changes: CloudFormation runs the lookup when it is created
   * and, after that, only when its properties change, so a replaced bucket needs a new value here (the step's runs
   * stop, saying so, until then).
   * @default - none: the lookup runs once
   */
  readonly archiveBucketLookupRefresh?: string;
  /** Alias of the archive buckets' key, the same in every Region (the grant is by alias: the key lives in the Region stack). */
  readonly archiveKeyAlias: string;
  /** How late Firehose can deliver a record read before an erasure (buffering plus retries). */
  readonly archiveDelay: Duration;
  /**
   * Time between runs, whole hours. Valid range: 1–166 hours (the missed-run alarm watches the interval plus 2 hours,
   * and a CloudWatch alarm looks back at most 7 days).
   * @default Duration.hours(24)
   */
  readonly interval?: Duration;
  /** Actions of the alarms on a failed or a missed run (e.g. the Region's alarm topic). @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /** Retention of the function's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT } from '../lambda/erasure-finish/env';

/** The longest interval (lib/config.ts says why). */
export const MAX_INTERVAL_HOURS = ERASURE_FINISH_MAX_INTERVAL_HOURS;
/** WarmUpPeriodDurationInMinutes: "Minimum value of 1. Maximum value of 2880" (CloudWatch API Reference). */
const MAX_WARM_UP_MINUTES = 2880;

export class ErasureFinish extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly schedule: scheduler.Schedule;
  public readonly schedulerRole: iam.Role;
  /**
   * A run failed (the next one retries): erasures wait, and the view recreation or the late sweep did not happen. It
   * stays in ALARM until a run succeeds.
   */
  public readonly failureAlarm: cloudwatch.Alarm;
  /**
   * No run started for the interval plus 2 hours (the schedule disabled or deleted, Scheduler unable to invoke the
   * function, its role or permission broken): due erasures stay unfinished without any run failing.
   */
  public readonly missedRunAlarm: cloudwatch.Alarm;
  /** The prefixes of the archive the step may rewrite: each stream's `<name>/` and `errors/`. */
  public readonly archivePrefixes: readonly string[];
  /**
   * Every archive swept, this Region's first: its Region, its bucket name (a deploy-time token) and how cdk-nag names
   * the bucket in its findings (`<CfnParameter logical id>`, `<Lookup logical id.Parameter.Value>`).
   */
  public readonly archives: ReadonlyArray<{ readonly region: string; readonly bucketName: string; readonly findingName: string }>;

  constructor(scope: Construct, id: string, props: ErasureFinishProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.hours(24);
    // The missed-run alarm's window is derived from it, so it must be known at synth time.
    if (Token.isUnresolved(interval.toSeconds())) throw new Error('interval must be a concrete duration (got a token)');
    const intervalHours = interval.toSeconds() / 3600;
    if (!Number.isInteger(intervalHours) || intervalHours < 1 || intervalHours > MAX_INTERVAL_HOURS) {
      throw new Error(`interval must be a whole number of hours between 1 and ${MAX_INTERVAL_HOURS} (got ${interval.toHumanString()})`);
    }
    if (props.streams.length === 0) throw new Error('streams must list at least one stream (got 0)');
    if (props.streamingViews.length !== props.streams.length) {
      throw new Error(`streamingViews must hold one view per stream (got ${props.streamingViews.length} for ${props.streams.length} streams)`);
    }
    const stack = Stack.of(this);
    const workgroupArn = props.workgroup.attrWorkgroupWorkgroupArn;
    const prefixes = [...props.streams.map((s) => `${s.name}/`), 'errors/'];
    this.archivePrefixes = prefixes;
    const findingName = (bucket: string): string => {
      const resolved = stack.resolve(bucket) as unknown;
      if (typeof resolved === 'string') return resolved;
      const { Ref: ref, 'Fn::GetAtt': getAtt } = resolved as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return `<${ref ?? (getAtt ? getAtt.join('.') : JSON.stringify(resolved))}>`;
    };
    const parameterArn = (region: string): string =>
      stack.formatArn({ service: 'ssm', region, resource: 'parameter', resourceName: props.archiveBucketParameterName.replace(/^\//, ''), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const others = [...new Set(props.otherArchiveRegions ?? [])];
    if (others.includes(stack.region)) throw new Error(`otherArchiveRegions must not list this stack's own Region ${stack.region}`);
    const archives = [
      { region: stack.region, bucketName: props.archiveBucketName },
      ...others.map((region) => {
        // CloudFormation resolves SSM parameters in the stack's own Region only: read the other Region's at deploy time.
        const lookup = new cr.AwsCustomResource(this, `ArchiveBucketLookup-${region}`, {
          onUpdate: {
            service: 'SSM',
            action: 'getParameter',
            region,
            parameters: { Name: props.archiveBucketParameterName },
            physicalResourceId: cr.PhysicalResourceId.fromResponse('Parameter.Value'),
            outputPaths: ['Parameter.Value'],
          },
          policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArn(region)] })]),
          installLatestAwsSdk: false,
        });
        if (props.archiveBucketLookupRefresh !== undefined) {
          (lookup.node.findChild('Resource').node.defaultChild as CfnResource).addPropertyOverride('Refresh', props.archiveBucketLookupRefresh);
        }
        return { region, bucketName: lookup.getResponseField('Parameter.Value') };
      }),
    ];
    this.archives = archives.map((a) => ({ ...a, findingName: findingName(a.bucketName) }));

    const environment: Record<string, string> = {
      WORKGROUP_NAME: props.workgroup.attrWorkgroupWorkgroupName,
      DATABASE_NAME: props.databaseName,
      ...(props.adminSecretArn ? { SECRET_ARN: props.adminSecretArn } : {}),
      POLL_INTERVAL_MS: '1000',
      SCHEMA: props.schemaName ?? 'redstream',
      SUBJECT_PATHS: (props.subjectPaths ?? DEFAULT_SUBJECT_PATHS).join(','),
      STREAMS: JSON.stringify(props.streams.map((s) => ({ name: s.physicalName, retentionHours: s.retentionHours }))),
      STREAMING_VIEWS: JSON.stringify(props.streamingViews),
      ARCHIVE_BUCKET: props.archiveBucketName,
      ARCHIVE_BUCKET_PARAMETER: props.archiveBucketParameterName,
      ...(others.length > 0 ? { OTHER_ARCHIVES: stack.toJsonString(archives.slice(1).map((a) => ({ region: a.region, bucket: a.bucketName }))) } : {}),
      ARCHIVE_PREFIXES: JSON.stringify(prefixes),
      ARCHIVE_DELAY_MS: String(props.archiveDelay.toMilliseconds()),
      POWERTOOLS_SERVICE_NAME: 'redstream-erasure-finish',
    };
    // The view statements travel in the environment. Bucket names resolve to at most 63 characters.
    checkLambdaEnvironmentSize(
      environment,
      {
        what: 'erasure step',
        why: `${props.streams.length} streaming view definitions`,
        fix: 'set warehouse.erasureFinishIntervalHours to 0 and run npm run ops -- erase --finish on a schedule of your own',
      },
      { OTHER_ARCHIVES: JSON.stringify(others.map((region) => ({ region, bucket: 'b'.repeat(63) }))).length },
    );

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Redstream erasure scheduled step: Data API on the workgroup, the archive bucket under the stream and error prefixes',
    });
    grantDataApiStatements(this.role, workgroupArn);
    grantDataApiCredentials(this.role, workgroupArn, { arn: props.adminSecretArn, key: props.adminSecretKey });
    // The statements keep their ids with one archive (this Region's); each other Region's get its name as a suffix.
    for (const [i, archive] of archives.entries()) {
      const sid = (base: string): string => (i === 0 ? base : `${base}${archive.region.replace(/[^A-Za-z0-9]/g, '')}`);
      const bucketArn = stack.formatArn({ service: 's3', region: '', account: '', resource: archive.bucketName });
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('ListArchive'),
          actions: ['s3:ListBucketVersions'],
          resources: [bucketArn],
          conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
        }),
      );
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('ListArchiveKeys'),
          // Unconditioned: S3 answers a GET or HEAD of a key or version that does not exist (one a concurrent erasure
          // deleted, which the sweep must tell apart) with 404 only to a caller allowed s3:ListBucket, else 403 (S3 API
          // Reference, HeadObject and GetObject). Such a request carries no s3:prefix, so a prefix condition would not
          // count. The bucket holds only the archive (the streams' and error prefixes).
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
        }),
      );
      const objects = prefixes.map((p) => `${bucketArn}/${p}*`);
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('ReadArchiveObjectsDeleteVersions'),
          // Read an object and its noncurrent versions (s3:GetObject is also what S3 wants for a conditional write or
          // delete on an ETag), and delete for good the versions that still hold erased records.
          actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObjectVersion'],
          resources: objects,
        }),
      );
      // Every write and delete marker of the step is conditional (lambda/archive/erase.ts): a rewrite on the ETag it
      // read (If-Match), a write-back of an expired object's version only where no object is (If-None-Match), a delete
      // marker only on the copy it wrote (If-Match). The role can do nothing else: no blind overwrite or delete.
      // If-Match must name an ETag: `If-Match: *` means "whatever is current", a blind overwrite or delete marker.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('RewriteArchiveObjectsIfMatch'),
          actions: ['s3:PutObject', 's3:DeleteObject'],
          resources: objects,
          conditions: { Null: { 's3:if-match': 'false' }, StringNotEquals: { 's3:if-match': '*' } },
        }),
      );
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('WriteBackArchiveObjectsIfNoneMatch'),
          actions: ['s3:PutObject'],
          resources: objects,
          conditions: { Null: { 's3:if-none-match': 'false' } },
        }),
      );
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: sid('ArchiveKeyThroughS3'),
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [stack.formatArn({ service: 'kms', region: archive.region, resource: 'key', resourceName: '*' })],
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': props.archiveKeyAlias },
            StringEquals: { 'kms:ViaService': `s3.${archive.region}.amazonaws.com` },
          },
        }),
      );
    }
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CheckArchiveBucketNames',
        actions: ['ssm:GetParameter'],
        resources: archives.map((a) => parameterArn(a.region)),
      }),
    );

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    logGroup.grantWrite(this.role);
    const root = path.resolve(__dirname, '..');
    this.function = new nodejs.NodejsFunction(this, 'Resource', {
      description: 'Redstream: finishes due erasures (recreates the streaming views, sweeps late archive objects)',
      entry: path.join(root, 'lambda', 'erasure-finish', 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      // Archive objects are decoded and re-encoded whole (buffered objects of up to 128 MiB): memory, and CPU with it.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      role: this.role,
      logGroup,
      environment,
      // A scheduled run is not retried: the next run repeats every idempotent step.
      retryAttempts: 0,
      // The pinned SDK, bundled: conditional deletes (DeleteObject If-Match) are newer than some runtimes' SDK.
      bundling: { minify: true, sourceMap: false, forceDockerBundling: false, externalModules: [...BUNDLED_SDK_EXTERNAL_MODULES] },
    });
    // One run at a time: two would race on the same archive objects.
    (this.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'Redstream: EventBridge Scheduler invokes the erasure scheduled step',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Redstream: finish due erasures every ${interval.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(interval),
      target: new targets.LambdaInvoke(this.function, { role: this.schedulerRole, retryAttempts: 0, maxEventAge: Duration.hours(1) }),
    });

    this.failureAlarm = this.function.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }).createAlarm(this, 'FailureAlarm', {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // A run publishes Errors 0 or 1 once per interval, and nothing in the hours between: missing data keeps the
      // state, so a failed run stays in ALARM until a run succeeds instead of reading OK an hour later.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      alarmDescription:
        `Redstream: the erasure scheduled step in ${stack.region} failed. Due erasures stay unfinished (streaming views not recreated, late archive objects not swept) ` +
        'until a run succeeds; the next scheduled run retries. Read the function\'s logs, fix the cause, or run npm run ops -- erase --finish.',
    });

    // Lambda publishes Invocations only for hours with one, and missing hours count as breaching: ALARM once no run
    // started in the whole window. The window outlasts the interval by the schedule's 1 h event age and a run's 15 min.
    const windowHours = intervalHours + ERASURE_MISSED_RUN_GRACE_HOURS;
    this.missedRunAlarm = this.function.metricInvocations({ statistic: 'Sum', period: Duration.hours(1) }).createAlarm(this, 'MissedRunAlarm', {
      threshold: 1,
      evaluationPeriods: windowHours,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription:
        `Redstream: the erasure scheduled step in ${stack.region} has not run for ${windowHours} hours (it runs every ${intervalHours} h). Due erasures stay unfinished. ` +
        'Check that its EventBridge Scheduler schedule is enabled and that its role may invoke the function, or run npm run ops -- erase --finish.',
    });
    // A new (or updated) alarm has no data at all yet: it waits for the first scheduled run before it evaluates.
    // CloudWatch caps the warm-up at 2 days, so with an interval over 48 h it can fire once before the first run.
    (this.missedRunAlarm.node.defaultChild as cloudwatch.CfnAlarm).warmUpConfiguration = {
      warmUpPeriodDurationInMinutes: Math.min(windowHours * 60, MAX_WARM_UP_MINUTES),
      onlyStartEvaluatingAfterWarmUpPeriodEnds: true,
    };
    for (const alarm of [this.failureAlarm, this.missedRunAlarm]) {
      for (const action of props.alarmActions ?? []) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}

/**
 * The warehouse's SQL at deploy time and its merge schedule.
 *
 * `new WarehouseSql(stack, 'Sql', { namespace, workgroup, databaseName, streamingRole, streams, ... })` creates:
 * - a custom resource (provider framework, Lambda `SqlRunner`) that applies the rendered SQL (lib/sql/render.ts)
 *   through the Redshift Data API after the namespace and workgroup exist: statements run in order in one session,
 *   each is waited for, a failure fails the deployment with the database's error text, an update re-runs them
 *   (materialized views are created, recreated when their definition changed, or skipped), and a stack deletion
 *   keeps every object and its data;
 * - a merge runner (Lambda `MergeRunner`, reserved concurrency 1) invoked by an EventBridge Scheduler schedule every
 *   `mergeInterval`, which calls the merge procedure, fails visibly (the function's Errors metric) when the merge
 *   fails, and emits the run's counts as metrics, among them the records streaming ingestion skipped, with an alarm
 *   on those ({@link WarehouseSql.ingestionSkippedAlarm}). A merge that fails because a streaming view is missing
 *   creates it again from the bootstrap's statement (`STREAMING_VIEWS` in its environment; lambda/merge/run.ts) and
 *   still fails.
 *
 * The streaming views are created only after what streaming ingestion needs exists: the custom resource depends on
 * the streaming role (and so its policy) and on the stack's Kinesis interface endpoints
 * ({@link WarehouseSqlProps.ingestionDependencies}).
 *
 * The rendered statements travel inline in the custom resource's properties (a few kB in all; template limits are
 * 1 MB and CDK uploads large templates to S3). Inline, CloudFormation resolves the tokens in them (Region, role ARN),
 * and any change to the SQL is a property change, so CloudFormation sends an Update and the runner re-applies it.
 */
import * as path from 'node:path';
import { Aspects, CustomResource, Duration, IAspect, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct, IDependable } from 'constructs';
import { compactStatement, StreamingViewDefinition } from '../lambda/archive/streaming-views';
import { MERGE_METRICS, MERGE_METRICS_NAMESPACE, MERGE_POWERTOOLS_SERVICE_NAME } from '../lambda/merge/metrics';
import { checkLambdaEnvironmentSize } from './lambda-environment';
import { RenderedStatement, renderLastMergeRunQuery, renderMergeCall, renderSql, WAREHOUSE_SQL_DEFAULTS } from './sql/render';

/** How the functions authenticate to the Data API. */
export enum WarehouseSqlAuthentication {
  /**
   * The namespace's managed admin secret (`manageAdminPassword`): the functions read it at run time; it is never in
   * the template. CloudFormation does not expose its ARN, so a small AwsCustomResource looks it up
   * (`redshift-serverless:GetNamespace`) at deploy time, unless `adminSecret` is given.
   */
  ADMIN_SECRET = 'admin-secret',
  /**
   * The functions' IAM role (Data API → `redshift-serverless:GetCredentials`), database user `IAMR:<role name>`.
   * That user needs the rights to create schemas, external schemas and views, e.g. through the role tag
   * `RedshiftDbRoles` naming a database role that has them.
   */
  IAM = 'iam',
}

export interface WarehouseSqlStream {
  /** Logical stream name (`events.stream_name`). */
  readonly name: string;
  /** Physical Kinesis stream name in this Region (identical in every Region). */
  readonly physicalName: string;
}

export interface WarehouseSqlProps {
  /** The Redshift Serverless namespace. */
  readonly namespace: redshiftserverless.CfnNamespace;
  /** The workgroup the Data API runs statements in. */
  readonly workgroup: redshiftserverless.CfnWorkgroup;
  /** Database name (the namespace's `dbName`). */
  readonly databaseName: string;
  /** The streaming-ingestion role, associated with the namespace; named in the external schema. */
  readonly streamingRole: iam.IRole;
  /** The streams to ingest, one streaming MV each. At least one. */
  readonly streams: readonly WarehouseSqlStream[];
  /** How the functions authenticate. @default WarehouseSqlAuthentication.ADMIN_SECRET */
  readonly authentication?: WarehouseSqlAuthentication;
  /** The admin secret (`username`/`password` JSON) for ADMIN_SECRET. @default - the namespace's managed admin secret */
  readonly adminSecret?: secretsmanager.ISecret;
  /**
   * The key that encrypts the managed admin secret (the namespace's `adminPasswordSecretKmsKeyId`); the functions
   * get `kms:Decrypt` on it through Secrets Manager only. @default - none (the secret uses the AWS managed key)
   */
  readonly adminSecretKey?: kms.IKey;
  /** Schema of every Redstream object. @default 'redstream' */
  readonly schemaName?: string;
  /** Dot-separated JSON path of the dedup key. @default 'messageId' */
  readonly dedupKeyPath?: string;
  /** Days of event time within which a repeated id is a duplicate. Valid range: 1–365. @default 7 */
  readonly dedupWindowDays?: number;
  /** JSON path of the event type. @default 'type' */
  readonly eventTypePath?: string;
  /** JSON path of the user id. @default 'userId' */
  readonly userIdPath?: string;
  /** JSON path of the event time (ISO-8601). @default 'timestamp' */
  readonly eventTimePath?: string;
  /** Records larger than this many bytes go to rejects as `too_large`. Valid range: 1–65535. @default 65535 */
  readonly maxRecordBytes?: number;
  /**
   * Minutes each merge reads back before a stream's refresh high-water mark (its bound on the MV's sort key); must
   * exceed the longest MV refresh. Valid range: 1–1440. @default 10
   */
  readonly refreshMarginMinutes?: number;
  /** Event times more than this many days before arrival are rejected (`implausible_event_time`). Valid range: 1–3650. @default 365 */
  readonly eventTimeMaxPastDays?: number;
  /** Event times more than this many hours after arrival are rejected (`implausible_event_time`). Valid range: 1–8760. @default 24 */
  readonly eventTimeMaxFutureHours?: number;
  /**
   * What must exist before the streaming views are created (streaming ingestion reads Kinesis through them), besides
   * the streaming role and its policy, which are always waited for.
   * @default - every Kinesis Data Streams interface endpoint in this stack
   */
  readonly ingestionDependencies?: readonly IDependable[];
  /** Actions of the alarm on records skipped by streaming ingestion (e.g. the Region's alarm topic). @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /** Time between merges, in whole minutes. Valid range: 1–1440 minutes. @default Duration.minutes(1) */
  readonly mergeInterval?: Duration;
  /** Whether the merge schedule is enabled. @default true */
  readonly mergeScheduleEnabled?: boolean;
  /**
   * Whether a merge that fails because a streaming view is missing creates the missing views again (the invocation
   * still fails). Their statements travel in the merge function's environment, within Lambda's 4 KB (synth fails
   * when they do not fit). Only with ADMIN_SECRET authentication: the erasure's scheduled step recreates the views as
   * the admin user, and with IAM authentication the merge's own database user would neither see them in SVV_MV_INFO
   * (a regular user sees only the views it owns) nor be able to replace them.
   * @default true with ADMIN_SECRET authentication, false with IAM
   */
  readonly restoreStreamingViews?: boolean;
  /** Retention of the functions' log groups. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const DEFAULTS = {
  authentication: WarehouseSqlAuthentication.ADMIN_SECRET,
  mergeInterval: Duration.minutes(1),
  mergeScheduleEnabled: true,
  logRetention: logs.RetentionDays.ONE_MONTH,
} as const;

const LAMBDA_DIR = path.join(__dirname, '..', 'lambda');

/** Bootstraps the warehouse SQL at deploy time and runs the merge on a schedule. */
export class WarehouseSql extends Construct {
  /** The custom resource that applies the SQL. */
  public readonly resource: CustomResource;
  /** The role both functions run as (one database identity: the owner of every object). */
  public readonly role: iam.Role;
  /** The custom resource's handler. */
  public readonly sqlRunner: nodejs.NodejsFunction;
  /** The function that runs one merge; alarm on its Errors metric. */
  public readonly mergeFunction: nodejs.NodejsFunction;
  /** The merge schedule. */
  public readonly schedule: scheduler.Schedule;
  /** The role EventBridge Scheduler invokes the merge runner with. */
  public readonly schedulerRole: iam.Role;
  /** The provider framework behind the custom resource. */
  public readonly provider: cr.Provider;
  /** The AwsCustomResource that looks up the managed admin secret's ARN, when one is needed. */
  public readonly adminSecretLookup?: cr.AwsCustomResource;
  /** The statements the custom resource applies, in order. */
  public readonly statements: readonly RenderedStatement[];
  /** The statements one merge runs (one Data API batch): the call, then the query of the run's counts. */
  public readonly mergeSql: readonly string[];
  /**
   * The streaming views' CREATE statements as {@link statements} holds them, compacted: what the merge runner and the
   * erasure's scheduled step create a missing or recreated view with.
   */
  public readonly streamingViews: readonly StreamingViewDefinition[];
  /** Streaming ingestion skipped records (they are in `rejects` as `ingestion_skipped`): someone should look. */
  public readonly ingestionSkippedAlarm: cloudwatch.Alarm;
  /** A merge created a missing streaming view again (when the merge restores views). */
  public readonly streamingViewRestoredAlarm?: cloudwatch.Alarm;
  /** The admin secret the functions use with ADMIN_SECRET authentication (given or looked up); undefined with IAM. */
  public readonly adminSecretArn?: string;

  constructor(scope: Construct, id: string, props: WarehouseSqlProps) {
    super(scope, id);
    const mergeInterval = props.mergeInterval ?? DEFAULTS.mergeInterval;
    const authentication = props.authentication ?? DEFAULTS.authentication;
    if (props.restoreStreamingViews === true && authentication !== WarehouseSqlAuthentication.ADMIN_SECRET) {
      throw new Error('restoreStreamingViews needs authentication ADMIN_SECRET (the views\' owner); fix: leave restoreStreamingViews unset or false with IAM authentication');
    }
    const restoreStreamingViews = props.restoreStreamingViews ?? authentication === WarehouseSqlAuthentication.ADMIN_SECRET;
    if (!Token.isUnresolved(mergeInterval.toSeconds())) {
      const minutes = mergeInterval.toSeconds() / 60;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
        throw new Error(`mergeInterval must be a whole number of minutes between 1 and 1440 (got ${mergeInterval.toHumanString()})`);
      }
    }
    if (!Token.isUnresolved(props.databaseName) && !/^[a-z_][a-z0-9_]{0,62}$/.test(props.databaseName)) {
      throw new Error(`databaseName must be a lower-case SQL identifier (got ${JSON.stringify(props.databaseName)})`);
    }
    const schema = props.schemaName ?? WAREHOUSE_SQL_DEFAULTS.schema;
    // Renders (and validates) before creating anything; errors name the parameter, its range and the value.
    this.statements = renderSql(
      {
        schema,
        region: Stack.of(this).region,
        streamingRoleArn: props.streamingRole.roleArn,
        streams: props.streams,
        dedupKeyPath: props.dedupKeyPath,
        dedupWindowDays: props.dedupWindowDays,
        eventTypePath: props.eventTypePath,
        userIdPath: props.userIdPath,
        eventTimePath: props.eventTimePath,
        maxRecordBytes: props.maxRecordBytes,
        refreshMarginMinutes: props.refreshMarginMinutes,
        eventTimeMaxPastDays: props.eventTimeMaxPastDays,
        eventTimeMaxFutureHours: props.eventTimeMaxFutureHours,
      },
      { dialect: 'redshift' },
    );
    this.mergeSql = [...renderMergeCall({ dialect: 'redshift', schema }), renderLastMergeRunQuery(schema)];
    this.streamingViews = this.statements
      .filter((st) => st.kind === 'materialized-view')
      .map((st) => ({ schema: st.schemaName!, name: st.objectName!, sql: compactStatement(st.sql) }));
    const mergeEnvironment: Record<string, string> = {
      MERGE_SQL: JSON.stringify(this.mergeSql),
      ...(restoreStreamingViews ? { STREAMING_VIEWS: JSON.stringify(this.streamingViews) } : {}),
      POWERTOOLS_SERVICE_NAME: MERGE_POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: MERGE_METRICS_NAMESPACE,
    };
    const functionEnvironment = (secretArn: string | undefined): Record<string, string> => ({
      WORKGROUP_NAME: props.workgroup.attrWorkgroupWorkgroupName,
      DATABASE_NAME: props.databaseName,
      ...(secretArn ? { SECRET_ARN: secretArn } : {}),
      POLL_INTERVAL_MS: '1000',
    });
    // Before anything is created: the secret's ARN, given or looked up later, counts as a token does.
    checkLambdaEnvironmentSize(
      { ...functionEnvironment(authentication === WarehouseSqlAuthentication.ADMIN_SECRET ? 'resolved at deploy time' : undefined), ...mergeEnvironment },
      {
        what: 'merge runner',
        why: `${this.streamingViews.length} streaming view definitions`,
        fix: "set warehouse.mergeRestoresStreamingViews to false (a missing streaming view then waits for the erasure step's next run)",
      },
      { SECRET_ARN: 128 },
    );

    const workgroupArn = props.workgroup.attrWorkgroupWorkgroupArn;
    const secretArn = authentication === WarehouseSqlAuthentication.ADMIN_SECRET ? this.lookUpAdminSecretArn(props) : undefined;
    this.adminSecretArn = secretArn;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Redstream warehouse SQL runner and merge runner (Redshift Data API)',
    });
    // BatchExecuteStatement: the merge runs as one batch (one transaction).
    grantDataApiStatements(this.role, workgroupArn, ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement']);
    grantDataApiCredentials(this.role, workgroupArn, { arn: secretArn, key: props.adminSecretKey });

    const environment = functionEnvironment(secretArn);
    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    const fn = (
      fid: string,
      entry: string,
      description: string,
      timeout: Duration,
      extra: Record<string, string> = {},
      maxEventAge?: Duration,
    ): nodejs.NodejsFunction => {
      const logGroup = new logs.LogGroup(this, `${fid}Logs`, { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
      const f = new nodejs.NodejsFunction(this, fid, {
        description,
        entry: path.join(LAMBDA_DIR, entry),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout,
        role: this.role,
        logGroup,
        environment: { ...environment, ...extra },
        // Scheduled invocations are not retried: the next merge picks up where this one stopped.
        retryAttempts: 0,
        maxEventAge,
        bundling: { minify: true, sourceMap: false, forceDockerBundling: false },
      });
      logGroup.grantWrite(this.role);
      return f;
    };

    this.sqlRunner = fn('SqlRunner', 'sql-runner/index.ts', 'Redstream: applies the warehouse SQL (custom resource)', Duration.minutes(14));
    const provider = (this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.sqlRunner,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
    }));
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::RedstreamWarehouseSql',
      serviceTimeout: Duration.minutes(20),
      properties: {
        Statements: this.statements.map((s) => ({
          Id: s.id,
          Sql: s.sql,
          Kind: s.kind,
          ...(s.kind === 'materialized-view' ? { SchemaName: s.schemaName, ObjectName: s.objectName } : {}),
        })),
      },
    });
    this.resource.node.addDependency(props.workgroup, props.namespace);
    // The streaming views fail to create (or refresh) until the role can read the streams: wait for the role and its
    // policy (a construct dependency covers its children), and for the Kinesis endpoint the workgroup reaches them by.
    this.resource.node.addDependency(props.streamingRole);
    if (props.ingestionDependencies) {
      this.resource.node.addDependency(...props.ingestionDependencies);
    } else {
      Aspects.of(this).add(new DependOnKinesisEndpoints(this.resource));
    }

    this.mergeFunction = fn('MergeRunner', 'merge/index.ts', 'Redstream: runs one warehouse merge', Duration.minutes(15), mergeEnvironment, Duration.minutes(1));
    // One merge at a time: LOCK TABLE makes a second merge wait, not fail, so overlapping invocations would only
    // queue in Redshift. A throttled scheduled invocation is dropped after a minute (maxEventAge); the next one picks up.
    const mergeCfn = this.mergeFunction.node.defaultChild as lambda.CfnFunction;
    mergeCfn.reservedConcurrentExecutions = 1;
    const skippedMetric = (metricName: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: MERGE_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: MERGE_POWERTOOLS_SERVICE_NAME, workgroup: props.workgroup.attrWorkgroupWorkgroupName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    this.ingestionSkippedAlarm = new cloudwatch.MathExpression({
      // Skipped records the merge turned into rejects, or skipped rows streaming ingestion reported: whichever is higher.
      expression: 'MAX([rejected, reported])',
      usingMetrics: { rejected: skippedMetric(MERGE_METRICS.ingestionSkipped), reported: skippedMetric(MERGE_METRICS.ingestionSkippedReported) },
      period: Duration.minutes(5),
      label: 'Records skipped by streaming ingestion',
    }).createAlarm(this, 'IngestionSkippedAlarm', {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `Redstream: streaming ingestion in ${Stack.of(this).region} skipped records in the last five minutes (SYS_STREAM_SCAN_ERRORS / SYS_STREAM_SCAN_STATES). ` +
        'Each is in the rejects table with reason ingestion_skipped, its shard, position and error; the archive holds its bytes. Find them with ' +
        "SELECT * FROM redstream.rejects WHERE reason = 'ingestion_skipped' ORDER BY rejected_at DESC.",
    });
    for (const action of props.alarmActions ?? []) {
      this.ingestionSkippedAlarm.addAlarmAction(action);
      this.ingestionSkippedAlarm.addOkAction(action);
    }
    if (restoreStreamingViews) {
      // A restored view means ingestion stopped for a while (the view was missing), and the new view reads its stream
      // only from the oldest record still there: say so, even when the merge errors alarm (2 of 3 periods) stays quiet.
      this.streamingViewRestoredAlarm = skippedMetric(MERGE_METRICS.streamingViewsRestored).createAlarm(this, 'StreamingViewRestoredAlarm', {
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `Redstream: the merge in ${Stack.of(this).region} found a streaming view missing and created it again. Streaming ingestion stopped while it ` +
          'was missing, and the new view reads each stream only from its oldest record: records older than the stream retention at that moment are ' +
          'not in the warehouse. Read the merge function\'s logs for the view and when; if the gap may exceed the retention, replay that window from ' +
          'the archive (npm run ops -- replay).',
      });
      for (const action of props.alarmActions ?? []) {
        this.streamingViewRestoredAlarm.addAlarmAction(action);
        this.streamingViewRestoredAlarm.addOkAction(action);
      }
    }
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'Redstream: EventBridge Scheduler invokes the warehouse merge runner',
    });
    this.schedule = new scheduler.Schedule(this, 'MergeSchedule', {
      description: `Redstream: warehouse merge every ${mergeInterval.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(mergeInterval),
      target: new targets.LambdaInvoke(this.mergeFunction, { role: this.schedulerRole, retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      enabled: props.mergeScheduleEnabled ?? DEFAULTS.mergeScheduleEnabled,
    });
    // Merging before the SQL exists would only fail: start after the bootstrap.
    this.schedule.node.addDependency(this.resource);
  }

  /** The admin secret's ARN: given, or looked up from the namespace at deploy time (CloudFormation has no attribute for it). */
  private lookUpAdminSecretArn(props: WarehouseSqlProps): string {
    if (props.adminSecret) return props.adminSecret.secretArn;
    const lookup = new cr.AwsCustomResource(this, 'AdminSecretLookup', {
      onUpdate: {
        service: 'RedshiftServerless',
        action: 'getNamespace',
        parameters: { namespaceName: props.namespace.attrNamespaceNamespaceName },
        physicalResourceId: cr.PhysicalResourceId.of(props.namespace.attrNamespaceNamespaceName),
        outputPaths: ['namespace.adminPasswordSecretArn'],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['redshift-serverless:GetNamespace'], resources: [props.namespace.attrNamespaceNamespaceArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    lookup.node.addDependency(props.namespace);
    (this as { adminSecretLookup?: cr.AwsCustomResource }).adminSecretLookup = lookup;
    return lookup.getResponseField('namespace.adminPasswordSecretArn');
  }
}

/**
 * Makes the SQL bootstrap wait for every Kinesis Data Streams interface endpoint of its stack, found when the app is
 * synthesized (so an endpoint added after the construct counts too).
 */
class DependOnKinesisEndpoints implements IAspect {
  private done = false;

  constructor(private readonly resource: CustomResource) {}

  public visit(_node: IConstruct): void {
    if (this.done) return;
    this.done = true;
    const endpoints = Stack.of(this.resource)
      .node.findAll()
      .filter((c): c is ec2.CfnVPCEndpoint => c instanceof ec2.CfnVPCEndpoint && JSON.stringify(Stack.of(c).resolve(c.serviceName)).includes('.kinesis-streams'));
    if (endpoints.length > 0) this.resource.node.addDependency(...endpoints);
  }
}

/**
 * What a role needs to run Data API statements in a workgroup and follow them: `firstStatement` (ExecuteStatement, and
 * BatchExecuteStatement for a batch) on the workgroup; the statements after the first of a session, sent with only a
 * SessionId, which the Data API authorizes against "*" with the session owner's id, not the workgroup ARN; and
 * DescribeStatement, GetStatementResult and CancelStatement (a statement still running at a deadline is cancelled),
 * which have no resource-level permissions, on the role's own statements only.
 */
export function grantDataApiStatements(role: iam.Role, workgroupArn: string, firstStatement: readonly string[] = ['redshift-data:ExecuteStatement']): void {
  role.addToPolicy(new iam.PolicyStatement({ sid: 'RunStatements', actions: [...firstStatement], resources: [workgroupArn] }));
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'FollowOwnStatements',
      actions: ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult', 'redshift-data:CancelStatement'],
      resources: ['*'],
      conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RunSessionStatements',
      actions: ['redshift-data:ExecuteStatement'],
      resources: ['*'],
      conditions: { StringEquals: { 'redshift-data:session-owner-iam-userid': '${aws:userid}' } },
    }),
  );
}

/**
 * How a role that runs Data API statements signs in to the workgroup: with the admin secret (and its key, through
 * Secrets Manager only) when there is one, else with temporary credentials for its own IAM identity.
 */
export function grantDataApiCredentials(role: iam.Role, workgroupArn: string, adminSecret: { readonly arn?: string; readonly key?: kms.IKey }): void {
  if (adminSecret.arn) {
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadAdminSecret', actions: ['secretsmanager:GetSecretValue'], resources: [adminSecret.arn] }));
    if (adminSecret.key) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptAdminSecret',
          actions: ['kms:Decrypt'],
          resources: [adminSecret.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(role).region}.amazonaws.com` } },
        }),
      );
    }
  } else {
    role.addToPolicy(new iam.PolicyStatement({ sid: 'GetCredentials', actions: ['redshift-serverless:GetCredentials'], resources: [workgroupArn] }));
  }
}

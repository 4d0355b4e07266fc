import { CfnResource, Duration, RemovalPolicy, Size, SizeRoundingBehavior, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { stripUndefined } from './archive-bucket';
import { ARCHIVE_TRANSFORM_BUFFER_MB, ARCHIVE_TRANSFORM_PROCESSOR } from './archive-transform';

export interface EventStreamProps {
  /**
   * Physical stream name. Set explicitly (not generated) because the replicator addresses the same-named stream in
   * every Region and producers switch Regions by name.
   */
  readonly streamName: string;
  /** Prefix of this stream's objects in the archive bucket, e.g. the logical stream name. */
  readonly archivePrefix: string;
  /** Customer-managed key for server-side encryption of the stream. */
  readonly encryptionKey: kms.IKey;
  /** Bucket that receives the Firehose archive of every record. */
  readonly archiveBucket: s3.IBucket;
  /** Capacity mode. @default kinesis.StreamMode.ON_DEMAND */
  readonly streamMode?: kinesis.StreamMode;
  /** Shard count of a provisioned stream. Valid range: 1–10000. @default 1 */
  readonly shardCount?: number;
  /** Retention period. Valid range: 24 hours – 8760 hours. @default Duration.hours(24) */
  readonly retentionPeriod?: Duration;
  /**
   * Largest record the stream accepts (data plus partition key). Valid range: 1024–10240 KiB (1–10 MiB).
   * @default Size.mebibytes(1) (Kinesis's default)
   */
  readonly maxRecordSize?: Size;
  /** Firehose buffering interval. Valid range: 0–900 seconds. @default Duration.seconds(300) */
  readonly archiveBufferingInterval?: Duration;
  /** Firehose buffering size. Valid range: 1–128 MiB. @default Size.mebibytes(64) */
  readonly archiveBufferingSize?: Size;
  /**
   * A Lambda function Firehose runs on each buffer of records before writing it (data transformation). The archive's
   * delivery role is granted exactly `lambda:InvokeFunction` and `lambda:GetFunctionConfiguration` on it.
   * @default - no transformation: records are written as they are
   */
  readonly archiveTransform?: lambda.IFunction;
  /** Name of the enhanced fan-out consumer created for the replicator. @default 'redstream-replicator' */
  readonly replicatorConsumerName?: string;
  /** Iterator-age alarm threshold as a percentage of the retention period. Valid range: 1–100. @default 50 */
  readonly iteratorAgeRetentionPercent?: number;
  /** Archive data-freshness alarm threshold. @default Duration.minutes(15) */
  readonly archiveFreshnessThreshold?: Duration;
  /** What happens to the stream when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const EVENT_STREAM_DEFAULTS = {
  streamMode: kinesis.StreamMode.ON_DEMAND,
  shardCount: 1,
  retentionPeriod: Duration.hours(24),
  maxRecordSize: Size.mebibytes(1),
  archiveBufferingInterval: Duration.seconds(300),
  archiveBufferingSize: Size.mebibytes(64),
  replicatorConsumerName: 'redstream-replicator',
  iteratorAgeRetentionPercent: 50,
  archiveFreshnessThreshold: Duration.minutes(15),
  removalPolicy: RemovalPolicy.RETAIN,
};

/**
 * One Redstream stream in one Region: the KMS-encrypted Kinesis data stream, the enhanced fan-out consumer the
 * replicator reads through (its own 2 MB/s per shard, so replication never competes with other consumers), the
 * Firehose archive of every record to S3 (GZIP, hourly prefixes, a separate error prefix), and the stream's alarms.
 */
export class EventStream extends Construct {
  public readonly stream: kinesis.Stream;
  public readonly replicatorConsumer: kinesis.StreamConsumer;
  public readonly archive: firehose.DeliveryStream;
  /**
   * The role the archive's delivery stream writes to S3 with. The Firehose L2 only sees an immutable view of it (so
   * its `grantReadWrite` on the bucket, which includes `s3:DeleteObject*` and `kms:ReEncrypt*`, is dropped): anything
   * delivery needs beyond {@link archiveDeliveryActions} must be added to this role explicitly.
   */
  public readonly archiveRole: iam.Role;
  /** Oldest record in the stream is older than the configured share of the retention: data is at risk of expiring. */
  public readonly iteratorAgeAlarm: cloudwatch.Alarm;
  /** Producers are being throttled. */
  public readonly writeThrottleAlarm: cloudwatch.Alarm;
  /** The archive is falling behind: the oldest record not yet in S3 is older than the threshold. */
  public readonly archiveFreshnessAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    const p = { ...EVENT_STREAM_DEFAULTS, ...stripUndefined(props) } as Required<EventStreamProps>;
    validate(p);

    this.stream = new kinesis.Stream(this, 'Resource', {
      streamName: p.streamName,
      streamMode: p.streamMode,
      shardCount: p.streamMode === kinesis.StreamMode.PROVISIONED ? p.shardCount : undefined,
      retentionPeriod: p.retentionPeriod,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: p.encryptionKey,
      removalPolicy: p.removalPolicy,
    });
    // The L2 has no prop for it (aws-cdk-lib 2.276); the L1 property AWS::Kinesis::Stream.MaxRecordSizeInKiB does.
    (this.stream.node.defaultChild as kinesis.CfnStream).maxRecordSizeInKiB = p.maxRecordSize.toKibibytes();

    this.replicatorConsumer = new kinesis.StreamConsumer(this, 'ReplicatorConsumer', {
      stream: this.stream,
      streamConsumerName: p.replicatorConsumerName,
    });

    this.archiveRole = new iam.Role(this, 'ArchiveRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `Firehose delivery of ${p.streamName} to the S3 archive: write-only under its prefixes, no delete`,
    });
    const errorLogs = new logs.LogGroup(this, 'ArchiveErrorLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const deliveryPolicy = archiveDeliveryStatements(p.archiveBucket, [p.archivePrefix, `errors/${p.archivePrefix}`]);
    for (const statement of deliveryPolicy) this.archiveRole.addToPrincipalPolicy(statement);
    errorLogs.grantWrite(this.archiveRole);
    if (p.archiveTransform) {
      this.archiveRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'InvokeTransform',
          actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
          resources: [p.archiveTransform.functionArn, `${p.archiveTransform.functionArn}:*`],
        }),
      );
    }

    // Firehose rejects its own `encryption` setting with a Kinesis source: the stream's SSE covers data in transit
    // through Firehose, and the bucket's default SSE-KMS covers data at rest.
    this.archive = new firehose.DeliveryStream(this, 'Archive', {
      source: new firehose.KinesisStreamSource(this.stream),
      destination: new firehose.S3Bucket(p.archiveBucket, {
        // Immutable view: the L2's grants (bucket.grantReadWrite, the log group's, a processor's) are dropped; the
        // role holds exactly the statements above.
        role: this.archiveRole.withoutPolicyUpdates(),
        loggingConfig: new firehose.EnableLogging(errorLogs),
        processors: p.archiveTransform ? [new firehose.LambdaFunctionProcessor(p.archiveTransform, ARCHIVE_TRANSFORM_PROCESSOR)] : undefined,
        compression: firehose.Compression.GZIP,
        dataOutputPrefix: `${p.archivePrefix}/!{timestamp:yyyy/MM/dd/HH}/`,
        errorOutputPrefix: `errors/${p.archivePrefix}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`,
        bufferingInterval: p.archiveBufferingInterval,
        bufferingSize: p.archiveBufferingSize,
      }),
    });
    if (p.archiveTransform) {
      // The transformation answers up to ~7× what it receives for small records (each line carries its metadata and
      // the bytes in base64), and a synchronous answer is capped at 6 MB: the L2 takes whole MiB only, so the
      // processor is written out here with a quarter-MB buffer (the service's range is 0.2–3 MB). It is invoked with
      // the delivery role, which may invoke the function.
      (this.archive.node.defaultChild as CfnResource).addPropertyOverride('ExtendedS3DestinationConfiguration.ProcessingConfiguration.Processors', [
        {
          Type: 'Lambda',
          Parameters: [
            { ParameterName: 'LambdaArn', ParameterValue: p.archiveTransform.functionArn },
            { ParameterName: 'BufferSizeInMBs', ParameterValue: ARCHIVE_TRANSFORM_BUFFER_MB },
            { ParameterName: 'BufferIntervalInSeconds', ParameterValue: String(ARCHIVE_TRANSFORM_PROCESSOR.bufferInterval!.toSeconds()) },
            { ParameterName: 'NumberOfRetries', ParameterValue: String(ARCHIVE_TRANSFORM_PROCESSOR.retries) },
          ],
        },
      ]);
    }
    // The L2 saw no policy to wait for: the delivery stream must not start before the role can write.
    this.archive.node.addDependency(this.archiveRole);

    const retentionMs = p.retentionPeriod.toMilliseconds();
    const iteratorAgeThresholdMs = Math.floor((retentionMs * p.iteratorAgeRetentionPercent) / 100);
    this.iteratorAgeAlarm = new cloudwatch.Alarm(this, 'IteratorAgeAlarm', {
      metric: this.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: iteratorAgeThresholdMs,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      // GetRecords.IteratorAgeMilliseconds covers only consumers that read with GetRecords (shared throughput: the
      // Firehose archive, Redshift streaming ingestion). The replicator reads through enhanced fan-out
      // (SubscribeToShard), which this metric does not include: its own IteratorAge alarm (lib/replicator.ts) covers it.
      alarmDescription:
        `Stream ${p.streamName}: a GetRecords consumer (the Firehose archive or Redshift streaming ingestion) is ${p.iteratorAgeRetentionPercent} % of the ` +
        `${p.retentionPeriod.toHours()} h retention behind; records will expire before it reads them. Check the archive's freshness alarm and the warehouse's ` +
        'streaming views. (The replicator reads through enhanced fan-out, which this metric does not include: see its own IteratorAge alarm.)',
    });
    this.writeThrottleAlarm = new cloudwatch.Alarm(this, 'WriteThrottleAlarm', {
      metric: this.stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: Duration.minutes(1) }),
      threshold: 0,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Stream ${p.streamName}: producers are throttled in 3 of the last 5 minutes. Add shards or switch to on-demand.`,
    });
    this.archiveFreshnessAlarm = new cloudwatch.Alarm(this, 'ArchiveFreshnessAlarm', {
      metric: this.archive.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: p.archiveFreshnessThreshold.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Stream ${p.streamName}: the S3 archive is more than ${p.archiveFreshnessThreshold.toSeconds()} s behind. Check the delivery stream's error prefix in the archive bucket.`,
    });
  }
}

/**
 * What Firehose needs to deliver to an SSE-KMS bucket (the AWS Firehose guide, "Grant Firehose access to an Amazon S3
 * destination"): list the bucket and its multipart uploads, put, read back and abort objects under the given prefixes,
 * and use the bucket's key through S3 only. Nothing that deletes or rewrites history: no `s3:DeleteObject*`,
 * `s3:PutObjectRetention`, `s3:PutObjectLegalHold`, `kms:ReEncrypt*`.
 */
export const archiveDeliveryActions = {
  bucket: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
  objects: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
  key: ['kms:Decrypt', 'kms:GenerateDataKey'],
} as const;

function archiveDeliveryStatements(bucket: s3.IBucket, prefixes: readonly string[]): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({ sid: 'ArchiveBucket', actions: [...archiveDeliveryActions.bucket], resources: [bucket.bucketArn] }),
    new iam.PolicyStatement({ sid: 'ArchiveObjects', actions: [...archiveDeliveryActions.objects], resources: prefixes.map((prefix) => bucket.arnForObjects(`${prefix}/*`)) }),
  ];
  if (bucket.encryptionKey) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ArchiveKeyThroughS3',
        actions: [...archiveDeliveryActions.key],
        resources: [bucket.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Stack.of(bucket).region}.amazonaws.com` },
          // With an S3 Bucket Key the encryption context is the bucket's ARN; without one, the object's.
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucket.bucketArn, ...prefixes.map((prefix) => bucket.arnForObjects(`${prefix}/*`))] },
        },
      }),
    );
  }
  return statements;
}

function validate(p: Required<EventStreamProps>): void {
  const kib = p.maxRecordSize.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
  if (!Number.isInteger(kib) || kib < 1024 || kib > 10240) {
    throw new Error(`maxRecordSize must be a whole number of KiB between 1024 and 10240 (got ${kib} KiB)`);
  }
  if (!Token.isUnresolved(p.shardCount) && (!Number.isInteger(p.shardCount) || p.shardCount < 1 || p.shardCount > 10000)) {
    throw new Error(`shardCount must be between 1 and 10000 (got ${p.shardCount})`);
  }
  const hours = p.retentionPeriod.toHours({ integral: false });
  if (hours < 24 || hours > 8760) {
    throw new Error(`retentionPeriod must be between 24 and 8760 hours (got ${hours})`);
  }
  const interval = p.archiveBufferingInterval.toSeconds();
  if (interval < 0 || interval > 900) {
    throw new Error(`archiveBufferingInterval must be between 0 and 900 seconds (got ${interval})`);
  }
  const size = p.archiveBufferingSize.toMebibytes();
  if (size < 1 || size > 128) {
    throw new Error(`archiveBufferingSize must be between 1 and 128 MiB (got ${size})`);
  }
  if (p.iteratorAgeRetentionPercent < 1 || p.iteratorAgeRetentionPercent > 100) {
    throw new Error(`iteratorAgeRetentionPercent must be between 1 and 100 (got ${p.iteratorAgeRetentionPercent})`);
  }
}

import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ArchiveBucket } from './archive-bucket';
import { ArchiveTransform } from './archive-transform';
import { allRegions, EnvironmentConfig, physicalStreamName, StreamConfig } from './config';
import { EventStream } from './event-stream';
import { activeRegionTableName, alarmTopicKeyAlias, alarmTopicName, archiveBucketParameterName, archiveKeyAlias, checkpointTableName, replicatorFunctionName, streamKeyAlias } from './names';
import { StreamReplicator } from './replicator';

export interface RegionStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * Everything one Region runs for an environment: the encrypted streams with their enhanced fan-out consumers, the
 * Firehose archive, the alarm topic and the streams' alarms. Every Region runs the same stack, so a standby can take
 * over without a deploy.
 */
export class RegionStack extends Stack {
  /** Customer-managed key of every stream in this Region; its alias is the same in every Region. */
  public readonly streamKey: kms.Key;
  public readonly archive: ArchiveBucket;
  /** The archive's Firehose data transformation, shared by every stream of the Region. */
  public readonly archiveTransform: ArchiveTransform;
  /** Topic every Redstream alarm of this Region notifies (alarms can only notify a topic in their own Region). */
  public readonly alarmTopic: sns.Topic;
  /** The streams, keyed by logical name. */
  public readonly streams = new Map<string, EventStream>();
  /** Copies every stream to the other Regions while this Region is the stream's active Region. */
  public readonly replicator: StreamReplicator;
  /** Every other Region of the environment: where this Region's replicator writes. */
  public readonly replicatorTargetRegions: readonly string[];

  constructor(scope: Construct, id: string, props: RegionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.streamKey = new kms.Key(this, 'StreamKey', {
      description: `Redstream ${config.name}: server-side encryption of the Kinesis streams`,
      alias: streamKeyAlias(config.name),
      enableKeyRotation: true,
      removalPolicy,
    });
    const archiveKey = new kms.Key(this, 'ArchiveKey', {
      description: `Redstream ${config.name}: encryption of the raw S3 archive`,
      // The erasure's scheduled step (Warehouse stack) is granted this key by its alias (no export of the key ARN).
      alias: archiveKeyAlias(config.name),
      enableKeyRotation: true,
      removalPolicy,
    });
    const alarmTopicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Redstream ${config.name}: encryption of the alarm topic`,
      // Publishers in the Ops stack are granted this key by its alias (no export of the key ARN).
      alias: alarmTopicKeyAlias(config.name),
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch alarms of this account and Region (every Redstream stack's: Region, Ops, Warehouse) publish as the
    // service principal cloudwatch.amazonaws.com, scoped by the confused-deputy condition keys AWS documents for it.
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    // CloudWatch publishes alarm notifications to an encrypted topic only if the key lets it.
    alarmTopicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      // A fixed name so the Ops and Warehouse stacks address it by ARN instead of importing an export.
      topicName: alarmTopicName(config.name),
      displayName: `Redstream ${config.name} alarms (${this.region})`,
      masterKey: alarmTopicKey,
      enforceSSL: true,
    });
    // enforceSSL creates a topic policy, and a topic policy replaces SNS's default one: without this statement the
    // policy holds only the TLS Deny and no alarm can publish.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (config.alarms.notificationEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarms.notificationEmail));
    }

    this.archive = new ArchiveBucket(this, 'Archive', {
      encryptionKey: archiveKey,
      coldStorageAfterDays: config.archive.coldStorageAfterDays,
      expireAfterDays: config.archive.expireAfterDays,
      removalPolicy,
    });

    // For the operator CLI's replay and erase (REDSTREAM_ARCHIVE_BUCKET_<REGION>): the bucket's name is generated.
    new CfnOutput(this, 'ArchiveBucketName', {
      value: this.archive.bucket.bucketName,
      description: `Archive bucket of ${this.region}: set REDSTREAM_ARCHIVE_BUCKET_${this.region.toUpperCase().replace(/-/g, '_')} to it for npm run ops -- replay / erase`,
    });
    // The Warehouse stack's erasure step reads the bucket name from here at deploy time (no export pins the bucket).
    new ssm.StringParameter(this, 'ArchiveBucketNameParameter', {
      parameterName: archiveBucketParameterName(config.name),
      stringValue: this.archive.bucket.bucketName,
      description: `Redstream ${config.name}: the archive bucket of ${this.region} (read by the erasure's scheduled step)`,
    });
    // One archive transformation per Region: every record becomes a line of the archive contract.
    this.archiveTransform = new ArchiveTransform(this, 'ArchiveTransform', {
      maxRecordSizeKiB: Math.max(...config.streams.map((s) => s.maxRecordSizeKiB)),
      removalPolicy,
    });
    for (const stream of config.streams) {
      this.streams.set(stream.name, this.addStream(config, stream, removalPolicy));
    }

    this.replicatorTargetRegions = allRegions(config).filter((r) => r !== this.region);
    // Every Region replicates to every other one: a standby's replicator stays idle (its Region is not active)
    // until a failover activates it, and then it carries the new active Region's records back.
    this.replicator = new StreamReplicator(this, 'Replicator', {
      streams: config.streams.map((s) => ({
        stream: this.streams.get(s.name)!.stream,
        consumer: this.streams.get(s.name)!.replicatorConsumer,
        physicalStreamName: physicalStreamName(config.name, s.name),
        ordering: s.ordering,
        maxRecordSizeKiB: s.maxRecordSizeKiB,
      })),
      targetRegions: this.replicatorTargetRegions,
      // This Region's replicas of the global tables (the state stack, deployed first, creates them).
      checkpointTable: dynamodb.TableV2.fromTableName(this, 'CheckpointTable', checkpointTableName(config.name)),
      activeRegionTable: dynamodb.TableV2.fromTableName(this, 'ActiveRegionTable', activeRegionTableName(config.name)),
      targetStreamKeyAlias: streamKeyAlias(config.name),
      functionName: replicatorFunctionName(config.name),
      batchSize: config.replicator.batchSize,
      maxBatchingWindow: Duration.seconds(config.replicator.maxBatchingWindowSeconds),
      timeout: Duration.seconds(config.replicator.timeoutSeconds),
      memorySize: config.replicator.memorySizeMiB,
      // With moveReservedConcurrency the failover owns the live value (N in the active Region, 0 elsewhere as a
      // fence); a template value would undo that fence on the next deploy, so the template leaves it unset.
      reservedConcurrency: config.failover.moveReservedConcurrency ? undefined : config.replicator.reservedConcurrency,
      activeRegionCacheTtl: Duration.seconds(config.replicator.activeRegionCacheTtlSeconds),
      checkpointInterval: Duration.millis(config.replicator.checkpointIntervalMs),
      iteratorAgeAlarmThreshold: Duration.millis(
        Math.min(...config.streams.map((s) => Math.floor((s.retentionHours * 3600 * 1000 * config.alarms.iteratorAgeRetentionPercent) / 100))),
      ),
      removalPolicy,
    });
    this.notify(this.replicator.iteratorAgeAlarm);
    this.notify(this.replicator.errorsAlarm);
  }

  /** Sends an alarm's state changes (into and out of ALARM) to the Region's alarm topic. */
  public notify(alarm: cloudwatch.Alarm): void {
    const action = new cwActions.SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }

  private addStream(config: EnvironmentConfig, stream: StreamConfig, removalPolicy: RemovalPolicy): EventStream {
    const eventStream = new EventStream(this, `Stream-${stream.name}`, {
      streamName: physicalStreamName(config.name, stream.name),
      archivePrefix: stream.name,
      encryptionKey: this.streamKey,
      archiveBucket: this.archive.bucket,
      archiveTransform: this.archiveTransform.function,
      streamMode: stream.mode === 'PROVISIONED' ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      shardCount: stream.shards,
      retentionPeriod: Duration.hours(stream.retentionHours),
      maxRecordSize: Size.kibibytes(stream.maxRecordSizeKiB),
      archiveBufferingInterval: Duration.seconds(config.archive.bufferingIntervalSeconds),
      archiveBufferingSize: Size.mebibytes(config.archive.bufferingSizeMiB),
      iteratorAgeRetentionPercent: config.alarms.iteratorAgeRetentionPercent,
      archiveFreshnessThreshold: Duration.seconds(config.alarms.archiveFreshnessSeconds),
      removalPolicy,
    });
    for (const alarm of [eventStream.iteratorAgeAlarm, eventStream.writeThrottleAlarm, eventStream.archiveFreshnessAlarm]) {
      this.notify(alarm);
    }
    return eventStream;
  }
}

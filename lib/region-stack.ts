import { Duration, RemovalPolicy, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ArchiveBucket } from './archive-bucket';
import { EnvironmentConfig, physicalStreamName, StreamConfig } from './config';
import { EventStream } from './event-stream';
import { streamKeyAlias } from './names';

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
  /** Topic every Redstream alarm of this Region notifies (alarms can only notify a topic in their own Region). */
  public readonly alarmTopic: sns.Topic;
  /** The streams, keyed by logical name. */
  public readonly streams = new Map<string, EventStream>();

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
      enableKeyRotation: true,
      removalPolicy,
    });
    const alarmTopicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Redstream ${config.name}: encryption of the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications to an encrypted topic only if the key lets it.
    alarmTopicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Redstream ${config.name} alarms (${this.region})`,
      masterKey: alarmTopicKey,
      enforceSSL: true,
    });
    if (config.alarms.notificationEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarms.notificationEmail));
    }

    this.archive = new ArchiveBucket(this, 'Archive', {
      encryptionKey: archiveKey,
      coldStorageAfterDays: config.archive.coldStorageAfterDays,
      expireAfterDays: config.archive.expireAfterDays,
      removalPolicy,
    });

    for (const stream of config.streams) {
      this.streams.set(stream.name, this.addStream(config, stream, removalPolicy));
    }
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
      streamMode: stream.mode === 'PROVISIONED' ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      shardCount: stream.shards,
      retentionPeriod: Duration.hours(stream.retentionHours),
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

/**
 * How the Ops and Warehouse stacks address the Region stack's resources: by ARNs built from the deterministic names
 * in lib/names.ts, never by CloudFormation exports. An export that another stack imports cannot change, so removing
 * a stream or replacing the topic would fail with "Export ... cannot be updated as it is in use"; an ARN built from a
 * name has no such lock. The stacks still deploy in order (lib/redstream-app.ts adds the stack dependencies).
 */
import { Stack } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EnvironmentConfig, physicalStreamName } from './config';
import { alarmTopicName } from './names';

/**
 * The Region stack's streams in `scope`'s Region, keyed by logical name, imported by their deterministic ARNs (no
 * export: the Region stack can remove or replace a stream without first changing this stack).
 */
export function regionStreams(scope: Stack, config: EnvironmentConfig): Map<string, kinesis.IStream> {
  return new Map(
    config.streams.map((s) => [
      s.name,
      kinesis.Stream.fromStreamArn(scope, `Stream-${s.name}`, scope.formatArn({ service: 'kinesis', resource: 'stream', resourceName: physicalStreamName(config.name, s.name) })),
    ]),
  );
}

/** The Region stack's alarm topic in `scope`'s Region, by its deterministic ARN (alarms notify a topic of their own Region). */
export function regionAlarmTopic(scope: Stack, config: EnvironmentConfig): sns.ITopic {
  return sns.Topic.fromTopicArn(scope, 'AlarmTopic', scope.formatArn({ service: 'sns', resource: alarmTopicName(config.name) }));
}

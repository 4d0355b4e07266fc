import * as path from 'node:path';
import { streamKeyAlias } from '../names';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { failoverEnvironment } from '../../lambda/failover/env';
import { inFlightWaitMs } from '../../lambda/failover/decisions';
import { FailoverSettings } from '../../lambda/failover/service';
import { StateTables } from '../../lambda/failover/adapters';

export interface FailoverFunctionProps {
  /** The environment's failover settings (lib/ops/settings.ts `settingsFromConfig`). */
  readonly settings: FailoverSettings;
  /** Names of the two global tables; the function is granted them in every Region of the environment. */
  readonly tables: StateTables;
  /** Topic the function publishes its results to. @default - results are only returned */
  readonly resultTopic?: sns.ITopic;
  /**
   * Alias of the result topic's KMS key, for a topic addressed by ARN (whose `masterKey` is unknown here): the role
   * gets the two key actions publishing needs on the key with this alias (`kms:ResourceAliases`).
   * @default - the topic's `masterKey`, if any
   */
  readonly resultTopicKeyAlias?: string;
  /** Log retention. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Lambda's maximum timeout. */
const MAX_TIMEOUT_SECONDS = 900;

/**
 * The failover function (`lambda/failover/handler.ts`): a fenced switch of the active Region, callable by the
 * operator, by the CLI's equivalent `aws lambda invoke`, or by the automatic-failover rule. Its role can read and
 * conditionally write the two state tables in every Region, list the shards of the environment's streams there, move the replicators' reserved concurrency (only when the
 * settings say so) and publish to the result topic; nothing else.
 */
export class FailoverFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: FailoverFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { settings, tables } = props;
    const neededSeconds = Math.ceil(
      (settings.propagationTimeoutMs + inFlightWaitMs(settings.replicatorTimeoutMs, settings.activeRegionCacheTtlMs)) / 1000 + 60,
    );
    if (neededSeconds > MAX_TIMEOUT_SECONDS) {
      throw new Error(
        `the failover protocol needs up to ${neededSeconds} s (replica wait + replicator timeout + cache TTL + 60 s), above Lambda's ${MAX_TIMEOUT_SECONDS} s; ` +
          'lower replicator.timeoutSeconds or use the CLI for failovers',
      );
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Redstream ${settings.environment} failover function: state tables, replicator reserved concurrency, result topic`,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    const tableArn = (region: string, name: string) => stack.formatArn({ service: 'dynamodb', region, resource: 'table', resourceName: name });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ActiveRegionTable',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: settings.regions.map((r) => tableArn(r, tables.activeRegionTableName)),
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CheckpointTable',
        actions: ['dynamodb:Query'],
        resources: settings.regions.map((r) => tableArn(r, tables.checkpointTableName)),
      }),
    );
    // ListShards, and GetShardIterator + GetRecords from each shard's checkpoint: the oldest unreplicated record (resume
    // timestamp, failback guard on current lag); DescribeStreamSummary's Date header is the trusted clock of a
    // switch. The names are deterministic (lib/config.ts physicalStreamName), the same in every Region.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StreamShards',
        actions: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:DescribeStreamSummary'],
        resources: settings.regions.flatMap((region) =>
          settings.streams.map((name) => stack.formatArn({ service: 'kinesis', region, resource: 'stream', resourceName: name })),
        ),
      }),
    );
    // GetRecords returns encrypted records' data decrypted: the stream keys of every Region, matched by alias (a key ARN
    // in another Region cannot be referenced without a cycle between the Region stacks).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStreamKeys',
        actions: ['kms:Decrypt'],
        resources: settings.regions.map((region) => stack.formatArn({ service: 'kms', region, resource: 'key', resourceName: '*' })),
        conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': streamKeyAlias(settings.environment) } },
      }),
    );
    // A forced switch fences the replicator of a Region whose replica it cannot see (reserved concurrency 0) and lifts
    // the fence when it activates that Region again.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReplicatorFence',
        actions: ['lambda:GetFunctionConcurrency', 'lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency'],
        resources: settings.regions.map((region) =>
          stack.formatArn({ service: 'lambda', region, resource: 'function', resourceName: settings.replicatorFunctionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ),
      }),
    );
    if (settings.replicatorConcurrency) {
      const fn = settings.replicatorConcurrency.functionName;
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReplicatorReservedConcurrency',
          actions: ['lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency'],
          resources: settings.regions.map((region) => stack.formatArn({ service: 'lambda', region, resource: 'function', resourceName: fn, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }),
      );
    }
    if (props.resultTopic) {
      // Written out rather than topic.grantPublish(): that grants kms:GenerateDataKey*, and publishing to an
      // encrypted topic needs exactly these two key actions.
      this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ResultTopic', actions: ['sns:Publish'], resources: [props.resultTopic.topicArn] }));
      if (props.resultTopicKeyAlias) {
        this.role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'ResultTopicKey',
            actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
            resources: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
            conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': props.resultTopicKeyAlias } },
          }),
        );
      } else if (props.resultTopic.masterKey) {
        this.role.addToPolicy(
          new iam.PolicyStatement({ sid: 'ResultTopicKey', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.resultTopic.masterKey.keyArn] }),
        );
      }
    }

    this.function = new nodejs.NodejsFunction(this, 'Resource', {
      description: `Redstream ${settings.environment}: fenced failover/failback of the active Region`,
      entry: path.join(__dirname, '..', '..', 'lambda', 'failover', 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(neededSeconds),
      role: this.role,
      logGroup,
      environment: {
        ...failoverEnvironment(settings, tables, props.resultTopic?.topicArn),
        POWERTOOLS_SERVICE_NAME: 'redstream-failover',
      },
      bundling: { minify: true, sourceMap: false, forceDockerBundling: false },
    });
    // Only the log group above: the role has no managed policy.
    logGroup.grantWrite(this.role);
  }
}


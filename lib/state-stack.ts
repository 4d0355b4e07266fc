import { RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { EnvironmentConfig, physicalStreamName } from './config';
import { activeRegionTableName, checkpointTableName } from './names';

export interface ReplicationStateTablesProps {
  /** Name of the checkpoint table. */
  readonly checkpointTableName: string;
  /** Name of the active-Region table. */
  readonly activeRegionTableName: string;
  /** Regions that get a replica (every Region but the stack's own). */
  readonly replicaRegions: readonly string[];
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Redstream's two DynamoDB global tables (on-demand, point-in-time recovery, encrypted, a replica in every standby
 * Region). Item shapes: `lambda/shared/state-tables.ts`.
 */
export class ReplicationStateTables extends Construct {
  /** Per (stream, source Region, shard) replication checkpoints. */
  public readonly checkpointTable: dynamodb.TableV2;
  /** Per stream active Region, fencing epoch and activation time. */
  public readonly activeRegionTable: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: ReplicationStateTablesProps) {
    super(scope, id);
    const ownRegion = Stack.of(this).region;
    if (props.replicaRegions.includes(ownRegion)) {
      throw new Error(`replicaRegions must not contain the stack's own Region (got ${ownRegion})`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
      replicas: props.replicaRegions.map((region) => ({ region })),
    };
    this.checkpointTable = new dynamodb.TableV2(this, 'CheckpointTable', {
      ...common,
      tableName: props.checkpointTableName,
      partitionKey: { name: 'streamName', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'shardId', type: dynamodb.AttributeType.STRING },
    });
    this.activeRegionTable = new dynamodb.TableV2(this, 'ActiveRegionTable', {
      ...common,
      tableName: props.activeRegionTableName,
      partitionKey: { name: 'streamName', type: dynamodb.AttributeType.STRING },
    });
  }
}

export interface StateStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * The environment's replication state, in the primary Region with replicas everywhere else. Seeds each stream's
 * active-Region item (primary active, epoch 1) once, with a conditional write that never overwrites a later failover.
 */
export class StateStack extends Stack {
  public readonly tables: ReplicationStateTables;

  constructor(scope: Construct, id: string, props: StateStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.tables = new ReplicationStateTables(this, 'Tables', {
      checkpointTableName: checkpointTableName(config.name),
      activeRegionTableName: activeRegionTableName(config.name),
      replicaRegions: config.standbyRegions,
      removalPolicy: config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const table = this.tables.activeRegionTable;
    for (const stream of config.streams) {
      const streamName = physicalStreamName(config.name, stream.name);
      const seed: cr.AwsSdkCall = {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: {
          TableName: table.tableName,
          Item: {
            streamName: { S: streamName },
            activeRegion: { S: config.primaryRegion },
            state: { S: 'ACTIVE' },
            epoch: { N: '1' },
            activatedAt: { N: '0' },
            reason: { S: 'seeded by the state stack' },
            updatedAt: { N: '0' },
          },
          // Never overwrite: after a failover the item belongs to the failover protocol.
          ConditionExpression: 'attribute_not_exists(streamName)',
        },
        physicalResourceId: cr.PhysicalResourceId.of(`${streamName}-active-region-seed`),
        ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
      };
      new cr.AwsCustomResource(this, `SeedActiveRegion-${stream.name}`, {
        onCreate: seed,
        onUpdate: seed,
        installLatestAwsSdk: false,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] }),
        ]),
      });
    }
  }
}

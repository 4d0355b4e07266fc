/**
 * Every cdk-nag (AwsSolutions) acknowledgement of the app, in one place, each on the narrowest construct and with a
 * specific reason. A new finding fails `cdk synth` and the nag test until it is fixed or acknowledged here.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { EventStream } from './event-stream';
import { ErasureFinish } from './erasure-finish';
import { alarmTopicKeyAlias, archiveKeyAlias, streamKeyAlias } from './names';
import { OpsStack } from './ops-stack';
import { RedstreamEnvironmentStacks } from './redstream-app';
import { RegionStack } from './region-stack';
import { WarehouseSql } from './warehouse-sql';

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

/** The finding id cdk-nag gives a `Resource::<X.Arn>/<prefix>/*` wildcard on a bucket's objects under a prefix. */
function objectsUnder(bucketResource: IConstruct, prefix: string): string {
  const logicalId = Stack.of(bucketResource).getLogicalId(bucketResource.node.defaultChild as CfnResource);
  return `Resource::<${logicalId}.Arn>/${prefix}/*`;
}

/** The finding id of a `key/*` resource in a Region of the scope's account (a grant by alias). */
function keysOf(scope: IConstruct, region = Stack.of(scope).region): string {
  return `Resource::arn:${partitionOf(region)}:kms:${region}:${Stack.of(scope).account}:key/*`;
}

function acknowledgeEventStream(s: EventStream, archiveBucket: IConstruct, prefix: string): void {
  ack(s.stream, 'KDS3', 'Streams use a customer-managed key, not aws/kinesis: its key policy is ours to scope, Redshift streaming ingestion is granted kms:Decrypt on it, and the replicators in other Regions are granted kms:GenerateDataKey by its alias.');
  ack(s.archive, 'KDF1', 'Firehose rejects its own server-side encryption with a Kinesis stream source; the source stream is SSE-KMS encrypted and the destination bucket is SSE-KMS by default, so data is encrypted at every hop.');
  for (const under of [prefix, `errors/${prefix}`]) {
    ack(
      s.archiveRole,
      `IAM5[${objectsUnder(archiveBucket, under)}]`,
      `Firehose names its objects itself (timestamped keys under the stream's prefix), so the delivery role writes objects under ${under}/ only: put, get and abort multipart upload, never delete or retention (lib/event-stream.ts archiveDeliveryActions).`,
    );
  }
}

/** The cdk-nag findings an OpsStack has by design. */
export function acknowledgeOpsStackNagFindings(ops: OpsStack): void {
  for (const region of ops.regions) {
    ack(
      ops.failoverFunction.role,
      `IAM5[${keysOf(ops, region)}]`,
      `Key actions granted by alias only (kms:ResourceAliases condition): publishing to the encrypted alarm topic (${alarmTopicKeyAlias('<env>')}, this Region) and reading the streams (${streamKeyAlias('<env>')}, every Region). The keys live in the Region stacks; importing their ARNs would be cross-stack exports that block replacing a key, and a key ARN in another Region cannot be referenced at all.`,
    );
  }
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function acknowledgeReplicator(region: RegionStack): void {
  const { replicator } = region;
  for (const target of region.replicatorTargetRegions) {
    ack(
      replicator.node.findChild('ServiceRole'),
      `IAM5[Resource::arn:${partitionOf(target)}:kms:${target}:${region.account}:key/*]`,
      `kms:GenerateDataKey on the stream key in ${target}: a key ARN in another Region cannot be referenced without a cycle between the Region stacks, so the grant is limited to the key whose alias is the environment's stream alias (kms:ResourceAliases condition).`,
    );
  }
  ack(replicator.failureQueue, 'SQS3', 'This queue is the final on-failure destination of the replicator\'s event source mappings (batch metadata for replay); a dead-letter queue behind it would only move the same metadata again.');
}

/**
 * The cdk-nag (AwsSolutions) findings a WarehouseSql has by design, acknowledged on the narrowest construct with
 * the reason.
 */
export function acknowledgeWarehouseSqlNagFindings(sql: WarehouseSql): void {
  const stack = Stack.of(sql);
  ack(
    sql.role,
    'IAM5[Resource::*]',
    'redshift-data:DescribeStatement, GetStatementResult and CancelStatement have no resource-level permissions; the statement is limited by the condition redshift-data:statement-owner-iam-userid = ${aws:userid} to the role\'s own statements.',
  );
  const framework = sql.provider.node.findChild('framework-onEvent');
  ack(framework, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The CDK provider framework\'s onEvent function uses the AWS managed basic execution role (CloudWatch Logs only); CDK owns that role.');
  ack(framework, `IAM5[Resource::<${stack.getLogicalId(sql.sqlRunner.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`, 'The CDK provider framework may invoke any version of the SQL runner function it wraps (lambda:InvokeFunction on <arn>:*); scoped to that one function.');
  ack(sql.schedulerRole, `IAM5[Resource::<${stack.getLogicalId(sql.mergeFunction.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`, 'EventBridge Scheduler\'s LambdaInvoke target grants lambda:InvokeFunction on the merge runner and its versions (<arn>:*); scoped to that one function.');
  if (sql.adminSecretLookup) {
    const singleton = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (singleton) {
      ack(singleton, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The AwsCustomResource singleton that reads the namespace\'s managed admin secret ARN (GetNamespace) uses the AWS managed basic execution role (CloudWatch Logs only); CDK owns that role.');
    }
  }
}

/** The cdk-nag findings of the erasure's scheduled step, by design. */
export function acknowledgeErasureFinishNagFindings(finish: ErasureFinish): void {
  const stack = Stack.of(finish);
  ack(
    finish.role,
    'IAM5[Resource::*]',
    'redshift-data:ExecuteStatement with only a SessionId, and DescribeStatement / GetStatementResult, are authorized against "*": limited by the conditions redshift-data:session-owner-iam-userid and statement-owner-iam-userid = ${aws:userid} to the role\'s own session and statements; the first statement is scoped to the workgroup ARN.',
  );
  for (const archive of finish.archives) {
    ack(
      finish.role,
      `IAM5[${keysOf(finish, archive.region)}]`,
      `kms:Decrypt and kms:GenerateDataKey on the ${archive.region} archive key by its alias ${archiveKeyAlias('<env>')} only (kms:ResourceAliases), and only through S3 in that Region (kms:ViaService): the key lives in the Region stack, and importing its ARN would be a cross-stack export that pins the key.`,
    );
  }
  if (finish.archives.length > 1) {
    const singleton = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (singleton) {
      ack(singleton, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The AwsCustomResource singleton that reads other Regions\' archive bucket names (SSM GetParameter) uses the AWS managed basic execution role (CloudWatch Logs only); CDK owns that role.');
    }
  }
  for (const archive of finish.archives) {
    for (const prefix of finish.archivePrefixes) {
      ack(
        finish.role,
        `IAM5[Resource::arn:${partitionOf(stack.region)}:s3:::${archive.findingName}/${prefix}*]`,
        `An erasure rewrites whichever archive objects hold a subject's records, named by Firehose under ${prefix} (timestamped keys): get, put a new version and delete old versions of objects under that prefix only, in the ${archive.region} archive; listing is limited to the same prefixes.`,
      );
    }
  }
  ack(
    finish.schedulerRole,
    `IAM5[Resource::<${stack.getLogicalId(finish.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
    'EventBridge Scheduler\'s LambdaInvoke target grants lambda:InvokeFunction on the erasure step and its versions (<arn>:*); scoped to that one function.',
  );
}

export function acknowledgeNagFindings(stacks: RedstreamEnvironmentStacks): void {
  // The state stack's seeding custom resource (AwsCustomResource) runs on a CDK-provided singleton function.
  ack(
    stacks.state,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The AwsCustomResource singleton that seeds the active-Region items uses the AWS managed basic execution role (CloudWatch Logs only); CDK owns that role.',
  );

  for (const region of stacks.regions.values()) {
    for (const [name, s] of region.streams) acknowledgeEventStream(s, region.archive.bucket, name);
    const transform = `Resource::<${region.getLogicalId(region.archiveTransform.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*`;
    for (const s of region.streams.values()) {
      ack(s.archiveRole, `IAM5[${transform}]`, 'Firehose may invoke the archive transformation function and its versions (<arn>:*, as the Firehose guide\'s policy allows a qualified ARN); scoped to that one function.');
    }
    ack(region.archive.accessLogsBucket, 'S1', 'This is the server access log target bucket itself; logging it into itself would loop.');
    acknowledgeReplicator(region);
  }

  for (const ops of stacks.ops.values()) acknowledgeOpsStackNagFindings(ops);

  for (const warehouse of stacks.warehouses.values()) {
    acknowledgeWarehouseSqlNagFindings(warehouse.sql);
    ack(
      warehouse.streamingRole,
      `IAM5[${keysOf(warehouse)}]`,
      `kms:Decrypt on the stream key by its alias ${streamKeyAlias('<env>')} only (kms:ResourceAliases condition): the key lives in the Region stack, and importing its ARN would be a cross-stack export that blocks replacing the key.`,
    );
    if (warehouse.erasureFinish) acknowledgeErasureFinishNagFindings(warehouse.erasureFinish);
    ack(warehouse.streamingRole, 'IAM5[Resource::*]', 'kinesis:ListStreams has no resource-level permissions (Redshift streaming ingestion lists streams when it resolves the external schema); every other action is scoped to the stream ARNs and key.');
  }
}

import { Duration, RemovalPolicy, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { availabilityZoneIdsFor, EnvironmentConfig, erasureSweepRegions, physicalStreamName } from './config';
import { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT, ErasureFinish } from './erasure-finish';
import { archiveBucketParameterName, archiveKeyAlias, streamKeyAlias, warehouseName } from './names';
import { regionAlarmTopic, regionStreams } from './region-references';
import { WarehouseSql } from './warehouse-sql';

export interface StreamingIngestionRoleProps {
  /** The streams Redshift reads (all in the role's Region: streaming ingestion is Region-local). */
  readonly streams: readonly kinesis.IStream[];
  /**
   * Alias of the key the streams are encrypted with. The role gets `kms:Decrypt` on the key that has this alias
   * (`kms:ResourceAliases`), so the key's ARN need not be exported from the stack that owns it.
   */
  readonly streamKeyAlias: string;
}

/**
 * The role Redshift assumes for streaming ingestion: read-only on the given streams, `kinesis:ListStreams` on `*`
 * (it has no resource-level permissions) and `kms:Decrypt` on the streams' key (by alias).
 */
export class StreamingIngestionRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: StreamingIngestionRoleProps) {
    super(scope, id);
    if (props.streams.length === 0) throw new Error('streams must name at least one stream (got 0)');
    this.role = new iam.Role(this, 'Resource', {
      assumedBy: new iam.ServicePrincipal('redshift.amazonaws.com'),
      description: 'Redshift Serverless streaming ingestion from the Redstream streams in this Region',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStreams',
        actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
        resources: props.streams.map((s) => s.streamArn),
      }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListStreams', actions: ['kinesis:ListStreams'], resources: ['*'] }));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptStreams',
        actions: ['kms:Decrypt'],
        resources: [Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': props.streamKeyAlias } },
      }),
    );
  }
}

export interface WarehouseStackProps extends StackProps {
  /**
   * The environment. This Region's streams, stream key (by alias) and alarm topic are addressed by their
   * deterministic names (lib/names.ts), not imported from the Region stack's exports.
   */
  readonly config: EnvironmentConfig;
}

/** Workgroup parameters Redstream needs on every session, background ones included. */
export const WORKGROUP_CONFIG_PARAMETERS: Readonly<Record<string, string>> = {
  // AUTO REFRESH of the streaming views runs with the workgroup's setting, which must match the one the views were
  // created with (the SQL bootstrap also sets it per session, for workgroups created before this parameter).
  enable_case_sensitive_identifier: 'true',
};

/**
 * Redshift Serverless reading this Region's streams: a VPC with isolated subnets only, one in each configured AZ ID
 * (no NAT: the workgroup reaches Kinesis through an interface endpoint in the same subnets), a namespace with a managed admin secret and a customer-managed key, a
 * private workgroup with enhanced VPC routing, and the streaming-ingestion role.
 */
export class WarehouseStack extends Stack {
  public readonly vpc: ec2.Vpc;
  public readonly namespace: redshiftserverless.CfnNamespace;
  public readonly workgroup: redshiftserverless.CfnWorkgroup;
  public readonly streamingRole: iam.Role;
  public readonly warehouseKey: kms.Key;
  public readonly securityGroup: ec2.SecurityGroup;
  /** The SQL bootstrap (schema, streaming views, tables, merge procedure) and the scheduled merge. */
  public readonly sql: WarehouseSql;
  /** Merges are failing: the events table is not being updated. */
  public readonly mergeErrorsAlarm: cloudwatch.Alarm;
  /** The erasure's scheduled step (unless warehouse.erasureFinishIntervalHours is 0). */
  public readonly erasureFinish?: ErasureFinish;
  /** The configured AZ IDs, in subnet order. */
  public readonly availabilityZoneIds: readonly string[];
  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: WarehouseStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.availabilityZoneIds = availabilityZoneIdsFor(config, this.region);
    // The L2 VPC places subnets by zone *name*. It is given the IDs as its zone "names" (they are distinct, which is
    // all it needs) and each subnet's AvailabilityZone is then replaced by AvailabilityZoneId below: a name maps to a
    // different physical zone in each account, an ID to the same one everywhere.
    this.zones = [...this.availabilityZoneIds];

    const flowLogGroup = new logs.LogGroup(this, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.warehouse.vpcCidr),
      maxAzs: this.zones.length,
      natGateways: 0,
      subnetConfiguration: [{ name: 'warehouse', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL } },
    });
    for (const subnet of this.vpc.isolatedSubnets) {
      const cfn = subnet.node.defaultChild as ec2.CfnSubnet;
      cfn.availabilityZoneId = subnet.availabilityZone;
      cfn.availabilityZone = undefined;
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'WorkgroupSecurityGroup', {
      vpc: this.vpc,
      description: 'Redstream warehouse workgroup: SQL clients inside the VPC only',
      allowAllOutbound: false,
    });
    // Rules use the configured CIDR literal (not the VPC's token) so they can be reviewed in the template.
    const vpcCidr = ec2.Peer.ipv4(config.warehouse.vpcCidr);
    this.securityGroup.addIngressRule(vpcCidr, ec2.Port.tcp(5439), 'SQL clients inside the VPC');
    this.securityGroup.addEgressRule(vpcCidr, ec2.Port.tcp(443), 'Kinesis through the VPC endpoint');

    // With enhanced VPC routing, streaming ingestion reaches Kinesis through the VPC: an interface endpoint, no NAT.
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'KinesisEndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Redstream warehouse: HTTPS to the Kinesis endpoint from inside the VPC',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(vpcCidr, ec2.Port.tcp(443), 'HTTPS from inside the VPC');
    this.vpc.addInterfaceEndpoint('KinesisEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [endpointSecurityGroup],
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });

    this.streamingRole = new StreamingIngestionRole(this, 'StreamingIngestionRole', {
      streams: [...regionStreams(this, config).values()],
      streamKeyAlias: streamKeyAlias(config.name),
    }).role;

    this.warehouseKey = new kms.Key(this, 'WarehouseKey', {
      description: `Redstream ${config.name}: Redshift Serverless namespace and admin secret`,
      enableKeyRotation: true,
      removalPolicy,
    });

    const name = warehouseName(config.name);
    this.namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
      namespaceName: name,
      dbName: config.warehouse.databaseName,
      adminUsername: 'redstream_admin',
      manageAdminPassword: true,
      adminPasswordSecretKmsKeyId: this.warehouseKey.keyArn,
      kmsKeyId: this.warehouseKey.keyArn,
      iamRoles: [this.streamingRole.roleArn],
      defaultIamRoleArn: this.streamingRole.roleArn,
      logExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    this.namespace.applyRemovalPolicy(removalPolicy);

    this.workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
      workgroupName: name,
      namespaceName: this.namespace.namespaceName,
      baseCapacity: config.warehouse.baseCapacityRpus,
      enhancedVpcRouting: true,
      publiclyAccessible: false,
      subnetIds: this.vpc.isolatedSubnets.map((s) => s.subnetId),
      securityGroupIds: [this.securityGroup.securityGroupId],
      configParameters: Object.entries(WORKGROUP_CONFIG_PARAMETERS).map(([parameterKey, parameterValue]) => ({ parameterKey, parameterValue })),
    });
    this.workgroup.addResourceDependency(this.namespace);
    this.workgroup.applyRemovalPolicy(removalPolicy);

    const notify = new cwActions.SnsAction(regionAlarmTopic(this, config));
    this.sql = new WarehouseSql(this, 'Sql', {
      // Records streaming ingestion skipped reach the on-call, like every other alarm of the Region.
      alarmActions: [notify],
      namespace: this.namespace,
      workgroup: this.workgroup,
      databaseName: config.warehouse.databaseName,
      streamingRole: this.streamingRole,
      adminSecretKey: this.warehouseKey,
      streams: config.streams.map((s) => ({ name: s.name, physicalName: physicalStreamName(config.name, s.name) })),
      dedupKeyPath: config.warehouse.dedupKeyPath,
      dedupWindowDays: config.warehouse.dedupWindowDays,
      mergeInterval: Duration.minutes(config.warehouse.mergeIntervalMinutes),
      restoreStreamingViews: config.warehouse.mergeRestoresStreamingViews,
    });
    this.mergeErrorsAlarm = this.sql.mergeFunction.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }).createAlarm(this, 'MergeErrorsAlarm', {
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `Redstream ${config.name}: the warehouse merge in ${this.region} failed in 2 of the last 3 five-minute periods, so the events table is falling behind ` +
        '(nothing is lost: the streaming views keep the records for the stream retention). Read the merge function\'s logs for the SQL error.',
    });
    this.mergeErrorsAlarm.addAlarmAction(notify);
    this.mergeErrorsAlarm.addOkAction(notify);

    // Erasures finish here once the streams' retention has passed: the views are recreated from the very statements
    // the bootstrap above created them with, and this Region's archive is swept for late deliveries.
    if (config.warehouse.erasureFinishIntervalHours > 0) {
      this.erasureFinish = new ErasureFinish(this, 'ErasureFinish', {
        workgroup: this.workgroup,
        databaseName: config.warehouse.databaseName,
        adminSecretArn: this.sql.adminSecretArn,
        adminSecretKey: this.warehouseKey,
        streams: config.streams.map((s) => ({ name: s.name, physicalName: physicalStreamName(config.name, s.name), retentionHours: s.retentionHours })),
        streamingViews: this.sql.streamingViews,
        // Resolved by CloudFormation at deploy time from the Region stack's parameter: no export pins the bucket.
        archiveBucketName: ssm.StringParameter.valueForStringParameter(this, archiveBucketParameterName(config.name)),
        archiveBucketParameterName: archiveBucketParameterName(config.name),
        // A standby Region without a warehouse has an archive but no step of its own: this one sweeps it.
        otherArchiveRegions: erasureSweepRegions(config, this.region).filter((r) => r !== this.region),
        // `cdk deploy -c redstream:refreshArchiveBucketLookup=<new value>` reads their bucket names again (a replaced bucket).
        archiveBucketLookupRefresh: this.node.tryGetContext(ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT) as string | undefined,
        archiveKeyAlias: archiveKeyAlias(config.name),
        // Firehose delivers within its buffering interval; a quarter of an hour more for its retries (as ops erase).
        archiveDelay: Duration.seconds(config.archive.bufferingIntervalSeconds + 900),
        interval: Duration.hours(config.warehouse.erasureFinishIntervalHours),
        alarmActions: [notify],
      });
      // Recreating a view before the bootstrap created it would only fail.
      this.erasureFinish.schedule.node.addDependency(this.sql.resource);
    }
  }

  /**
   * Zones from configuration rather than a lookup: looking up the Region's zones needs credentials, and `cdk synth`
   * must work offline. They are the configured AZ IDs (see the constructor).
   */
  public override get availabilityZones(): string[] {
    return this.zones ?? (Token.isUnresolved(this.region) ? ['dummy1a', 'dummy1b', 'dummy1c'] : [`${this.region}a`, `${this.region}b`, `${this.region}c`]);
  }
}

/**
 * The AWS side of `ops preflight` (lambda/ops/preflight.ts): one {@link RegionProbe} per Region over injected SDK
 * clients. Read-only calls only: lambda:GetAccountSettings, kinesis:DescribeLimits, DescribeStreamSummary,
 * ListTagsForStream, ec2:DescribeAvailabilityZones, DescribeVpcEndpointServices, dynamodb:DescribeTable,
 * ListTagsOfResource, redshift-serverless:GetNamespace, GetWorkgroup, ListTagsForResource. Endpoints come from the
 * SDK's standard AWS_ENDPOINT_URL_* variables.
 */
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { DescribeAvailabilityZonesCommand, DescribeVpcEndpointServicesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLimitsCommand, DescribeStreamSummaryCommand, KinesisClient, ListTagsForStreamCommand } from '@aws-sdk/client-kinesis';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetNamespaceCommand, GetWorkgroupCommand, ListTagsForResourceCommand, RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import { AvailabilityZone, ENVIRONMENT_TAG, Existing, KinesisLimits, LambdaConcurrency, PreflightProbes, RegionProbe } from './preflight';

/** The SDK clients of one Region. */
export interface PreflightClients {
  readonly lambda: LambdaClient;
  readonly kinesis: KinesisClient;
  readonly ec2: EC2Client;
  readonly dynamodb: DynamoDBClient;
  readonly redshiftServerless: RedshiftServerlessClient;
}

/** A value AWS must return; its absence is an error that names it, not a silent default. */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} missing from the response`);
  return value;
}

function isNotFound(err: unknown, ...names: string[]): boolean {
  const name = (err as { name?: string }).name;
  return name !== undefined && (name === 'ResourceNotFoundException' || names.includes(name));
}

function environmentTag(tags: ReadonlyArray<{ readonly key?: string; readonly value?: string }>): string | undefined {
  return tags.find((t) => t.key === ENVIRONMENT_TAG)?.value;
}

/** Preflight's lookups in one Region. */
export class AwsRegionProbe implements RegionProbe {
  constructor(private readonly clients: PreflightClients) {}

  async lambdaConcurrency(): Promise<LambdaConcurrency> {
    const { AccountLimit: limit } = await this.clients.lambda.send(new GetAccountSettingsCommand({}));
    return {
      concurrencyLimit: required(limit?.ConcurrentExecutions, 'AccountLimit.ConcurrentExecutions'),
      unreservedConcurrency: required(limit?.UnreservedConcurrentExecutions, 'AccountLimit.UnreservedConcurrentExecutions'),
    };
  }

  async kinesisLimits(): Promise<KinesisLimits> {
    const out = await this.clients.kinesis.send(new DescribeLimitsCommand({}));
    return {
      shardLimit: required(out.ShardLimit, 'ShardLimit'),
      openShardCount: required(out.OpenShardCount, 'OpenShardCount'),
      onDemandStreamCount: required(out.OnDemandStreamCount, 'OnDemandStreamCount'),
      onDemandStreamCountLimit: required(out.OnDemandStreamCountLimit, 'OnDemandStreamCountLimit'),
    };
  }

  async availabilityZones(): Promise<readonly AvailabilityZone[]> {
    // AllAvailabilityZones: also zones the account has not opted into, so a configured one is reported, not "missing".
    const out = await this.clients.ec2.send(new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true }));
    return (out.AvailabilityZones ?? []).map((z) => ({
      zoneId: required(z.ZoneId, 'ZoneId'),
      zoneName: required(z.ZoneName, 'ZoneName'),
      state: z.State ?? 'unknown',
      zoneType: z.ZoneType ?? 'availability-zone',
    }));
  }

  async endpointServiceZoneNames(serviceName: string): Promise<readonly string[] | undefined> {
    try {
      const out = await this.clients.ec2.send(new DescribeVpcEndpointServicesCommand({ ServiceNames: [serviceName] }));
      const service = out.ServiceDetails?.find((d) => d.ServiceName === serviceName);
      return service === undefined ? undefined : (service.AvailabilityZones ?? []);
    } catch (err) {
      if (isNotFound(err, 'InvalidServiceName')) return undefined;
      throw err;
    }
  }

  async stream(name: string): Promise<Existing> {
    try {
      await this.clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    } catch (err) {
      if (isNotFound(err)) return { exists: false };
      throw err;
    }
    const { Tags } = await this.clients.kinesis.send(new ListTagsForStreamCommand({ StreamName: name }));
    return { exists: true, environmentTag: environmentTag((Tags ?? []).map((t) => ({ key: t.Key, value: t.Value }))) };
  }

  async table(name: string): Promise<Existing> {
    let arn: string;
    try {
      const { Table } = await this.clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
      arn = required(Table?.TableArn, 'Table.TableArn');
    } catch (err) {
      if (isNotFound(err)) return { exists: false };
      throw err;
    }
    const { Tags } = await this.clients.dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    return { exists: true, environmentTag: environmentTag((Tags ?? []).map((t) => ({ key: t.Key, value: t.Value }))) };
  }

  async namespace(name: string): Promise<Existing> {
    let arn: string;
    try {
      const { namespace } = await this.clients.redshiftServerless.send(new GetNamespaceCommand({ namespaceName: name }));
      arn = required(namespace?.namespaceArn, 'namespace.namespaceArn');
    } catch (err) {
      if (isNotFound(err)) return { exists: false };
      throw err;
    }
    return this.redshiftTags(arn);
  }

  async workgroup(name: string): Promise<Existing> {
    let arn: string;
    try {
      const { workgroup } = await this.clients.redshiftServerless.send(new GetWorkgroupCommand({ workgroupName: name }));
      arn = required(workgroup?.workgroupArn, 'workgroup.workgroupArn');
    } catch (err) {
      if (isNotFound(err)) return { exists: false };
      throw err;
    }
    return this.redshiftTags(arn);
  }

  private async redshiftTags(resourceArn: string): Promise<Existing> {
    const { tags } = await this.clients.redshiftServerless.send(new ListTagsForResourceCommand({ resourceArn }));
    return { exists: true, environmentTag: environmentTag(tags ?? []) };
  }
}

/** One probe per Region, with clients built on first use (default credential chain, AWS_ENDPOINT_URL_* honoured). */
export function awsPreflightProbes(clientsFor: (region: string) => PreflightClients = defaultClients): PreflightProbes {
  const probes = new Map<string, AwsRegionProbe>();
  return {
    forRegion(region) {
      if (!probes.has(region)) probes.set(region, new AwsRegionProbe(clientsFor(region)));
      return probes.get(region)!;
    },
  };
}

export function defaultClients(region: string): PreflightClients {
  return {
    lambda: new LambdaClient({ region }),
    kinesis: new KinesisClient({ region }),
    ec2: new EC2Client({ region }),
    dynamodb: new DynamoDBClient({ region }),
    redshiftServerless: new RedshiftServerlessClient({ region }),
  };
}

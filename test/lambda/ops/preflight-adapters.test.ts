/**
 * The AWS side of `ops preflight`, against aws-sdk-client-mock: no local emulator has Lambda's account settings,
 * Kinesis's DescribeLimits, EC2's zones and endpoint services, or Redshift Serverless. Each test pins the request
 * preflight sends and how the documented response (or error) becomes a fact.
 */
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand, ResourceNotFoundException as DynamoNotFound } from '@aws-sdk/client-dynamodb';
import { DescribeAvailabilityZonesCommand, DescribeVpcEndpointServicesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLimitsCommand, DescribeStreamSummaryCommand, KinesisClient, ListTagsForStreamCommand, ResourceNotFoundException as KinesisNotFound } from '@aws-sdk/client-kinesis';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetNamespaceCommand, GetWorkgroupCommand, ListTagsForResourceCommand, RedshiftServerlessClient, ResourceNotFoundException as RedshiftNotFound } from '@aws-sdk/client-redshift-serverless';
import { mockClient } from 'aws-sdk-client-mock';
import { awsPreflightProbes, AwsRegionProbe, PreflightClients } from '../../../lambda/ops/preflight-adapters';

const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function mocks() {
  const clients: PreflightClients = {
    lambda: new LambdaClient({ region: REGION, credentials }),
    kinesis: new KinesisClient({ region: REGION, credentials }),
    ec2: new EC2Client({ region: REGION, credentials }),
    dynamodb: new DynamoDBClient({ region: REGION, credentials }),
    redshiftServerless: new RedshiftServerlessClient({ region: REGION, credentials }),
  };
  return {
    clients,
    lambda: mockClient(clients.lambda),
    kinesis: mockClient(clients.kinesis),
    ec2: mockClient(clients.ec2),
    dynamodb: mockClient(clients.dynamodb),
    redshift: mockClient(clients.redshiftServerless),
  };
}

let m: ReturnType<typeof mocks>;
let probe: AwsRegionProbe;
beforeEach(() => {
  m = mocks();
  probe = new AwsRegionProbe(m.clients);
});

const notFound = (Ctor: new (o: { message: string; $metadata: object }) => Error) => new Ctor({ message: 'not found', $metadata: {} });

test('Lambda concurrency from GetAccountSettings.AccountLimit; a response without it is an error, not a default', async () => {
  m.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
  await expect(probe.lambdaConcurrency()).resolves.toEqual({ concurrencyLimit: 10, unreservedConcurrency: 10 });
  m.lambda.on(GetAccountSettingsCommand).resolves({});
  await expect(probe.lambdaConcurrency()).rejects.toThrow('AccountLimit.ConcurrentExecutions missing from the response');
});

test('Kinesis quotas from DescribeLimits', async () => {
  m.kinesis.on(DescribeLimitsCommand).resolves({ ShardLimit: 200, OpenShardCount: 12, OnDemandStreamCount: 3, OnDemandStreamCountLimit: 50 });
  await expect(probe.kinesisLimits()).resolves.toEqual({ shardLimit: 200, openShardCount: 12, onDemandStreamCount: 3, onDemandStreamCountLimit: 50 });
});

test('zones: every zone of the Region with its ID, name, state and type (AllAvailabilityZones)', async () => {
  m.ec2.on(DescribeAvailabilityZonesCommand, { AllAvailabilityZones: true }).resolves({
    AvailabilityZones: [
      { ZoneId: 'use1-az1', ZoneName: 'us-east-1c', State: 'available', ZoneType: 'availability-zone' },
      { ZoneId: 'use1-bos1-az1', ZoneName: 'us-east-1-bos-1a', State: 'available', ZoneType: 'local-zone' },
    ],
  });
  await expect(probe.availabilityZones()).resolves.toEqual([
    { zoneId: 'use1-az1', zoneName: 'us-east-1c', state: 'available', zoneType: 'availability-zone' },
    { zoneId: 'use1-bos1-az1', zoneName: 'us-east-1-bos-1a', state: 'available', zoneType: 'local-zone' },
  ]);
});

test('endpoint service zones by name; a service the Region does not offer is undefined', async () => {
  const name = 'com.amazonaws.us-east-1.kinesis-streams';
  m.ec2.on(DescribeVpcEndpointServicesCommand, { ServiceNames: [name] }).resolves({ ServiceDetails: [{ ServiceName: name, AvailabilityZones: ['us-east-1a', 'us-east-1b'] }] });
  await expect(probe.endpointServiceZoneNames(name)).resolves.toEqual(['us-east-1a', 'us-east-1b']);
  m.ec2.on(DescribeVpcEndpointServicesCommand).rejects(Object.assign(new Error("The Vpc Endpoint Service 'x' does not exist"), { name: 'InvalidServiceName' }));
  await expect(probe.endpointServiceZoneNames(name)).resolves.toBeUndefined();
});

test('a stream: free on ResourceNotFoundException; taken with its environment tag otherwise', async () => {
  m.kinesis.on(DescribeStreamSummaryCommand, { StreamName: 'redstream-dev-events' }).rejects(notFound(KinesisNotFound));
  await expect(probe.stream('redstream-dev-events')).resolves.toEqual({ exists: false });
  m.kinesis.on(DescribeStreamSummaryCommand).resolves({});
  m.kinesis.on(ListTagsForStreamCommand, { StreamName: 'redstream-dev-events' }).resolves({ Tags: [{ Key: 'team', Value: 'x' }, { Key: 'redstream:environment', Value: 'dev' }], HasMoreTags: false });
  await expect(probe.stream('redstream-dev-events')).resolves.toEqual({ exists: true, environmentTag: 'dev' });
});

test('a table: free on ResourceNotFoundException; taken, untagged, otherwise (tags read by the table ARN)', async () => {
  m.dynamodb.on(DescribeTableCommand).rejects(notFound(DynamoNotFound));
  await expect(probe.table('redstream-dev-checkpoints')).resolves.toEqual({ exists: false });
  m.dynamodb.on(DescribeTableCommand).resolves({ Table: { TableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/redstream-dev-checkpoints' } });
  m.dynamodb.on(ListTagsOfResourceCommand, { ResourceArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/redstream-dev-checkpoints' }).resolves({ Tags: [] });
  await expect(probe.table('redstream-dev-checkpoints')).resolves.toEqual({ exists: true, environmentTag: undefined });
});

test('namespace and workgroup: GetNamespace / GetWorkgroup, tags by ARN', async () => {
  m.redshift.on(GetNamespaceCommand, { namespaceName: 'redstream-dev' }).resolves({ namespace: { namespaceArn: 'arn:ns' } });
  m.redshift.on(GetWorkgroupCommand).rejects(notFound(RedshiftNotFound));
  m.redshift.on(ListTagsForResourceCommand, { resourceArn: 'arn:ns' }).resolves({ tags: [{ key: 'redstream:environment', value: 'staging' }] });
  await expect(probe.namespace('redstream-dev')).resolves.toEqual({ exists: true, environmentTag: 'staging' });
  await expect(probe.workgroup('redstream-dev')).resolves.toEqual({ exists: false });
});

test('any other error propagates (preflight reports it as a check that could not be made)', async () => {
  m.kinesis.on(DescribeStreamSummaryCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
  await expect(probe.stream('redstream-dev-events')).rejects.toThrow('User is not authorized');
  m.redshift.on(GetNamespaceCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
  await expect(probe.namespace('redstream-dev')).rejects.toThrow('denied');
});

test('one probe, and one set of clients, per Region', () => {
  const made: string[] = [];
  const probes = awsPreflightProbes((region) => {
    made.push(region);
    return m.clients;
  });
  expect(probes.forRegion('us-east-1')).toBe(probes.forRegion('us-east-1'));
  probes.forRegion('us-west-2');
  expect(made).toEqual(['us-east-1', 'us-west-2']);
});

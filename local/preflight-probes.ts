/**
 * `npm run ops -- preflight` against the local world of `npm run demo -- --serve`: the names are looked up for real
 * (the streams in kinesalite, the tables in DynamoDB Local, through the standard endpoint variables); a name that is
 * free passes, one that exists cannot say whose it is (neither stand-in keeps the environment tag) and is skipped.
 * Every lookup that has no local stand-in, or no meaning on a laptop, is skipped with its reason rather than failed or
 * faked.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsPreflightProbes, AwsRegionProbe, defaultClients } from '../lambda/ops/preflight-adapters';
import { CheckSkipped, ENVIRONMENT_TAG, PreflightProbes, RegionProbe } from '../lambda/ops/preflight';

/** Why each skipped check is skipped locally (the README's "Game day" lists the same). */
export const LOCAL_SKIPS = {
  lambdaConcurrency: 'the local Lambda control plane has no account concurrency quota (lambda:GetAccountSettings is an account fact)',
  kinesisLimits: 'kinesalite has no shard or on-demand stream quotas (kinesis:DescribeLimits is an account fact)',
  zones: 'no EC2 stand-in: AZ IDs, their state and the Kinesis endpoint service are facts of an AWS account',
  redshift: 'no Redshift Serverless stand-in: the local warehouse is PGlite',
  streamTag: `exists in the local world, untagged: kinesalite refuses ':' in tag keys, so it cannot hold the ${ENVIRONMENT_TAG} tag that says whose it is`,
  tableTag: `exists in the local world, untagged: DynamoDB Local supports no tags, so it cannot hold the ${ENVIRONMENT_TAG} tag that says whose it is`,
} as const;

/** Probes that look up stream and table names locally and skip the rest. */
export function localPreflightProbes(): PreflightProbes {
  // kinesalite speaks HTTP/1.1 only (the SDK's Kinesis client would try HTTP/2).
  const aws = awsPreflightProbes((region) => ({ ...defaultClients(region), kinesis: new KinesisClient({ region, requestHandler: new NodeHttpHandler() }) }));
  const skip = (reason: string) => (): Promise<never> => Promise.reject(new CheckSkipped(reason));
  return {
    forRegion(region): RegionProbe {
      const real = aws.forRegion(region) as AwsRegionProbe;
      return {
        lambdaConcurrency: skip(LOCAL_SKIPS.lambdaConcurrency),
        kinesisLimits: skip(LOCAL_SKIPS.kinesisLimits),
        availabilityZones: skip(LOCAL_SKIPS.zones),
        endpointServiceZoneNames: skip(LOCAL_SKIPS.zones),
        namespace: skip(LOCAL_SKIPS.redshift),
        workgroup: skip(LOCAL_SKIPS.redshift),
        stream: async (name) => {
          const found = await real.stream(name);
          if (found.exists && found.environmentTag === undefined) throw new CheckSkipped(LOCAL_SKIPS.streamTag);
          return found;
        },
        table: async (name) => {
          const found = await real.table(name).catch((err: unknown) => {
            // DynamoDB Local answers ListTagsOfResource with UnknownOperationException ("Tagging is not currently supported").
            if ((err as { name?: string }).name === 'UnknownOperationException') throw new CheckSkipped(LOCAL_SKIPS.tableTag);
            throw err;
          });
          if (found.exists && found.environmentTag === undefined) throw new CheckSkipped(LOCAL_SKIPS.tableTag);
          return found;
        },
      };
    },
  };
}

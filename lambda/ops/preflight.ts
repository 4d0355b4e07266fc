/**
 * `npm run ops -- preflight`: read-only checks of what a first `cdk deploy` of an environment needs from the account,
 * in every Region of the environment, each failing check with what to fix.
 *
 * Pure: the facts come through {@link PreflightProbes} (lambda/ops/preflight-adapters.ts talks to AWS); this module
 * decides. {@link runPreflight} gathers the facts (a probe that throws becomes an `error` check, never a crash) and
 * {@link evaluatePreflight} turns them into a report; exit code 1 when any check fails or could not be made.
 *
 * What is checked, per Region:
 * - Lambda concurrency (GetAccountSettings): a reservation the template makes must leave Lambda's minimum of 100
 *   unreserved executions (a new account's quota is often 10 or 50); one the failover would make (moveReservedConcurrency)
 *   is a warning; the replicator needs about one concurrent execution per shard.
 * - Kinesis (DescribeLimits): the provisioned shards and on-demand streams still to be created fit the quotas.
 * - Warehouse Regions: the configured AZ IDs exist there for this account, are available and are real Availability
 *   Zones (EC2 DescribeAvailabilityZones); the Kinesis interface endpoint service is offered in them
 *   (EC2 DescribeVpcEndpointServices); whether Redshift Serverless supports them has no API and no published list
 *   (see {@link REDSHIFT_SERVERLESS_ZONES_SOURCE}), so that is a warning to confirm by hand.
 * - Names: the streams, the global tables and the warehouse's namespace and workgroup are free, or already this
 *   environment's (tagged `redstream:environment=<env>`, as every Redstream stack tags its resources: a redeploy).
 */
import { allRegions, EnvironmentConfig, physicalStreamName, warehouseRegions } from '../../lib/config';
import { activeRegionTableName, checkpointTableName, warehouseName } from '../../lib/names';

/** Lambda keeps this many executions unreserved in every account and Region (PutFunctionConcurrency fails below it). */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;
/** An on-demand stream starts with this many shards (Kinesis Developer Guide, on-demand mode). */
export const ON_DEMAND_INITIAL_SHARDS = 4;
/** The tag every Redstream stack puts on its resources (lib/redstream-app.ts). */
export const ENVIRONMENT_TAG = 'redstream:environment';
/**
 * Where AWS says which AZ IDs Redshift Serverless supports: the "Considerations when using Amazon Redshift Serverless"
 * page says to use subnets in "at least three of the supported Availability Zone IDs" and points to the console for
 * them; neither it nor the API reference publishes the list, and no API returns it (checked 2026-12-02).
 */
export const REDSHIFT_SERVERLESS_ZONES_SOURCE = 'https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html';

export interface LambdaConcurrency {
  /** AccountLimit.ConcurrentExecutions. */
  readonly concurrencyLimit: number;
  /** AccountLimit.UnreservedConcurrentExecutions. */
  readonly unreservedConcurrency: number;
}

export interface KinesisLimits {
  readonly shardLimit: number;
  readonly openShardCount: number;
  readonly onDemandStreamCount: number;
  readonly onDemandStreamCountLimit: number;
}

export interface AvailabilityZone {
  readonly zoneId: string;
  readonly zoneName: string;
  /** `available`, `impaired`, … */
  readonly state: string;
  /** `availability-zone`, `local-zone`, `wavelength-zone`. */
  readonly zoneType: string;
}

/** Whether a name is taken, and if so by which environment (its `redstream:environment` tag). */
export type Existing = { readonly exists: false } | { readonly exists: true; readonly environmentTag?: string };

/** The read-only lookups preflight makes in one Region. Each may throw; the error becomes an `error` check. */
export interface RegionProbe {
  lambdaConcurrency(): Promise<LambdaConcurrency>;
  kinesisLimits(): Promise<KinesisLimits>;
  /** Every zone of the Region the account can see (opted-in or not). */
  availabilityZones(): Promise<readonly AvailabilityZone[]>;
  /** Zone *names* in which an interface endpoint service is offered; undefined when the Region does not offer it. */
  endpointServiceZoneNames(serviceName: string): Promise<readonly string[] | undefined>;
  stream(name: string): Promise<Existing>;
  table(name: string): Promise<Existing>;
  namespace(name: string): Promise<Existing>;
  workgroup(name: string): Promise<Existing>;
}

export interface PreflightProbes {
  forRegion(region: string): RegionProbe;
}

/**
 * Thrown by a probe for a lookup that has no meaning where it runs (the local world of `npm run demo -- --serve` has no
 * EC2, Redshift Serverless or account quotas): the check is reported as skipped, with the reason, and does not fail.
 */
export class CheckSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CheckSkipped';
  }
}

/** A lookup's result, why it could not be made, or why it was skipped. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly skipped?: true };

/** Everything preflight learned in one Region. */
export interface RegionFacts {
  readonly region: string;
  readonly lambda: Outcome<LambdaConcurrency>;
  readonly kinesis: Outcome<KinesisLimits>;
  /** Physical stream name → whether it exists. */
  readonly streams: ReadonlyMap<string, Outcome<Existing>>;
  /** Table name → whether it exists. */
  readonly tables: ReadonlyMap<string, Outcome<Existing>>;
  /** Warehouse Regions only. */
  readonly warehouse?: {
    readonly zones: Outcome<readonly AvailabilityZone[]>;
    readonly kinesisEndpointZoneNames: Outcome<readonly string[] | undefined>;
    readonly namespace: Outcome<Existing>;
    readonly workgroup: Outcome<Existing>;
  };
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'error' | 'skip';

export interface PreflightCheck {
  readonly region: string;
  /** Stable id: lambda-concurrency, kinesis-shards, kinesis-on-demand-streams, availability-zones, kinesis-endpoint-zones, redshift-serverless-zones, name. */
  readonly check: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do (fail, error and warn only). */
  readonly fix?: string;
}

export interface PreflightReport {
  readonly environment: string;
  readonly account: string;
  readonly regions: readonly string[];
  readonly checks: readonly PreflightCheck[];
  /** 0: nothing fails (warnings allowed); 1: a check failed or could not be made. */
  readonly exitCode: 0 | 1;
}

/** The names preflight looks up in a Region. */
export function namesToCheck(config: EnvironmentConfig, region: string): { streams: string[]; tables: string[]; warehouse?: string } {
  return {
    streams: config.streams.map((s) => physicalStreamName(config.name, s.name)),
    // Global tables have a replica in every Region: a foreign table of that name anywhere blocks the replica.
    tables: [checkpointTableName(config.name), activeRegionTableName(config.name)],
    warehouse: warehouseRegions(config).includes(region) ? warehouseName(config.name) : undefined,
  };
}

async function outcome<T>(lookup: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await lookup() };
  } catch (err) {
    if (err instanceof CheckSkipped) return { ok: false, error: err.reason, skipped: true };
    const e = err as { name?: string; message?: string };
    return { ok: false, error: e.message ? `${e.name ?? 'Error'}: ${e.message}` : String(err) };
  }
}

/** Gathers one Region's facts; never throws. */
export async function gatherRegionFacts(config: EnvironmentConfig, region: string, probe: RegionProbe): Promise<RegionFacts> {
  const names = namesToCheck(config, region);
  const byName = async (list: string[], lookup: (name: string) => Promise<Existing>) =>
    new Map(await Promise.all(list.map(async (name) => [name, await outcome(() => lookup(name))] as const)));
  const [lambda, kinesis, streams, tables, warehouse] = await Promise.all([
    outcome(() => probe.lambdaConcurrency()),
    outcome(() => probe.kinesisLimits()),
    byName(names.streams, (n) => probe.stream(n)),
    byName(names.tables, (n) => probe.table(n)),
    names.warehouse === undefined
      ? Promise.resolve(undefined)
      : (async () => {
          const [zones, kinesisEndpointZoneNames, namespace, workgroup] = await Promise.all([
            outcome(() => probe.availabilityZones()),
            outcome(() => probe.endpointServiceZoneNames(kinesisEndpointServiceName(region))),
            outcome(() => probe.namespace(names.warehouse!)),
            outcome(() => probe.workgroup(names.warehouse!)),
          ]);
          return { zones, kinesisEndpointZoneNames, namespace, workgroup };
        })(),
  ]);
  return { region, lambda, kinesis, streams, tables, warehouse };
}

/** The interface endpoint service the warehouse VPC uses to reach Kinesis (lib/warehouse-stack.ts). */
export function kinesisEndpointServiceName(region: string): string {
  return `com.amazonaws.${region}.kinesis-streams`;
}

/** Runs every check of an environment; resolves to the report (its `exitCode` is the command's). Never throws. */
export async function runPreflight(config: EnvironmentConfig, probes: PreflightProbes): Promise<PreflightReport> {
  const facts = await Promise.all(allRegions(config).map((region) => gatherRegionFacts(config, region, probes.forRegion(region))));
  return evaluatePreflight(config, facts);
}

/** Decides every check from the gathered facts. Pure. */
export function evaluatePreflight(config: EnvironmentConfig, facts: readonly RegionFacts[]): PreflightReport {
  const checks = facts.flatMap((f) => [
    ...checkLambda(config, f),
    ...checkKinesis(config, f),
    ...(f.warehouse ? checkZones(config, f.region, f.warehouse) : []),
    ...checkNames(config, f),
  ]);
  return {
    environment: config.name,
    account: config.account,
    regions: facts.map((f) => f.region),
    checks,
    exitCode: checks.some((c) => c.status === 'fail' || c.status === 'error') ? 1 : 0,
  };
}

function couldNotCheck(config: EnvironmentConfig, region: string, check: string, api: string, error: string, skipped?: true): PreflightCheck {
  if (skipped) return { region, check, status: 'skip', detail: `skipped: ${error}` };
  return { region, check, status: 'error', detail: `could not call ${api}: ${error}`, fix: fixFor(config, region, api) };
}

/** Streams whose name is free (they will be created); existing ones already count in the quotas. */
function newStreams(config: EnvironmentConfig, f: RegionFacts) {
  return config.streams.filter((s) => {
    const o = f.streams.get(physicalStreamName(config.name, s.name));
    return !(o?.ok && o.value.exists);
  });
}

function checkLambda(config: EnvironmentConfig, f: RegionFacts): PreflightCheck[] {
  const check = 'lambda-concurrency';
  if (!f.lambda.ok) return [couldNotCheck(config, f.region, check, 'lambda:GetAccountSettings', f.lambda.error, f.lambda.skipped)];
  const { concurrencyLimit, unreservedConcurrency } = f.lambda.value;
  const reserved = config.replicator.reservedConcurrency;
  const moves = config.failover.moveReservedConcurrency;
  const left = reserved === undefined ? unreservedConcurrency : unreservedConcurrency - reserved;
  const quotaFix = (needed: number) =>
    `request a Lambda "Concurrent executions" quota of at least ${needed} in ${f.region} (Service Quotas), or remove replicator.reservedConcurrency (it is opt-in)`;
  const found = `concurrency quota ${concurrencyLimit}, ${unreservedConcurrency} unreserved`;
  const out: PreflightCheck[] = [];
  if (reserved !== undefined && left < LAMBDA_MIN_UNRESERVED_CONCURRENCY) {
    const needed = concurrencyLimit - unreservedConcurrency + reserved + LAMBDA_MIN_UNRESERVED_CONCURRENCY;
    out.push(
      moves
        ? {
            region: f.region,
            check,
            status: 'warn',
            detail: `${found}: a failover to ${f.region} would reserve ${reserved} for the replicator and leave ${left}, below Lambda's minimum of ${LAMBDA_MIN_UNRESERVED_CONCURRENCY}, so the move would fail (the switch itself still happens)`,
            fix: quotaFix(needed),
          }
        : {
            region: f.region,
            check,
            status: 'fail',
            detail: `${found}: reserving ${reserved} for the replicator would leave ${left}, below Lambda's minimum of ${LAMBDA_MIN_UNRESERVED_CONCURRENCY}, so the Region stack fails to deploy`,
            fix: quotaFix(needed),
          },
    );
  }
  // One concurrent invocation per shard (parallelization factor 1); on-demand streams start with 4 shards.
  const shards = config.streams.reduce((n, s) => n + (s.mode === 'PROVISIONED' ? s.shards : ON_DEMAND_INITIAL_SHARDS), 0);
  const available = reserved !== undefined && !moves ? reserved : left;
  if (available < shards) {
    out.push({
      region: f.region,
      check,
      status: 'warn',
      detail: `${found}: the replicator reads ${shards} shard(s) at once (one invocation per shard) but can get only ${available} concurrent executions; replication would lag`,
      fix: reserved !== undefined && !moves ? `raise replicator.reservedConcurrency to at least ${shards}` : `request a higher Lambda "Concurrent executions" quota in ${f.region} (Service Quotas)`,
    });
  }
  if (out.length === 0) {
    out.push({
      region: f.region,
      check,
      status: 'ok',
      detail: `${found}${reserved !== undefined ? `; ${moves ? 'a failover reserves' : 'the template reserves'} ${reserved} for the replicator, leaving ${left}` : '; the replicator is unreserved'}`,
    });
  }
  return out;
}

function checkKinesis(config: EnvironmentConfig, f: RegionFacts): PreflightCheck[] {
  if (!f.kinesis.ok) {
    const { error, skipped } = f.kinesis;
    return ['kinesis-shards', 'kinesis-on-demand-streams'].map((check) => couldNotCheck(config, f.region, check, 'kinesis:DescribeLimits', error, skipped));
  }
  const l = f.kinesis.value;
  const fresh = newStreams(config, f);
  const shards = fresh.filter((s) => s.mode === 'PROVISIONED').reduce((n, s) => n + s.shards, 0);
  const onDemand = fresh.filter((s) => s.mode === 'ON_DEMAND').length;
  const freeShards = l.shardLimit - l.openShardCount;
  const freeOnDemand = l.onDemandStreamCountLimit - l.onDemandStreamCount;
  return [
    shards <= freeShards
      ? { region: f.region, check: 'kinesis-shards', status: 'ok', detail: `${shards} new provisioned shard(s); ${freeShards} free of ${l.shardLimit}` }
      : {
          region: f.region,
          check: 'kinesis-shards',
          status: 'fail',
          detail: `${shards} new provisioned shard(s) but only ${freeShards} free of the ${l.shardLimit}-shard quota (${l.openShardCount} open)`,
          fix: `request a Kinesis "Shards per Region" quota of at least ${l.openShardCount + shards} in ${f.region} (Service Quotas), or lower streams[].shards`,
        },
    onDemand <= freeOnDemand
      ? { region: f.region, check: 'kinesis-on-demand-streams', status: 'ok', detail: `${onDemand} new on-demand stream(s); ${freeOnDemand} free of ${l.onDemandStreamCountLimit}` }
      : {
          region: f.region,
          check: 'kinesis-on-demand-streams',
          status: 'fail',
          detail: `${onDemand} new on-demand stream(s) but only ${freeOnDemand} free of the ${l.onDemandStreamCountLimit}-stream quota`,
          fix: `request a higher "On-demand data streams" quota in ${f.region} (Service Quotas), or make streams PROVISIONED`,
        },
  ];
}

function checkZones(config: EnvironmentConfig, region: string, w: NonNullable<RegionFacts['warehouse']>): PreflightCheck[] {
  const field = `warehouse.availabilityZoneIds.${region}`;
  const ids = config.warehouse.availabilityZoneIds[region];
  if (ids === undefined) {
    return [{ region, check: 'availability-zones', status: 'fail', detail: `${field} is not set; the warehouse stack cannot be synthesized`, fix: `list three AZ IDs of ${region} in ${field} (cdk.json)` }];
  }
  if (!w.zones.ok) {
    const skipped = couldNotCheck(config, region, 'availability-zones', 'ec2:DescribeAvailabilityZones', w.zones.error, w.zones.skipped);
    // Nothing to confirm by hand about zones that were not looked up.
    const notLookedUp = { ...skipped, detail: 'skipped: the zones were not looked up' };
    return w.zones.skipped ? [skipped, { ...notLookedUp, check: 'kinesis-endpoint-zones' }, { ...notLookedUp, check: 'redshift-serverless-zones' }] : [skipped];
  }
  const zones = w.zones.value;
  const usable = zones.filter((z) => z.zoneType === 'availability-zone' && z.state === 'available').map((z) => `${z.zoneId} (${z.zoneName})`);
  const problems: string[] = [];
  const names: string[] = [];
  for (const id of ids) {
    const zone = zones.find((z) => z.zoneId === id);
    if (zone === undefined) problems.push(`${id} does not exist in ${region}`);
    else if (zone.zoneType !== 'availability-zone') problems.push(`${id} is a ${zone.zoneType}, not an Availability Zone`);
    else if (zone.state !== 'available') problems.push(`${id} is ${zone.state}`);
    else names.push(zone.zoneName);
  }
  const checks: PreflightCheck[] = [
    problems.length === 0
      ? { region, check: 'availability-zones', status: 'ok', detail: `${ids.map((id, i) => `${id} (${names[i]} in this account)`).join(', ')}: available` }
      : { region, check: 'availability-zones', status: 'fail', detail: problems.join('; '), fix: `use three available AZ IDs in ${field}; this account's are: ${usable.join(', ')}` },
  ];
  if (!w.kinesisEndpointZoneNames.ok) {
    checks.push(couldNotCheck(config, region, 'kinesis-endpoint-zones', 'ec2:DescribeVpcEndpointServices', w.kinesisEndpointZoneNames.error));
  } else if (problems.length === 0) {
    const offered = w.kinesisEndpointZoneNames.value;
    const missing = ids.filter((_id, i) => offered === undefined || !offered.includes(names[i]));
    checks.push(
      missing.length === 0
        ? { region, check: 'kinesis-endpoint-zones', status: 'ok', detail: `${kinesisEndpointServiceName(region)} is offered in all three zones` }
        : {
            region,
            check: 'kinesis-endpoint-zones',
            status: 'fail',
            detail:
              offered === undefined
                ? `${kinesisEndpointServiceName(region)} is not offered in ${region}: the warehouse VPC cannot reach Kinesis`
                : `${kinesisEndpointServiceName(region)} is not offered in ${missing.join(', ')}: the endpoint cannot be placed in that subnet`,
            fix: offered === undefined ? `run the warehouse in another Region (warehouse.regions)` : `replace ${missing.join(', ')} in ${field} with a zone where the endpoint is offered`,
          },
    );
  }
  checks.push({
    region,
    check: 'redshift-serverless-zones',
    status: 'warn',
    detail: `not checkable: AWS publishes no list and no API of the AZ IDs Redshift Serverless supports (${REDSHIFT_SERVERLESS_ZONES_SOURCE})`,
    fix: `confirm ${ids.join(', ')} in the Redshift Serverless console (create workgroup, subnets: it lists the supported AZ IDs) before the first deploy`,
  });
  return checks;
}

function checkName(config: EnvironmentConfig, region: string, kind: string, name: string, o: Outcome<Existing>, api: string): PreflightCheck {
  const check = 'name';
  if (!o.ok) {
    const c = couldNotCheck(config, region, check, api, o.error, o.skipped);
    return { ...c, detail: `${kind} ${name}: ${o.skipped ? 'skipped' : `could not call ${api}`}: ${o.error}` };
  }
  if (!o.value.exists) return { region, check, status: 'ok', detail: `${kind} ${name}: free` };
  if (o.value.environmentTag === config.name) return { region, check, status: 'ok', detail: `${kind} ${name}: exists, this environment's (${ENVIRONMENT_TAG}=${config.name}): a redeploy` };
  return {
    region,
    check,
    status: 'fail',
    detail: `${kind} ${name}: taken by a resource that is not ${config.name}'s (${ENVIRONMENT_TAG}=${o.value.environmentTag ?? 'none'}); CloudFormation cannot create it`,
    fix: `delete or rename that ${kind} in ${region}, or use another environment name (Redstream's names are redstream-<env>-…)`,
  };
}

function checkNames(config: EnvironmentConfig, f: RegionFacts): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  for (const [name, o] of f.streams) checks.push(checkName(config, f.region, 'stream', name, o, 'kinesis:DescribeStreamSummary/ListTagsForStream'));
  for (const [name, o] of f.tables) checks.push(checkName(config, f.region, 'table', name, o, 'dynamodb:DescribeTable/ListTagsOfResource'));
  if (f.warehouse) {
    const name = warehouseName(config.name);
    checks.push(checkName(config, f.region, 'namespace', name, f.warehouse.namespace, 'redshift-serverless:GetNamespace/ListTagsForResource'));
    checks.push(checkName(config, f.region, 'workgroup', name, f.warehouse.workgroup, 'redshift-serverless:GetWorkgroup/ListTagsForResource'));
  }
  return checks;
}

function fixFor(config: EnvironmentConfig, region: string, api: string): string {
  return `run preflight with credentials of account ${config.account} that may call ${api} in ${region} (read-only)`;
}

const MARK: Record<CheckStatus, string> = { ok: 'ok   ', warn: 'WARN ', fail: 'FAIL ', error: 'ERROR', skip: 'skip ' };

/** The report as text: one line per check, grouped by Region, then the fixes, then the verdict. */
export function formatPreflight(report: PreflightReport): string {
  const lines = [`preflight of ${report.environment} (account ${report.account}) in ${report.regions.join(', ')}`];
  for (const region of report.regions) {
    lines.push(`${region}:`);
    for (const c of report.checks.filter((x) => x.region === region)) {
      lines.push(`  ${MARK[c.status]} ${c.check.padEnd(25)} ${c.detail}`);
      if (c.fix && c.status !== 'ok' && c.status !== 'skip') lines.push(`  ${' '.repeat(5)} ${''.padEnd(25)} fix: ${c.fix}`);
    }
  }
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const skipped = count('skip') > 0 ? `, ${count('skip')} skipped` : '';
  lines.push(
    report.exitCode === 0
      ? count('skip') > 0
        ? `nothing failed, but ${count('skip')} check(s) were skipped (${count('ok')} ok, ${count('warn')} warning(s)): not a verdict on a deploy`
        : `ready to deploy: ${count('ok')} ok, ${count('warn')} warning(s)`
      : `not ready: ${count('fail')} failed, ${count('error')} could not be checked, ${count('warn')} warning(s)${skipped}; fix them and run preflight again`,
  );
  return lines.join('\n');
}

import { App, Tags } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { allRegions, EnvironmentConfig, erasureSweepRegions, warehouseRegions } from './config';
import { stackNames } from './names';
import { OpsStack } from './ops-stack';
import { RegionStack } from './region-stack';
import { StateStack } from './state-stack';
import { WarehouseStack } from './warehouse-stack';

/** The stacks of one environment. */
export interface RedstreamEnvironmentStacks {
  readonly state: StateStack;
  /** Keyed by Region. */
  readonly regions: ReadonlyMap<string, RegionStack>;
  /** Keyed by Region. */
  readonly warehouses: ReadonlyMap<string, WarehouseStack>;
  /** Keyed by Region. */
  readonly ops: ReadonlyMap<string, OpsStack>;
}

/**
 * Adds one environment's stacks to the app: state in the primary Region, a Region stack in every Region, and a
 * warehouse where configured. Stacks refer to each other only through the deterministic names in `names.ts` (no
 * CloudFormation exports, which would block removing a stream or replacing a key or topic), with explicit stack
 * dependencies for the deploy order; synthesis needs no lookup and no credentials.
 */
export function addEnvironment(app: App, config: EnvironmentConfig): RedstreamEnvironmentStacks {
  const envFor = (region: string) => ({ account: config.account, region });
  const description = (what: string) => `Redstream ${config.name}: ${what}`;

  const state = new StateStack(app, stackNames.state(config.name), {
    env: envFor(config.primaryRegion),
    description: description('replication checkpoints and active-Region tables (global tables)'),
    config,
  });

  const regions = new Map<string, RegionStack>();
  for (const region of allRegions(config)) {
    const stack = new RegionStack(app, stackNames.region(config.name, region), {
      env: envFor(region),
      description: description(`streams, archive and replication in ${region}`),
      config,
    });
    // The replicator needs the global tables' replicas, which the state stack creates in every Region.
    stack.addStackDependency(state);
    regions.set(region, stack);
  }
  checkStreamRecordSizes(regions);

  const warehouses = new Map<string, WarehouseStack>();
  for (const region of warehouseRegions(config)) {
    const stack = new WarehouseStack(app, stackNames.warehouse(config.name, region), {
      env: envFor(region),
      description: description(`Redshift Serverless streaming ingestion in ${region}`),
      config,
    });
    // Its streams, stream key and alarm topic are the Region stack's (addressed by name).
    stack.addStackDependency(regions.get(region)!);
    // Its erasure step sweeps the archives of the Regions without a warehouse, whose bucket names it reads from
    // their Region stacks' parameters at deploy time.
    for (const other of erasureSweepRegions(config, region)) if (other !== region) stack.addStackDependency(regions.get(other)!);
    warehouses.set(region, stack);
  }

  const ops = new Map<string, OpsStack>();
  for (const [region, regionStack] of regions) {
    const stack = new OpsStack(app, stackNames.ops(config.name, region), {
      env: envFor(region),
      description: description(`health alarms, failover function${region === config.primaryRegion ? ' and dashboard' : ''} in ${region}`),
      config,
    });
    // The failover function reads the global tables' replicas in this Region; the alarms watch the Region stack's
    // streams and notify its topic (addressed by name).
    stack.addStackDependency(state);
    stack.addStackDependency(regionStack);
    ops.set(region, stack);
  }

  for (const stack of [state, ...regions.values(), ...warehouses.values(), ...ops.values()]) {
    Tags.of(stack).add('redstream:environment', config.name);
    for (const [key, value] of Object.entries(config.tags)) Tags.of(stack).add(key, value);
  }
  return { state, regions, warehouses, ops };
}

/**
 * Every Region's copy of a stream must accept the same largest record: otherwise a record a producer wrote in one
 * Region could be refused by the replicator's PutRecords in another (or after a failover, by producers). The config
 * has one value per stream, so this fails only when code sets a Region apart; it fails synth with the stream named.
 */
export function checkStreamRecordSizes(regions: ReadonlyMap<string, RegionStack>): void {
  const seen = new Map<string, { region: string; kib: number | undefined }>();
  for (const [region, stack] of regions) {
    for (const [name, s] of stack.streams) {
      const kib = (s.stream.node.defaultChild as kinesis.CfnStream).maxRecordSizeInKiB;
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, { region, kib });
      } else if (first.kib !== kib) {
        throw new Error(
          `stream ${name}: maxRecordSizeKiB is ${first.kib ?? 'unset'} in ${first.region} but ${kib ?? 'unset'} in ${region}; ` +
            'fix: give every Region\'s copy of a stream the same maximum record size (streams[].maxRecordSizeKiB in cdk.json)',
        );
      }
    }
  }
}

import { App, Tags } from 'aws-cdk-lib';
import { allRegions, EnvironmentConfig, warehouseRegions } from './config';
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
 * warehouse where configured. References between them stay within a Region (CloudFormation exports) or go through
 * the deterministic names in `names.ts`, so synthesis needs no lookup and no credentials.
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

  const warehouses = new Map<string, WarehouseStack>();
  for (const region of warehouseRegions(config)) {
    const regionStack = regions.get(region)!;
    const stack = new WarehouseStack(app, stackNames.warehouse(config.name, region), {
      env: envFor(region),
      description: description(`Redshift Serverless streaming ingestion in ${region}`),
      config,
      streams: new Map([...regionStack.streams].map(([name, s]) => [name, s.stream])),
      streamKey: regionStack.streamKey,
      alarmTopic: regionStack.alarmTopic,
    });
    warehouses.set(region, stack);
  }

  const ops = new Map<string, OpsStack>();
  for (const [region, regionStack] of regions) {
    const stack = new OpsStack(app, stackNames.ops(config.name, region), {
      env: envFor(region),
      description: description(`health alarms, failover function${region === config.primaryRegion ? ' and dashboard' : ''} in ${region}`),
      config,
      streams: new Map([...regionStack.streams].map(([name, s]) => [name, s.stream])),
      alarmTopic: regionStack.alarmTopic,
    });
    // The failover function reads the global tables' replicas in this Region.
    stack.addStackDependency(state);
    ops.set(region, stack);
  }

  for (const stack of [state, ...regions.values(), ...warehouses.values(), ...ops.values()]) {
    Tags.of(stack).add('redstream:environment', config.name);
    for (const [key, value] of Object.entries(config.tags)) Tags.of(stack).add(key, value);
  }
  return { state, regions, warehouses, ops };
}

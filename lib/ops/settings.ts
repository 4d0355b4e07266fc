/**
 * Builds the failover service's settings from a validated environment config. Pure; used by the operator CLI and by
 * the ops stack (which passes the same values to the failover function as environment variables).
 */
import { allRegions, EnvironmentConfig, physicalStreamName } from '../config';
import { activeRegionTableName, checkpointTableName, replicatorFunctionName } from '../names';
import { StateTables } from '../../lambda/failover/adapters';
import { FailoverSettings } from '../../lambda/failover/service';

/** How long a switch waits for every replica to show a drain before it stalls. @default 120 s */
export const DEFAULT_PROPAGATION_TIMEOUT_MS = 120_000;
/** Pause between replica polls. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

export function settingsFromConfig(
  config: EnvironmentConfig,
  overrides: { propagationTimeoutMs?: number; pollIntervalMs?: number } = {},
): FailoverSettings {
  return {
    environment: config.name,
    regions: allRegions(config),
    primaryRegion: config.primaryRegion,
    streams: config.streams.map((s) => physicalStreamName(config.name, s.name)),
    replicatorTimeoutMs: config.replicator.timeoutSeconds * 1000,
    activeRegionCacheTtlMs: config.replicator.activeRegionCacheTtlSeconds * 1000,
    propagationTimeoutMs: overrides.propagationTimeoutMs ?? DEFAULT_PROPAGATION_TIMEOUT_MS,
    pollIntervalMs: overrides.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    resumeSafetyMarginMs: config.failover.resumeSafetyMarginSeconds * 1000,
    failbackMaxLagMs: config.failover.failbackMaxLagSeconds * 1000,
    replicatorFunctionName: replicatorFunctionName(config.name),
    streamRetentionMs: Object.fromEntries(config.streams.map((s) => [physicalStreamName(config.name, s.name), s.retentionHours * 3_600_000])),
    replicatorConcurrency: config.failover.moveReservedConcurrency
      ? { functionName: replicatorFunctionName(config.name), reservedConcurrency: config.replicator.reservedConcurrency }
      : undefined,
  };
}

/** The deterministic table names the state stack gives the two global tables (lib/names.ts). */
export function stateTablesFor(config: EnvironmentConfig): StateTables {
  return { checkpointTableName: checkpointTableName(config.name), activeRegionTableName: activeRegionTableName(config.name) };
}

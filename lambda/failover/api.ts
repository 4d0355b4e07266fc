/**
 * Programmatic API of failover and failback, for the local demo, drills and scripts (the CLI and the Lambda handler
 * use the same functions):
 *
 * ```ts
 * const settings = settingsFromConfig(config, { propagationTimeoutMs: 5_000 });    // lib/ops/settings.ts
 * const deps = dynamoDbFailoverDeps(stateTablesFor(config), { clock: () => now, sleep: fastSleep });
 * await failover(settings, { targetRegion: 'us-west-2', expectedRegion: 'us-east-1', reason: 'drill' }, deps);
 * await status(settings, {}, deps);
 * await failback(settings, { reason: 'drill over' }, deps);
 * ```
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClients, DynamoDbActiveRegionStore, DynamoDbCheckpointStore, RegionalClients, StateTables } from './adapters';
import { Clock, ReservedConcurrencyControl, ResultPublisher, Sleep } from './ports';
import { FailoverDeps } from './service';

export { failback, failover, status, staleAfterMs } from './service';
export type { FailoverDeps, FailoverSettings, StatusReport, StreamStatus, StreamSwitchResult, SwitchOptions, SwitchResult, StreamOutcome } from './service';
export type { StateTables } from './adapters';
export { inFlightWaitMs, lowWaterMark, resumeTimestamp } from './decisions';

/** Deps over the two DynamoDB tables (one client per Region; SDK endpoint variables apply). */
export function dynamoDbFailoverDeps(
  tables: StateTables,
  options: {
    /** @default - default credential chain and endpoint variables */
    clients?: RegionalClients<DynamoDBDocumentClient>;
    /** @default Date.now */
    clock?: Clock;
    /** @default setTimeout */
    sleep?: Sleep;
    concurrency?: ReservedConcurrencyControl;
    publisher?: ResultPublisher;
    onProgress?: (line: string) => void;
  } = {},
): FailoverDeps {
  const clients = options.clients ?? documentClients();
  return {
    activeRegions: new DynamoDbActiveRegionStore(clients, tables.activeRegionTableName),
    checkpoints: new DynamoDbCheckpointStore(clients, tables.checkpointTableName),
    clock: options.clock ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    concurrency: options.concurrency,
    publisher: options.publisher,
    onProgress: options.onProgress,
  };
}

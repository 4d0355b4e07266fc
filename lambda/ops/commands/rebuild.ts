/**
 * `npm run ops -- rebuild --env E --from T --yes`: rebuilds a warehouse's events and rejects from the archive
 * (README, "Rebuild a warehouse from the archive"): empties events, rejects and the merge state, replays every
 * stream's archive of the warehouse's Region from T into the stream's active Region, and runs a merge. Erased subjects
 * stay out (the suppression list is kept). Stop the merge schedule first; re-enable it after.
 */
import * as path from 'node:path';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { documentClients, DynamoDbActiveRegionStore, kinesisClients } from '../../failover/adapters';
import { ErasureWarehouse } from '../../archive/erase';
import { ArchiveReplaySource, countOpenShards, defaultProgressFile, FileProgressStore, KinesisReplayTarget, ReplayResult, runReplay } from '../../archive/replay';
import { writeBudget } from '../../archive/replay-plan';
import { S3ArchiveStore } from '../../archive/store';
import { EnvironmentConfig, physicalStreamName, warehouseRegions } from '../../../lib/config';
import { warehouseName } from '../../../lib/names';
import { EXIT_FAILED, EXIT_OK, OptionValues, UsageError } from '../command-line';
import { CliDeps, COMMON_OPTIONS, defineCommand, resolveTarget } from '../context';
import { DataApiErasureWarehouse } from '../../archive/data-api-warehouse';
import { s3ClientFor } from '../../archive/store';
import { archiveBucketFor, parseTime } from './replay';

export const REBUILD_OPTIONS = {
  ...COMMON_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
  region: { type: 'string' },
  share: { type: 'string' },
  yes: { type: 'boolean' },
  'secret-arn': { type: 'string' },
  schema: { type: 'string' },
} as const;

export const USAGE = `rebuild --from T --yes [options]
  --from T                    start of the archive to replay (the first day the warehouse should hold)
  --to T                      end (default: now)
  --region R                  the warehouse's Region (default: the first warehouse Region)
  --share F                   share of each stream's write limit for the replay (default 0.5)
  --yes                       required: events, rejects and merge state are emptied first
  --secret-arn ARN, --schema NAME   as for erase
  Stop the warehouse's merge schedule before, re-enable it after. Duplicates are removed by the merge.`;

/** The rebuild's steps against any warehouse (the Data API in AWS; PGlite in tests). */
export async function rebuildWarehouse(
  config: EnvironmentConfig,
  warehouse: ErasureWarehouse,
  replay: (stream: { name: string; physicalName: string }) => Promise<ReplayResult>,
  say: (line: string) => void,
): Promise<{ streams: Array<{ stream: string; found: number; written: number }> }> {
  const s = warehouse.schema;
  say(`rebuild ${warehouse.name}: emptying ${s}.events, rejects, merge_state, merge_streams, merge_runs (the suppression list and the audit stay)`);
  for (const table of ['events', 'rejects', 'merge_state', 'merge_streams', 'merge_runs']) await warehouse.change(`DELETE FROM ${s}.${table}`);
  const streams = [];
  for (const c of config.streams) {
    const r = await replay({ name: c.name, physicalName: physicalStreamName(config.name, c.name) });
    streams.push({ stream: c.name, found: r.found, written: r.written });
    say(`rebuild ${warehouse.name}: ${c.name}: ${r.written} of ${r.found} archived records replayed`);
  }
  return { streams };
}

export const rebuildCommand = defineCommand({
  name: 'rebuild',
  summary: 'rebuild a warehouse\'s events and rejects from the archive (empty, replay, merge)',
  usage: USAGE,
  options: REBUILD_OPTIONS,
  async run(args: OptionValues<typeof REBUILD_OPTIONS>, deps: CliDeps): Promise<number> {
    const { config, tables } = resolveTarget(args, deps);
    if (!args.yes) throw new UsageError('rebuild empties events, rejects and the merge state first: pass --yes');
    const fromMs = parseTime('from', args.from);
    const toMs = args.to === undefined ? (deps.clock ?? Date.now)() : parseTime('to', args.to);
    if (toMs <= fromMs) throw new UsageError('--to must be after --from');
    const region = args.region ?? warehouseRegions(config)[0];
    if (!warehouseRegions(config).includes(region)) throw new UsageError(`--region ${region} runs no warehouse (warehouse Regions: ${warehouseRegions(config).join(', ')})`);
    const share = args.share === undefined ? 0.5 : Number(args.share);
    if (!(share > 0 && share <= 1)) throw new UsageError(`--share must be a number above 0 and at most 1 (got ${JSON.stringify(args.share)})`);
    const schema = args.schema ?? 'redstream';
    const warehouse = new DataApiErasureWarehouse(new RedshiftDataClient({ region }), region, { workgroupName: warehouseName(config.name), database: config.warehouse.databaseName, secretArn: args['secret-arn'] }, schema);
    const kinesis = deps.kinesisClients ?? kinesisClients();
    const active = new DynamoDbActiveRegionStore(deps.dynamoClients ?? documentClients(), tables.activeRegionTableName);
    const s3 = s3ClientFor(region, deps.env);
    try {
      const result = await rebuildWarehouse(
        config,
        warehouse,
        async (stream) => {
          const item = await active.read(config.primaryRegion, stream.physicalName);
          if (!item || item.state !== 'ACTIVE') throw new UsageError(`${stream.physicalName} has no ACTIVE Region now; rebuild after the switch`);
          const request = { environment: config.name, stream: stream.physicalName, fromMs, toMs, source: 'archive' as const, sourceRegion: region, targetRegion: item.activeRegion };
          return runReplay(
            { request, budget: writeBudget(await countOpenShards(kinesis(item.activeRegion), stream.physicalName), share) },
            {
              source: new ArchiveReplaySource(new S3ArchiveStore(s3), archiveBucketFor(region, undefined, deps.env), stream.name, stream.physicalName, 1, region),
              target: new KinesisReplayTarget(kinesis(item.activeRegion), stream.physicalName, item.activeRegion),
              progress: new FileProgressStore(defaultProgressFile(path.join('.redstream', 'replays'), request)),
              clock: deps.clock ?? Date.now,
              sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
            },
          );
        },
        (l) => deps.stderr(l),
      );
      deps.stdout(
        args.json
          ? JSON.stringify(result, null, 2)
          : `${result.streams.map((s) => `${s.stream}: ${s.written} record(s) replayed`).join('\n')}\nRe-enable the merge schedule (or CALL ${schema}.merge_events()); duplicates are removed by the merge.`,
      );
      return EXIT_OK;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      deps.stderr(`rebuild: ${err instanceof Error ? err.message : String(err)}; the replay's progress file lets the same command resume (emptying again is harmless)`);
      return EXIT_FAILED;
    } finally {
      s3.destroy();
    }
  },
});

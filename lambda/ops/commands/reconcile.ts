/**
 * `npm run ops -- reconcile --env E [--from T1] [--to T2]`: finds the records of a time window that are in some
 * Region's stream and missing from the active Region's (by partition key and bytes: producers' early, stray and
 * stranded writes), and writes them to the active Region in per-key order. Idempotent: a second run over the same
 * window finds nothing. Run it once every Region is reachable (see the README runbook).
 */
import { documentClients, DynamoDbActiveRegionStore, kinesisClients } from '../../failover/adapters';
import { kinesisReconcileDeps, ReconcileError, ReconcileResult, runReconcile } from '../../failover/reconcile-run';
import { countOpenShards } from '../../archive/replay';
import { writeBudget } from '../../archive/replay-plan';
import { physicalStreamName } from '../../../lib/config';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../command-line';
import { COMMON_OPTIONS, defineCommand, resolveTarget } from '../context';
import { parseTime } from './replay';

export const USAGE = `reconcile [options]
  --from T1, --to T2          the window [T1, T2) of arrival times: ISO-8601 or epoch ms
                              (default: the last 24 hours, the shortest stream retention)
  --share F                   share of the stream's write limit to use, 0-1 (default 0.5)
  --dry-run                   find and count what is missing; write nothing
  Every Region's stream is read: run it once every Region is reachable. What is missing from the active Region is
  written there in per-key order; the warehouse removes any duplicate.`;

export const reconcileCommand = defineCommand({
  name: 'reconcile',
  summary: 'copy records found in another Region and missing from the active one (early, stray, stranded writes)',
  usage: USAGE,
  options: { ...COMMON_OPTIONS, from: { type: 'string' }, to: { type: 'string' }, share: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run(args, deps) {
    const { config, streams, tables } = resolveTarget(args, deps);
    const clock = deps.clock ?? Date.now;
    const now = clock();
    const toMs = args.to === undefined ? now : parseTime('to', args.to);
    const fromMs = args.from === undefined ? toMs - 24 * 3_600_000 : parseTime('from', args.from);
    if (toMs <= fromMs) throw new UsageError(`--to must be after --from (got ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()})`);
    const share = args.share === undefined ? 0.5 : Number(args.share);
    if (!(share > 0 && share <= 1)) throw new UsageError(`--share must be above 0 and at most 1 (got ${JSON.stringify(args.share)})`);
    const regions = [config.primaryRegion, ...config.standbyRegions];
    const dynamo = deps.dynamoClients ?? documentClients();
    const kinesis = deps.kinesisClients ?? kinesisClients();
    const store = new DynamoDbActiveRegionStore(dynamo, tables.activeRegionTableName);
    const names = streams ?? config.streams.map((s) => physicalStreamName(config.name, s.name));
    const results: ReconcileResult[] = [];
    let failed = false;
    for (const stream of names) {
      try {
        const openShards = await countOpenShards(kinesis(regions[0]), stream).catch(() => 1);
        const result = await runReconcile(
          { environment: config.name, streamName: stream, regions, window: { fromMs, toMs }, budget: writeBudget(Math.max(1, openShards), share), dryRun: args['dry-run'] === true },
          kinesisReconcileDeps(kinesis, stream, {
            activeRegions: store,
            clock,
            sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
            onProgress: args.json ? undefined : (e) => deps.stderr(`reconcile ${stream}: ${e.written}/${e.found} written`),
          }),
        );
        results.push(result);
      } catch (err) {
        if (!(err instanceof ReconcileError)) throw err;
        deps.stderr(`reconcile: ${err.message}`);
        failed = true;
      }
    }
    if (args.json) {
      deps.stdout(JSON.stringify({ window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, dryRun: args['dry-run'] === true, streams: results }, null, 2));
    } else {
      const lines = [`reconcile ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()}${args['dry-run'] ? ' (dry run)' : ''}`];
      for (const r of results) {
        const found = Object.entries(r.plan.found).map(([region, n]) => `${region} ${n}`).join(', ');
        const missing = Object.entries(r.plan.missingByRegion).map(([region, n]) => `${n} from ${region}`).join(', ');
        lines.push(
          `  ${r.streamName}: active in ${r.activeRegion}; records in the window: ${found}; missing from ${r.activeRegion}: ${r.plan.missing}${r.plan.missing > 0 ? ` (${missing})` : ''}; ` +
            (args['dry-run'] ? 'nothing written (dry run)' : `${r.write.written} written`),
        );
      }
      deps.stdout(lines.join('\n'));
    }
    return failed ? EXIT_FAILED : EXIT_OK;
  },
});

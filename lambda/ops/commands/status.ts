/**
 * `npm run ops -- status`: per stream, the active Region, epoch and every replica's view; per-shard checkpoints, the
 * low-water mark and lag; whether a failback would be allowed now. Reads only.
 */
import { documentClients, DynamoDbActiveRegionStore, DynamoDbCheckpointStore, kinesisClients, KinesisShardInspector, KinesisTrustedClock } from '../../failover/adapters';
import { status, StatusReport } from '../../failover/service';
import { settingsFromConfig } from '../../../lib/ops/settings';
import { EXIT_OK } from '../command-line';
import { COMMON_OPTIONS, defineCommand, iso, requireRegion, resolveTarget, secs } from '../context';

export const USAGE = `status [options]
  --region REGION             replica to read (default: the first reachable, primary first)`;

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'active Region, epoch and replicas per stream; per-shard checkpoints, low-water mark, lag',
  usage: USAGE,
  options: { ...COMMON_OPTIONS, region: { type: 'string' } },
  async run(args, deps) {
    const { config, streams, tables } = resolveTarget(args, deps);
    const dynamo = deps.dynamoClients ?? documentClients();
    const kinesis = deps.kinesisClients ?? kinesisClients();
    const settings = settingsFromConfig(config);
    const report = await status(
      settings,
      { streams, readRegion: requireRegion(config, 'region', args.region) },
      {
        activeRegions: new DynamoDbActiveRegionStore(dynamo, tables.activeRegionTableName),
        checkpoints: new DynamoDbCheckpointStore(dynamo, tables.checkpointTableName),
        shards: new KinesisShardInspector(kinesis),
        trustedClock: deps.trustedClock ?? new KinesisTrustedClock(kinesis, settings.streams[0], deps.clock),
        clock: deps.clock ?? Date.now,
      },
    );
    deps.stdout(args.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    return EXIT_OK;
  },
});

export function formatStatus(report: StatusReport): string {
  const [primary, ...standby] = report.regions;
  const lines = [`environment ${report.environment}: primary ${primary}, standby ${standby.join(', ')} (read from ${report.readRegion} at ${iso(report.generatedAt)})`];
  for (const s of report.streams) {
    if (!s.item) {
      lines.push(`${s.streamName}: no active-Region item (deploy the state stack)`);
      continue;
    }
    const it = s.item;
    lines.push(
      `${s.streamName}: ${it.state} in ${it.activeRegion}${it.targetRegion && it.state === 'DRAINING' ? ` → ${it.targetRegion}` : ''}, epoch ${it.epoch}, activated ${iso(it.activatedAt)}` +
        (it.reason ? ` (${it.reason})` : ''),
    );
    lines.push(
      `  replicas: ${s.replicas.map((r) => (r.error ? `${r.region} unreachable (${r.error})` : `${r.region} ${r.state ?? '-'} ${r.activeRegion ?? '-'} epoch ${r.epoch ?? '-'}`)).join(' | ')}` +
        (s.replicasAgree ? '' : '  ← replicas disagree'),
    );
    if (s.lowWaterMark) {
      const m = s.lowWaterMark;
      lines.push(
        `  low-water mark from ${it.activeRegion}: ${iso(m.timestamp)} (${m.basis}, ${m.shards} shard(s)` +
          (m.pendingShards.length > 0 ? `; unreplicated records in: ${m.pendingShards.join(', ')}` : '') +
          (m.uncheckpointedShards.length > 0 ? `; no checkpoint: ${m.uncheckpointedShards.join(', ')}` : '') +
          (m.unprobedShards.length > 0 && m.coverage === 'all-shards' ? `; not readable: ${m.unprobedShards.join(', ')}` : '') +
          `); resume timestamp if failed over now: ${iso(s.resumeTimestamp)}; current lag ${s.maxLagMs === undefined ? 'unknown' : secs(s.maxLagMs)}`,
      );
      if (m.warning !== undefined) lines.push(`  warning: ${m.warning}`);
    }
    for (const c of s.checkpoints) {
      lines.push(`  ${c.shardId}  seq ${c.sequenceNumber}  arrived ${iso(c.approximateArrivalTimestamp)}  lag ${secs(c.lagMs)}  age ${secs(c.ageMs)}`);
    }
    if (s.failback) {
      lines.push(s.failback.caughtUp ? `  failback to ${primary}: ready` : `  failback to ${primary}: not ready: ${s.failback.reasons.join('; ')}`);
    }
  }
  return lines.join('\n');
}

/**
 * `npm run ops -- replay --env E --stream S --from T1 --to T2`: writes the records that arrived in [T1, T2) back into
 * the stream in its ACTIVE Region (read from the active-Region table), from the archive (default) or from a stream
 * still holding them, in per-key order, within a share of the stream's write limit, resumable from a progress file.
 * See lambda/archive/replay.ts and the README, "Replay".
 */
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { documentClients, DynamoDbActiveRegionStore, kinesisClients } from '../../failover/adapters';
import type { ActiveRegionItem } from '../../shared/state-tables';
import {
  ArchiveReplaySource,
  countOpenShards,
  defaultProgressFile,
  FileProgressStore,
  KinesisReplayTarget,
  ReplayError,
  ReplayEvent,
  ReplayResult,
  ReplaySource,
  runReplay,
  StreamReplaySource,
} from '../../archive/replay';
import { ReplayRequestKey, writeBudget } from '../../archive/replay-plan';
import { S3ArchiveStore, s3ClientFor } from '../../archive/store';
import { physicalStreamName } from '../../../lib/config';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../command-line';
import { CliDeps, COMMON_OPTIONS, ConfigurationError, defineCommand, progressOutput, requireRegion, resolveTarget } from '../context';
import { Progress, startProgress } from '../progress';

export const REPLAY_OPTIONS = {
  ...COMMON_OPTIONS,
  stream: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  source: { type: 'string' },
  region: { type: 'string' },
  'dry-run': { type: 'boolean' },
  share: { type: 'string' },
  'archive-bucket': { type: 'string' },
  'progress-file': { type: 'string' },
  'slice-minutes': { type: 'string' },
  'lag-hours': { type: 'string' },
} as const;

export const USAGE = `replay --stream S --from T1 --to T2 [options]
  --stream S                  the stream (logical or physical name)
  --from T1, --to T2          the window [T1, T2) of arrival times: ISO-8601 (2026-12-02T07:00:00Z) or epoch ms
  --source archive|stream     read the window from the archive (default) or from a stream within its retention
  --region R                  Region whose archive or stream is read (default: the active Region)
  --share F                   share of the stream's write limit to use, 0-1 (default 0.5; producers keep the rest)
  --archive-bucket NAME       the archive bucket of --region (or REDSTREAM_ARCHIVE_BUCKET_<REGION>, e.g.
                              REDSTREAM_ARCHIVE_BUCKET_US_EAST_1: the Region stack's ArchiveBucketName output)
  --progress-file FILE        progress record (default .redstream/replays/replay-<env>-<stream>-<window>-….json);
                              the same command resumes an interrupted replay from it
  --slice-minutes N           read the window this many minutes at a time (default 60)
  --lag-hours N               archive hours listed after the window, for delivery lag (default 1)
  --dry-run                   count the window's records and show the budget; write nothing
  Records are written into the stream in its ACTIVE Region; a switch under way refuses. Duplicates are expected
  (records still in the stream, a call repeated after an interruption) and removed by the merge.`;

/** Parses an ISO-8601 time with a zone, or epoch milliseconds. */
export function parseTime(flag: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`--${flag} is required`);
  if (/^\d{10,16}$/.test(raw)) return Number(raw);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
    throw new UsageError(`--${flag} must be an ISO-8601 time with a zone such as 2026-12-02T07:00:00Z, or epoch milliseconds (got ${JSON.stringify(raw)})`);
  }
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new UsageError(`--${flag} is not a valid time (got ${JSON.stringify(raw)})`);
  return ms;
}

function positive(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`--${flag} must be a number above 0 and at most ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

/** The archive bucket of a Region: the flag, else `REDSTREAM_ARCHIVE_BUCKET_<REGION>`. */
export function archiveBucketFor(region: string, flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const variable = `REDSTREAM_ARCHIVE_BUCKET_${region.toUpperCase().replace(/-/g, '_')}`;
  const bucket = flag ?? env[variable];
  if (!bucket) throw new ConfigurationError(`no archive bucket for ${region}: pass --archive-bucket or set ${variable} (the region stack's ArchiveBucketName output)`);
  return bucket;
}

/** The stream's item from the first replica that answers, primary first. */
async function readActiveItem(store: DynamoDbActiveRegionStore, regions: readonly string[], stream: string): Promise<ActiveRegionItem> {
  const errors: string[] = [];
  for (const region of regions) {
    try {
      const item = await store.read(region, stream);
      if (item === undefined) throw new ConfigurationError(`${stream} has no active-Region item (deploy the state stack)`);
      return item;
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      errors.push(`${region}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new ReplayError(`no replica of the active-Region table answered (${errors.join('; ')})`);
}

const DUPLICATES_NOTE =
  'Duplicates are expected: records still in the stream and any call repeated after an interruption reach the warehouse twice; the merge keeps one row per event id.';

export const replayCommand = defineCommand({
  name: 'replay',
  summary: 'write a time window from the archive (or a stream) back into the active Region, in per-key order',
  usage: USAGE,
  options: REPLAY_OPTIONS,
  async run(args, deps) {
    const { config, tables } = resolveTarget(args, deps);
    if (args.stream === undefined) throw new UsageError('--stream is required');
    const logical = config.streams.find((s) => s.name === args.stream || physicalStreamName(config.name, s.name) === args.stream);
    if (!logical) throw new UsageError(`unknown stream ${JSON.stringify(args.stream)} in ${config.name} (streams: ${config.streams.map((s) => s.name).join(', ')})`);
    const stream = physicalStreamName(config.name, logical.name);
    const fromMs = parseTime('from', args.from);
    const toMs = parseTime('to', args.to);
    if (toMs <= fromMs) throw new UsageError(`--to must be after --from (got ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()})`);
    const sourceKind = args.source ?? 'archive';
    if (sourceKind !== 'archive' && sourceKind !== 'stream') throw new UsageError(`--source must be archive or stream (got ${JSON.stringify(sourceKind)})`);
    const share = positive('share', args.share, 0.5, 1);
    const sliceMs = positive('slice-minutes', args['slice-minutes'], 60, 24 * 60) * 60_000;
    const lagHours = Math.round(positive('lag-hours', args['lag-hours'] ?? '1', 1, 48));
    const regions = [config.primaryRegion, ...config.standbyRegions];
    requireRegion(config, 'region', args.region);

    const dynamo = deps.dynamoClients ?? documentClients();
    const kinesis = deps.kinesisClients ?? kinesisClients();
    const item = await readActiveItem(new DynamoDbActiveRegionStore(dynamo, tables.activeRegionTableName), regions, stream);
    if (item.state !== 'ACTIVE') {
      deps.stderr(`replay: ${stream} is ${item.state} (a switch to ${item.targetRegion ?? '?'} is under way); replay after it completes`);
      return EXIT_FAILED;
    }
    const targetRegion = item.activeRegion;
    const sourceRegion = args.region ?? targetRegion;
    const openShards = await countOpenShards(kinesis(targetRegion), stream);
    const budget = writeBudget(openShards, share);

    let source: ReplaySource;
    let s3: S3Client | undefined;
    if (sourceKind === 'archive') {
      s3 = s3ClientFor(sourceRegion, deps.env);
      source = new ArchiveReplaySource(new S3ArchiveStore(s3), archiveBucketFor(sourceRegion, args['archive-bucket'], deps.env), logical.name, stream, lagHours, sourceRegion);
    } else {
      source = new StreamReplaySource(kinesis(sourceRegion), stream, sourceRegion);
    }
    const request: ReplayRequestKey = { environment: config.name, stream, fromMs, toMs, source: sourceKind, sourceRegion, targetRegion };
    const progressFile = args['progress-file'] ?? defaultProgressFile(path.join('.redstream', 'replays'), request);
    const target = new KinesisReplayTarget(kinesis(targetRegion), stream, targetRegion);
    const clock = deps.clock ?? Date.now;
    const bar = new ProgressLine(deps, Boolean(args.json));
    if (!args.json) {
      deps.stderr(
        `replay ${args['dry-run'] ? '(dry run) ' : ''}${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()} from ${source.description} into ${target.description} (active, epoch ${item.epoch}); ` +
          `budget ${Math.round(budget.recordsPerSecond)} records/s and ${(budget.bytesPerSecond / 1048576).toFixed(2)} MiB/s (${Math.round(share * 100)} % of ${openShards} open shard(s)); progress ${progressFile}`,
      );
    }
    let result: ReplayResult;
    try {
      result = await runReplay(
        { request, budget, sliceMs, dryRun: args['dry-run'] === true, onProgress: (e) => bar.update(e) },
        { source, target, progress: new FileProgressStore(progressFile), clock, sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) },
      );
    } catch (err) {
      bar.end();
      if (err instanceof ReplayError) {
        deps.stderr(`replay: ${err.message}`);
        return EXIT_FAILED;
      }
      throw err;
    } finally {
      s3?.destroy();
    }
    bar.end();
    const report = { ...result, stream, window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, source: source.description, target: target.description, progressFile, note: DUPLICATES_NOTE };
    if (args.json) {
      deps.stdout(JSON.stringify(report, null, 2));
    } else {
      const rate = result.recordsPerSecond;
      deps.stdout(
        [
          `${result.outcome}: ${result.found} record(s) in the window; ${result.written} written in ${(result.durationMs / 1000).toFixed(1)} s` +
            (result.skipped > 0 ? `, ${result.skipped} already written by an earlier run` : '') +
            (result.retriedEntries > 0 ? `, ${result.retriedEntries} entries retried` : ''),
          `throughput ${rate.toFixed(0)} records/s (${((100 * rate) / (budget.recordsPerSecond / share)).toFixed(1)} % of the stream's ${openShards * 1000} records/s write limit)`,
          DUPLICATES_NOTE,
        ].join('\n'),
      );
    }
    return EXIT_OK;
  },
});

/**
 * Progress through lambda/ops/progress.ts: a bar with the time left on a terminal, a line per 10 % otherwise; one bar
 * per slice of the window (a slice's size is known once it is read); nothing with --json.
 */
class ProgressLine {
  private bar: Progress | undefined;
  private slice = -1;
  private sliceBase = 0;
  private foundBefore = 0;

  constructor(
    private readonly deps: CliDeps,
    private readonly quiet: boolean,
  ) {}

  update(e: ReplayEvent): void {
    if (this.quiet) return;
    if (e.slice.index !== this.slice) {
      this.bar?.finish();
      this.slice = e.slice.index;
      this.sliceBase = e.written + e.skipped;
      const total = e.found - this.foundBefore;
      this.foundBefore = e.found;
      const label = `replaying slice ${e.slice.index + 1}/${e.slice.count} from ${new Date(e.slice.fromMs).toISOString()}`;
      this.bar = total > 0 ? startProgress({ ...progressOutput(this.deps), label, total, unit: 'records' }) : undefined;
    }
    this.bar?.update(e.written + e.skipped - this.sliceBase);
  }

  end(): void {
    this.bar?.finish();
    this.bar = undefined;
  }
}

/** `[#####-----] 48 % 1200/2500 records, slice 2/3, 410 records/s, ETA 3 s` (ETA from the slices read so far). */
export function formatReplayProgress(e: ReplayEvent): string {
  const done = e.written + e.skipped;
  const expected = e.slice.count > 0 ? (e.found / (e.slice.index + 1)) * e.slice.count : e.found;
  const fraction = expected > 0 ? Math.min(1, done / expected) : 1;
  const width = 20;
  const filled = Math.round(fraction * width);
  const rate = e.elapsedMs > 0 ? (e.written * 1000) / e.elapsedMs : 0;
  const eta = rate > 0 ? Math.max(0, (expected - done) / rate) : undefined;
  return (
    `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(fraction * 100)} % ${done}/${Math.round(expected)} records, ` +
    `slice ${e.slice.index + 1}/${e.slice.count}, ${rate.toFixed(0)} records/s, ETA ${eta === undefined ? '?' : `${eta.toFixed(0)} s`}`
  );
}

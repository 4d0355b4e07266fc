/**
 * What `ops failover` and `ops failback` share: their options, the wiring of the failover service to AWS, and the
 * result's text form. Each command module only picks the action.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  documentClients,
  kinesisClients,
  LambdaReservedConcurrency,
  perRegion,
  regionOfArn,
  SnsResultPublisher,
} from '../failover/adapters';
import { LowWaterMark } from '../failover/decisions';
import { dynamoDbFailoverDeps } from '../failover/api';
import { failback, failover, FailoverDeps, SwitchResult } from '../failover/service';
import { settingsFromConfig } from '../../lib/ops/settings';
import { EXIT_FAILED, EXIT_OK, OptionValues, UsageError } from './command-line';
import { CliDeps, COMMON_OPTIONS, iso, progressOutput, requireRegion, resolveTarget } from './context';
import { countdownSleep } from './progress';

export const SWITCH_OPTIONS = {
  ...COMMON_OPTIONS,
  to: { type: 'string' },
  from: { type: 'string' },
  reason: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  'topic-arn': { type: 'string' },
  'propagation-timeout': { type: 'string' },
} as const;

export const SWITCH_USAGE = `  --from REGION               the Region you expect to be active; refused if another is
  --reason TEXT               recorded in the table and the published result
  --dry-run                   show what would happen; write nothing
  --topic-arn ARN             publish the result to this SNS topic (or REDSTREAM_RESULT_TOPIC_ARN)
  --propagation-timeout SECS  how long to wait for every replica to show the drain (default 120)`;

/** Runs a failover or failback with the options of {@link SWITCH_OPTIONS}; resolves to the exit code. */
export async function runSwitch(action: 'failover' | 'failback', args: OptionValues<typeof SWITCH_OPTIONS>, deps: CliDeps): Promise<number> {
  const { config, streams, tables } = resolveTarget(args, deps);
  let propagationTimeoutMs: number | undefined;
  const pt = args['propagation-timeout'];
  if (pt !== undefined) {
    if (!/^\d+$/.test(pt) || Number(pt) < 1) throw new UsageError(`--propagation-timeout must be a whole number of seconds ≥ 1 (got ${JSON.stringify(pt)})`);
    propagationTimeoutMs = Number(pt) * 1000;
  }
  const options = {
    targetRegion: requireRegion(config, 'to', args.to),
    expectedRegion: requireRegion(config, 'from', args.from),
    streams,
    reason: args.reason,
    force: args.force === true,
    dryRun: args['dry-run'] === true,
  };
  if (action === 'failover' && options.targetRegion === undefined) throw new UsageError('failover needs --to REGION');

  const settings = settingsFromConfig(config, { propagationTimeoutMs });
  const dynamo = deps.dynamoClients ?? documentClients();
  const topicArn = args['topic-arn'] ?? deps.env.REDSTREAM_RESULT_TOPIC_ARN;
  const snsClients = deps.snsClients ?? perRegion((region) => new SNSClient({ region }));
  const kinesis = deps.kinesisClients ?? kinesisClients();
  const lambdaClients = deps.lambdaClients ?? perRegion((region) => new LambdaClient({ region }));
  const switchDeps: FailoverDeps = {
    ...dynamoDbFailoverDeps(tables, {
      clients: dynamo,
      kinesisClients: kinesis,
      trustedClock: deps.trustedClock,
      trustedClockStream: settings.streams[0],
      lambdaClients,
      concurrency: settings.replicatorConcurrency ? new LambdaReservedConcurrency(lambdaClients) : undefined,
      publisher: topicArn ? new SnsResultPublisher(snsClients(regionOfArn(topicArn)), topicArn) : undefined,
      clock: deps.clock,
      // The wait for in-flight forwarding (about two minutes by default) shows a countdown; replica polls are too short to.
      sleep: countdownSleep(deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))), progressOutput(deps), () => 'waiting'),
      onProgress: (line) => deps.stderr(line),
    }),
    newSwitchId: deps.newSwitchId,
  };
  const result = action === 'failover' ? await failover(settings, options, switchDeps) : await failback(settings, options, switchDeps);
  deps.stdout(args.json ? JSON.stringify(result, null, 2) : formatSwitch(result));
  for (const w of result.warnings) deps.stderr(`warning: ${w}`);
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

export function formatSwitch(r: SwitchResult): string {
  const verdict = r.dryRun ? (r.ok ? 'DRY RUN, would succeed' : 'DRY RUN, would not succeed') : r.ok ? 'OK' : 'NOT DONE';
  const lines = [`${r.action} to ${r.targetRegion} (${r.environment}, switch ${r.switchId}): ${verdict}`];
  for (const s of r.streams) {
    lines.push(`  ${s.streamName}: ${s.outcome}: ${s.message}`);
    if (s.outcome === 'switched') lines.push(`    activated at ${iso(s.activatedAt)}`);
    if (s.resumeTimestamp !== undefined && s.lowWaterMark) {
      lines.push(`    producers and consumers resume from ${iso(s.resumeTimestamp)} (${describeMark(s.lowWaterMark, s.fromRegion)})`);
      if (s.lowWaterMark.coverage === 'checkpointed-only') {
        lines.push(`    WARNING: checkpointed shards only: the shards of ${s.fromRegion ?? 'the old Region'} could not be listed (see the warning)`);
      }
    }
  }
  for (const m of r.concurrencyMoves) lines.push(`  replicator ${m.functionName} in ${m.region}: reserved concurrency ${m.reservedConcurrency ?? 'unreserved'}`);
  return lines.join('\n');
}

/** Where a resume timestamp comes from, for the line that prints it. */
function describeMark(mark: LowWaterMark, source: string | undefined): string {
  const t = `${iso(mark.timestamp)} minus the safety margin`;
  const from = source ?? 'the old Region';
  switch (mark.basis) {
    case 'unreplicated-record':
      return `oldest unreplicated record of ${from} (shards ${mark.pendingShards.join(', ')}) ${t}`;
    case 'checkpoint':
      return `checkpoint of a shard of ${from} that could not be read (${mark.unprobedShards.join(', ')}) ${t}`;
    case 'activation':
      return `activation time of ${from}: a shard without a checkpoint could not be read ${t}`;
    case 'observed':
      return `nothing of ${from} was unreplicated when it was read: ${t}`;
  }
}

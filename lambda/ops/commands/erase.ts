/**
 * `npm run ops -- erase --env E --subject ID`: erases a subject from every warehouse's events and rejects and from every
 * Region's archive, suppresses it for later merges, audits the request (hash only), and reports what cannot be erased
 * at once and when it will be. `erase --finish` is the scheduled step that completes due erasures (no subject needed).
 * See lambda/archive/erase.ts and the README, "Erasure".
 */
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { erase, ErasureReport, ErasureTargets, ErasureWarehouse, finishErasures, FinishReport } from '../../archive/erase';
import { BucketRoutedArchiveStore, S3ArchiveStore, s3ClientFor } from '../../archive/store';
import { DEFAULT_SUBJECT_PATHS, SubjectError } from '../../archive/subject';
import { DataApiErasureWarehouse } from '../../archive/data-api-warehouse';
import { allRegions, EnvironmentConfig, physicalStreamName, warehouseRegions } from '../../../lib/config';
import { warehouseName } from '../../../lib/names';
import { renderStreamingViews } from '../../../lib/sql/render';
import { EXIT_OK, OptionValues, UsageError } from '../command-line';
import { CliDeps, COMMON_OPTIONS, defineCommand, resolveTarget } from '../context';
import { archiveBucketFor } from './replay';

export const ERASE_OPTIONS = {
  ...COMMON_OPTIONS,
  subject: { type: 'string' },
  'subject-paths': { type: 'string' },
  finish: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'secret-arn': { type: 'string' },
  schema: { type: 'string' },
} as const;

export const USAGE = `erase --subject ID [options] | erase --finish [options]
  --subject ID                the subject to erase (its value at a subject path)
  --subject-paths A,B         JSON paths that name the subject (default userId,anonymousId; the merge's subjectPaths)
  --dry-run                   count what would be removed; change nothing
  --finish                    the scheduled step (deployed in every warehouse Region, warehouse.erasureFinishIntervalHours):
                              complete the erasures whose streams have expired; recreates the streaming views
                              (pass the admin --secret-arn: the views' owner must drop and create them)
  --secret-arn ARN            Data API secret of the warehouses (default: your IAM identity; --finish needs the admin secret)
  --schema NAME               warehouse schema (default redstream)
  Archive buckets: REDSTREAM_ARCHIVE_BUCKET_<REGION> for every Region (the region stacks' ArchiveBucketName output).
  Your identity needs on each: s3:ListBucket, s3:ListBucketVersions, s3:GetObject, s3:GetObjectVersion, s3:PutObject,
  s3:DeleteObject, s3:DeleteObjectVersion, and kms:Decrypt and kms:GenerateDataKey on the archive key.
  The subject is never written anywhere: statements and the audit carry its SHA-256 only.`;

/** Where the erasure reaches: built from the config for AWS, or given by a test or the local demo. */
export interface EraseFactories {
  warehouses(config: EnvironmentConfig, schema: string): ErasureWarehouse[];
  archives(config: EnvironmentConfig): Pick<ErasureTargets, 'archives' | 'store'> & { close(): void };
}

/** Runs the command with explicit factories (the command uses {@link awsFactories}). */
export async function runErase(args: OptionValues<typeof ERASE_OPTIONS>, deps: CliDeps, factories: EraseFactories): Promise<number> {
  const { config } = resolveTarget(args, deps);
  const paths = (args['subject-paths'] ?? DEFAULT_SUBJECT_PATHS.join(',')).split(',').map((p) => p.trim());
  const schema = args.schema ?? 'redstream';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new UsageError(`--schema must be a lower-case SQL identifier (got ${JSON.stringify(schema)})`);
  if (args.finish && args.subject !== undefined) throw new UsageError('--finish works from the audit table; it takes no --subject');
  if (!args.finish && args.subject === undefined) throw new UsageError('--subject is required (or --finish for the scheduled step)');
  const archives = factories.archives(config);
  const targets: ErasureTargets = {
    warehouses: factories.warehouses(config, schema),
    ...archives,
    streams: config.streams.map((s) => ({ name: physicalStreamName(config.name, s.name), retentionHours: s.retentionHours })),
    // The margin before the request from which the scheduled step selects archive objects by LastModified: Firehose's
    // buffering interval (at most 900 s) and a quarter of an hour more.
    archiveDelayMs: (config.archive.bufferingIntervalSeconds + 900) * 1000,
  };
  const clock = deps.clock ?? Date.now;
  try {
    if (args.finish) {
      const report = await finishErasures(targets, paths, { clock, onProgress: (l) => deps.stderr(l) });
      deps.stdout(args.json ? JSON.stringify(report, null, 2) : formatFinish(report));
      return EXIT_OK;
    }
    let report: ErasureReport;
    try {
      report = await erase({ subject: args.subject!, paths, dryRun: args['dry-run'] === true }, targets, { clock, onProgress: (l) => deps.stderr(l) });
    } catch (err) {
      if (err instanceof SubjectError) throw new UsageError(err.message);
      throw err;
    }
    deps.stdout(args.json ? JSON.stringify(report, null, 2) : formatErasure(report));
    return EXIT_OK;
  } finally {
    archives.close();
  }
}

export const eraseCommand = defineCommand({
  name: 'erase',
  summary: 'erase a subject from events, rejects and archive; suppress and audit it (--finish: the scheduled step)',
  usage: USAGE,
  options: ERASE_OPTIONS,
  run: (args, deps) => runErase(args, deps, deps.eraseFactories ?? awsFactories(args['secret-arn'], deps)),
});

export function formatErasure(r: ErasureReport): string {
  const verb = r.dryRun ? 'would be removed' : 'removed';
  const lines = [`erasure ${r.requestId} (subject sha256 ${r.subjectHash})${r.dryRun ? ' — dry run, nothing changed' : ''}: ${(r.durationMs / 1000).toFixed(1)} s`];
  for (const w of r.warehouses) lines.push(`  warehouse ${w.name}: ${w.eventsDeleted} event(s), ${w.rejectsDeleted} reject(s) ${verb}`);
  lines.push(
    `  archive: ${r.archive.recordsRemoved} record(s) ${verb} from ${r.archive.objectsScanned} object(s) scanned; ` +
      `${r.archive.objectsRewritten} rewritten, ${r.archive.objectsDeleted} deleted, ${r.archive.versionsDeleted} old version(s) deleted` +
      // Printed only when there are some: most erasures meet no expired object.
      (r.archive.versionsRewritten > 0 ? `, ${r.archive.versionsRewritten} of them (of expired objects) first written back without the records, kept noncurrent` : ''),
  );
  lines.push(...storageClassLines(r.archive.byStorageClass, r.dryRun));
  lines.push('  not erased yet:');
  for (const p of r.pending) lines.push(`    ${p.place}: gone by ${p.clearAt} (${p.how})`);
  if (!r.dryRun) {
    lines.push(
      '  the subject is suppressed: a replay or a re-send of its records is dropped by the merge. The scheduled step of each warehouse Region ' +
        'finishes the erasure when it is due (by hand: `npm run ops -- erase --finish`).',
    );
  }
  return lines.join('\n');
}

/**
 * Objects per storage class, and what a rewrite costs outside STANDARD. S3 Glacier Instant Retrieval (the archive's
 * class after `coldStorageAfterDays`) bills every object at least 90 days: the rewritten object is billed 90 days from
 * the rewrite, and deleting the old version before its 90 days bills the days it had left.
 */
export function storageClassLines(byClass: Readonly<Record<string, number>>, dryRun: boolean): string[] {
  const classes = Object.entries(byClass).sort(([a], [b]) => (a < b ? -1 : 1));
  if (classes.length === 0) return [];
  const lines = [`  objects ${dryRun ? 'to rewrite' : 'rewritten or deleted'} by storage class: ${classes.map(([c, n]) => `${c} ${n}`).join(', ')}`];
  const cold = classes.filter(([c]) => c !== 'STANDARD');
  if (cold.length > 0) {
    lines.push(
      `  ${cold.map(([c, n]) => `${n} in ${c}`).join(', ')}: minimum storage duration charges apply (S3 Glacier Instant Retrieval: the rewritten object is ` +
        'billed at least 90 days, and each old version deleted before its 90 days is billed the days it had left). See the README, "Erasure".',
    );
  }
  return lines;
}

export function formatFinish(r: FinishReport): string {
  const lines = [`finished ${r.finished.length} erasure(s), ${r.waiting.length} waiting`];
  if (r.streamingViewsRestored > 0) {
    lines.push(`  ${r.streamingViewsRestored} streaming view(s) were missing (a run that ended between a recreation's DROP and CREATE, or dropped by hand) and were created again`);
  }
  for (const w of r.waiting) lines.push(`  ${w.requestId} (${w.warehouse}): due ${w.dueAt}`);
  if (r.finished.length > 0) {
    lines.push(
      `  removed ${r.eventsDeleted} event(s), ${r.rejectsDeleted} reject(s), ${r.archive.recordsRemoved} late archive record(s); ` +
        `${r.streamingViewsRecreated} streaming view(s) recreated${r.streamingViewRowsDeleted === undefined ? '' : ` (${r.streamingViewRowsDeleted} row(s) gone with them)`}`,
    );
    lines.push(...storageClassLines(r.archive.byStorageClass, false));
  }
  return lines.join('\n');
}

/** The warehouses through the Redshift Data API (one session each) and the archive buckets through S3. */
export function awsFactories(secretArn: string | undefined, deps: CliDeps): EraseFactories {
  return {
    warehouses: (config, schema) =>
      warehouseRegions(config).map(
        (region) =>
          new DataApiErasureWarehouse(new RedshiftDataClient({ region }), region, { workgroupName: warehouseName(config.name), database: config.warehouse.databaseName, secretArn }, schema, {
            // The same statements the SQL bootstrap of the warehouse stack creates the views with.
            streamingViews: renderStreamingViews({ region, schema, streams: config.streams.map((s) => ({ name: s.name, physicalName: physicalStreamName(config.name, s.name) })) }),
          }),
      ),
    archives: (config) => {
      const regions = allRegions(config);
      const clients = regions.map((region) => s3ClientFor(region, deps.env));
      const buckets = regions.map((region) => archiveBucketFor(region, undefined, deps.env));
      return {
        archives: regions.map((region, i) => ({ region, bucket: buckets[i], prefixes: [...config.streams.map((s) => `${s.name}/`), 'errors/'] })),
        // Each Region's bucket lives in that Region: every call goes to that Region's client.
        store: new BucketRoutedArchiveStore(new Map(buckets.map((b, i) => [b, new S3ArchiveStore(clients[i])]))),
        close: () => clients.forEach((c) => c.destroy()),
      };
    },
  };
}

export { DataApiErasureWarehouse };

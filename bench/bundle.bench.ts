/**
 * Replicator bundle benchmark (not part of npm test): `npm run bench:bundle [-- --samples N]`.
 *
 * 1. The deployed bundle: synthesizes a StreamReplicator (lib/replicator.ts) with its own NodejsFunction bundling
 *    (local esbuild, exactly what `cdk deploy` uploads) and reports index.mjs's size.
 * 2. What is in it: the same entry built with the same esbuild options and a metafile, bytes per package; checked
 *    against the deployed size, so the analysis describes the real artifact.
 * 3. Module initialization (Lambda's INIT for this code): a fresh `node` process per sample imports the bundle with the
 *    function's environment, timed around the import; against a bundle with only the SDK clients the handler builds
 *    (same options), in the same run, interleaved; with and without --enable-source-maps (the function sets it).
 *    Also the bundle as it was with no external module (`externalModules: []`), for the before/after.
 *
 * Sizes are exact; times are this machine's, so compare ratios.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { BuildOptions, Metafile } from 'esbuild';
import { StreamReplicator } from '../lib/replicator';

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'lambda', 'replicator', 'index.ts');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const esbuild = require('esbuild') as typeof import('esbuild');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench:bundle: --${name} must be a whole number of 1 or more (got ${JSON.stringify(process.argv[i + 1])})\n`);
    process.exit(2);
  }
  return v;
}
const SAMPLES = arg('samples', 15);


/** The deployed index.mjs: synthesize the construct and read the asset NodejsFunction bundled. */
function deployedBundle(outdir: string): { file: string; externals: string[] } {
  const app = new App({ outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'BundleBench', { env: { account: '111111111111', region: 'us-east-1' } });
  const stream = new kinesis.Stream(stack, 'Stream', { streamName: 'redstream-bench-events', encryption: kinesis.StreamEncryption.MANAGED });
  new StreamReplicator(stack, 'Replicator', {
    streams: [{ stream, consumer: new kinesis.StreamConsumer(stack, 'Consumer', { stream, streamConsumerName: 'redstream-replicator' }), physicalStreamName: 'redstream-bench-events' }],
    targetRegions: ['us-west-2'],
    checkpointTable: dynamodb.TableV2.fromTableName(stack, 'Checkpoints', 'redstream-bench-checkpoints'),
    activeRegionTable: dynamodb.TableV2.fromTableName(stack, 'ActiveRegion', 'redstream-bench-active-region'),
    targetStreamKeyAlias: 'alias/redstream-bench-streams',
  });
  app.synth();
  const assets = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.')).map((d) => path.join(outdir, d));
  const dir = assets.find((d) => fs.existsSync(path.join(d, 'index.mjs')));
  if (!dir) throw new Error(`no asset with index.mjs in ${outdir}`);
  const file = path.join(dir, 'index.mjs');
  const externals = [...new Set([...fs.readFileSync(file, 'utf8').matchAll(/import\("(@[^"]+)"\)/g)].map((m) => m[1]))].sort();
  return { file, externals };
}

/** esbuild options equal to lib/replicator.ts's NodejsFunction bundling (checked against the deployed size). */
function mirrorOptions(external: string[]): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    external,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'silent',
    metafile: true,
  };
}

async function build(entry: string, outfile: string, external: string[], nodePaths: string[] = []): Promise<{ bytes: number; mapBytes: number; metafile: Metafile }> {
  const result = await esbuild.build({ ...mirrorOptions(external), entryPoints: [entry], outfile, nodePaths });
  return { bytes: fs.statSync(outfile).size, mapBytes: fs.statSync(`${outfile}.map`).size, metafile: result.metafile! };
}

function byPackage(metafile: Metafile): Array<[string, number]> {
  const out = Object.values(metafile.outputs).find((o) => o.entryPoint);
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(out?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1] : input.split('/').slice(0, 2).join('/');
    sums.set(key, (sums.get(key) ?? 0) + bytesInOutput);
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
}

/** The SDK clients the handler builds at module scope, and nothing else. */
const SDK_ONLY_ENTRY = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
const region = process.env.AWS_REGION;
export const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
export const kinesis = (process.env.TARGET_REGIONS ?? '').split(',').map((r) => new KinesisClient({ region: r, requestHandler: new NodeHttpHandler({ connectionTimeout: 3000 }) }));
export const handler = async () => ({ batchItemFailures: [] });
`;

/** The function's environment as Lambda sets it (lib/replicator.ts and the runtime's reserved variables). */
const FUNCTION_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'redstream-bench-replicator',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  TARGET_REGIONS: 'us-west-2',
  CHECKPOINT_TABLE_NAME: 'redstream-bench-checkpoints',
  ACTIVE_REGION_TABLE_NAME: 'redstream-bench-active-region',
  ACTIVE_REGION_CACHE_TTL_MS: '5000',
  DEADLINE_SAFETY_MARGIN_MS: '5000',
  POWERTOOLS_SERVICE_NAME: 'redstream-replicator',
  POWERTOOLS_METRICS_NAMESPACE: 'Redstream',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * Wall and CPU milliseconds to import `file` in a fresh process (the handler is checked to be exported). CPU time
 * (user + system of the importing process) is the steadier figure on a shared machine; wall time is what INIT bills.
 */
function initMs(file: string, sourceMaps: boolean): { wall: number; cpu: number } {
  const probe =
    `const c0 = process.cpuUsage(); const t0 = performance.now(); const m = await import(${JSON.stringify(file)}); const t = performance.now() - t0; const c = process.cpuUsage(c0);` +
    ` if (typeof m.handler !== 'function') throw new Error('no handler'); process.stdout.write(JSON.stringify({ wall: t, cpu: (c.user + c.system) / 1000 }));`;
  const r = spawnSync(process.execPath, [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', probe], { env: FUNCTION_ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`init of ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { wall: number; cpu: number };
}

/**
 * The deployed bundle resolves credentials from the environment, as in Lambda: a call to a closed local port must
 * fail to connect, not for want of credentials (which would mean the chain reached a provider left external).
 */
function checkCredentialsFromEnvironment(file: string): string {
  const probe = `
    const { handler } = await import(${JSON.stringify(file)});
    const record = { eventSource: 'aws:kinesis', eventID: 'shardId-000000000000:1', eventSourceARN: 'arn:aws:kinesis:us-east-1:111111111111:stream/redstream-bench-events', awsRegion: 'us-east-1',
      kinesis: { partitionKey: 'k', sequenceNumber: '1', data: 'eA==', approximateArrivalTimestamp: Date.now() / 1000, kinesisSchemaVersion: '1.0' } };
    try { await handler({ Records: [record] }, { getRemainingTimeInMillis: () => 10000, functionName: 'x', awsRequestId: 'r' }); process.stdout.write('no error'); }
    catch (err) { process.stdout.write(String(err && err.name) + ': ' + String(err && err.message).slice(0, 160)); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    env: { ...FUNCTION_ENV, AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.stdout.trim() || r.stderr.trim().split('\n')[0];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-bundle-'));
  try {
    const deployed = deployedBundle(path.join(work, 'cdk.out'));
    const deployedBytes = fs.statSync(deployed.file).size;
    const current = await build(ENTRY, path.join(work, 'current', 'index.mjs'), deployed.externals);
    const before = await build(ENTRY, path.join(work, 'before', 'index.mjs'), []);
    const sdkEntry = path.join(work, 'sdk-only.ts');
    fs.writeFileSync(sdkEntry, SDK_ONLY_ENTRY);
    // The SDK-only entry lives outside the project: resolve its packages from the project's node_modules.
    const sdkBytes = (await build(sdkEntry, path.join(work, 'sdk', 'index.mjs'), deployed.externals, [path.join(ROOT, 'node_modules')])).bytes;
    const sdkBeforeBytes = (await build(sdkEntry, path.join(work, 'sdk-before', 'index.mjs'), [], [path.join(ROOT, 'node_modules')])).bytes;

    const out: string[] = [];
    out.push('Replicator bundle (lambda/replicator/index.ts, bundled as lib/replicator.ts bundles it)', '');
    out.push(`  deployed index.mjs (cdk synth)         ${kB(deployedBytes)}   externals: ${deployed.externals.join(', ') || 'none'}`);
    out.push(`  mirror build (same esbuild options)    ${kB(current.bytes)}   ${current.bytes === deployedBytes ? 'identical size to the deployed bundle' : `DIFFERS from the deployed bundle by ${current.bytes - deployedBytes} bytes`}`);
    out.push(`  before (externalModules: [])           ${kB(before.bytes)}   (${((1 - current.bytes / before.bytes) * 100).toFixed(0)} % larger than now)`);
    out.push(`  SDK clients only (same options)        ${kB(sdkBytes)}   (before: ${kB(sdkBeforeBytes)})`);
    out.push(`  source map                             ${kB(current.mapBytes)}   (before: ${kB(before.mapBytes)})`, '');
    out.push('  What is in the deployed bundle (bytes in output, by package):');
    for (const [pkg, bytes] of byPackage(current.metafile).slice(0, 16)) out.push(`    ${kB(bytes).padStart(9)}  ${pkg}`);
    const removed = new Map(byPackage(before.metafile));
    for (const [pkg] of byPackage(current.metafile)) removed.delete(pkg);
    out.push('  Only in the before bundle (now loaded from the runtime, lazily, never with credentials in the environment):');
    for (const [pkg, bytes] of [...removed].sort((a, b) => b[1] - a[1])) out.push(`    ${kB(bytes).padStart(9)}  ${pkg}`);
    out.push('', `  Credentials from the environment (call to a closed port): ${checkCredentialsFromEnvironment(deployed.file)}`, '');
    process.stdout.write(out.join('\n') + '\n');

    const variants = [
      { name: 'replicator (deployed)', file: deployed.file },
      { name: 'replicator (before)', file: path.join(work, 'before', 'index.mjs') },
      { name: 'SDK clients only (deployed options)', file: path.join(work, 'sdk', 'index.mjs') },
      { name: 'SDK clients only (before options)', file: path.join(work, 'sdk-before', 'index.mjs') },
    ];
    const rows: string[] = [`Module initialization, ${SAMPLES} fresh processes per variant, interleaved; median ms (wall / CPU):`];
    type Series = { wall: number[]; cpu: number[] };
    const results = new Map<string, { plain: Series; maps: Series }>(variants.map((v) => [v.name, { plain: { wall: [], cpu: [] }, maps: { wall: [], cpu: [] } }]));
    for (const v of variants) initMs(v.file, false); // warm the file cache
    for (let i = 0; i < SAMPLES; i++) {
      for (const v of variants) {
        for (const [key, maps] of [['plain', false], ['maps', true]] as const) {
          const t = initMs(v.file, maps);
          results.get(v.name)![key].wall.push(t.wall);
          results.get(v.name)![key].cpu.push(t.cpu);
        }
      }
    }
    const fmtSeries = (s: Series): string => `${median(s.wall).toFixed(0).padStart(5)} / ${median(s.cpu).toFixed(0).padStart(4)}  (p90 wall ${p90(s.wall).toFixed(0)})`;
    rows.push(`  ${''.padEnd(38)} ${'without source maps'.padEnd(30)} with --enable-source-maps (as deployed)`);
    for (const v of variants) {
      const r = results.get(v.name)!;
      rows.push(`  ${v.name.padEnd(38)} ${fmtSeries(r.plain).padEnd(30)} ${fmtSeries(r.maps)}`);
    }
    const m = (name: string, key: 'plain' | 'maps', what: 'wall' | 'cpu'): number => median(results.get(name)![key][what]);
    const ratio = (a: string, b: string, key: 'plain' | 'maps'): string => `${(m(a, key, 'wall') / m(b, key, 'wall')).toFixed(2)} wall, ${(m(a, key, 'cpu') / m(b, key, 'cpu')).toFixed(2)} CPU`;
    rows.push(
      `  replicator / SDK clients only, deployed options:  ${ratio('replicator (deployed)', 'SDK clients only (deployed options)', 'maps')} (source maps on); ${ratio('replicator (deployed)', 'SDK clients only (deployed options)', 'plain')} (off)`,
      `  replicator / SDK clients only, before options:    ${ratio('replicator (before)', 'SDK clients only (before options)', 'maps')} (source maps on); ${ratio('replicator (before)', 'SDK clients only (before options)', 'plain')} (off)`,
      `  replicator deployed / before:                     ${ratio('replicator (deployed)', 'replicator (before)', 'maps')} (source maps on); ${ratio('replicator (deployed)', 'replicator (before)', 'plain')} (off)`,
      `  --enable-source-maps / without, deployed:         ${(m('replicator (deployed)', 'maps', 'wall') / m('replicator (deployed)', 'plain', 'wall')).toFixed(2)} wall, ${(m('replicator (deployed)', 'maps', 'cpu') / m('replicator (deployed)', 'plain', 'cpu')).toFixed(2)} CPU`,
    );
    process.stdout.write(rows.join('\n') + '\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:bundle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

/** The app entry as `cdk synth` runs it: configuration errors fail synthesis with one clear line. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY } from '../lib/config';
import { cdkContext } from './helpers/cdk-app';

const ROOT = path.resolve(__dirname, '..');
const SYNTH_TIMEOUT_MS = 280_000;

/** For the failing cases: bundling (seconds per function) would only delay the error under test. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synth(context: Record<string, unknown>): { status: number | null; stdout: string; stderr: string; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-app-'));
  // The CDK CLI hands context and the output directory to the app through these variables.
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
    // A whole synth of dev bundles every function: under a loaded CI machine it can pass two minutes.
    timeout: SYNTH_TIMEOUT_MS,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, outdir };
}

describe('bin/app.ts', () => {
  test('fails synth on a bad configuration, naming the field and the fix', () => {
    const context = cdkContext();
    const environments = context[ENVIRONMENTS_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
    const broken = { ...context, [ENVIRONMENTS_CONTEXT_KEY]: { ...environments, dev: { ...environments.dev, standbyRegions: ['us-east-1'] } } };
    const { status, stderr } = synth({ ...broken, ...NO_BUNDLING });
    expect(status).toBe(1);
    expect(stderr.trim().split('\n').filter((l) => l.startsWith('Invalid Redstream configuration'))).toEqual([
      `Invalid Redstream configuration: ${ENVIRONMENTS_CONTEXT_KEY}.dev.standbyRegions[0]: "us-east-1" equals primaryRegion; fix: choose a standby Region different from the primary`,
    ]);
  });

  test('fails synth when a warehouse Region has no AZ IDs (a check the stacks make), with the same one line', () => {
    const context = cdkContext();
    const environments = context[ENVIRONMENTS_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
    const dev = environments.dev as { warehouse?: Record<string, unknown> };
    const broken = { ...context, env: 'dev', [ENVIRONMENTS_CONTEXT_KEY]: { ...environments, dev: { ...dev, warehouse: { ...dev.warehouse, availabilityZoneIds: {} } } } };
    const { status, stderr } = synth({ ...broken, ...NO_BUNDLING });
    expect(status).toBe(1);
    expect(stderr.trim().split('\n').filter((l) => l.startsWith('Invalid Redstream configuration'))).toEqual([
      expect.stringMatching(/^Invalid Redstream configuration: redstream:environments\.dev\.warehouse\.availabilityZoneIds\.us-east-1: missing: .*; fix: list three AZ IDs of us-east-1/),
    ]);
  }, SYNTH_TIMEOUT_MS + 20_000);

  test('fails synth on an unknown -c env', () => {
    const { status, stderr } = synth({ ...cdkContext(), env: 'qa', ...NO_BUNDLING });
    expect(status).toBe(1);
    expect(stderr).toContain('Invalid Redstream configuration: env: unknown environment "qa"; fix: use -c env=<one of dev, staging, prod>');
  });

  test('-c env=dev synthesizes only dev, offline, with no warning', () => {
    const { status, stderr, outdir } = synth({ ...cdkContext(), env: 'dev' });
    // Only the machine's own npm configuration (bundling runs esbuild through npx) and the SDK's Node 20 notice may speak.
    const foreign = /NodeVersionSupportWarning|node >=22|trace-warnings|^npm warn Unknown (env|user) config/;
    expect(stderr.split('\n').filter((l) => /warn|error/i.test(l) && !foreign.test(l))).toEqual([]);
    expect(status).toBe(0);
    const templates = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).sort();
    expect(templates).toEqual(expect.arrayContaining(['Redstream-dev-Region-us-east-1.template.json', 'Redstream-dev-State.template.json']));
    expect(templates.every((t) => t.startsWith('Redstream-dev-'))).toBe(true);
  }, SYNTH_TIMEOUT_MS + 20_000);
});

/**
 * Builds the Redstream app in-process the way `bin/app.ts` does, with cdk.json's context (feature flags and
 * environments) so tests see exactly what `cdk synth` produces.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EnvironmentConfig, ENVIRONMENTS_CONTEXT_KEY, parseEnvironment, resolveEnvironments } from '../../lib/config';
import { acknowledgeNagFindings } from '../../lib/nag-acknowledgements';
import { addEnvironment, RedstreamEnvironmentStacks } from '../../lib/redstream-app';

const ROOT = path.resolve(__dirname, '..', '..');

/** cdk.json's context. */
export function cdkContext(): Record<string, unknown> {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}

/** The environment named `name` from cdk.json, validated. */
export function shippedEnvironment(name: string): EnvironmentConfig {
  return resolveEnvironments(cdkContext()[ENVIRONMENTS_CONTEXT_KEY], name)[0];
}

/** A valid environment built from a literal, for tests that vary one field. */
export function environmentFrom(raw: Record<string, unknown>, name = 'test'): EnvironmentConfig {
  return parseEnvironment(name, raw);
}

export interface NewAppOptions {
  /**
   * Bundle the functions' code with esbuild, as `cdk synth` does. Tests that read templates don't need it: without
   * bundling (context `aws:cdk:bundling-stacks` = []) an asset is staged from its source and only its hash differs,
   * which snapshots mask anyway; bundling costs seconds per function and dominated the suite's time.
   * @default false
   */
  readonly bundle?: boolean;
}

/** A new App with cdk.json's context and a throw-away output directory. */
export function newApp(options: NewAppOptions = {}): App {
  const { [ENVIRONMENTS_CONTEXT_KEY]: _environments, ...flags } = cdkContext();
  const context: Record<string, unknown> = options.bundle ? flags : { ...flags, 'aws:cdk:bundling-stacks': [] };
  return new App({ context, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-cdk-')) });
}

export interface BuiltEnvironment extends RedstreamEnvironmentStacks {
  readonly app: App;
}

/** Builds one environment's stacks (with the nag acknowledgements, as the app does). */
export function buildEnvironment(config: EnvironmentConfig, options: NewAppOptions = {}): BuiltEnvironment {
  const app = newApp(options);
  const stacks = addEnvironment(app, config);
  acknowledgeNagFindings(stacks);
  return { app, ...stacks };
}

/** Every stack of a built environment, in creation order. */
export function allStacks(env: BuiltEnvironment): Stack[] {
  return env.app.node.children.filter((c): c is Stack => Stack.isStack(c));
}

const ASSET_HASH = /[0-9a-f]{64}/g;

/**
 * A template for snapshots: asset hashes masked (they depend on handler code and the checkout path), so a handler
 * edit changes one asset line in review instead of churning every snapshot.
 */
export function normalizedTemplate(stack: Stack): unknown {
  const json = JSON.stringify(Template.fromStack(stack).toJSON());
  return JSON.parse(json.replace(ASSET_HASH, '<asset-hash>'));
}

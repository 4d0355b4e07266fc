/**
 * How Redstream bundles its ESM Lambda handlers (the replicator, the archive transformation): the local esbuild (no
 * Docker is used or available), ESM for the deployed Node.js 24 runtime, minified, with source maps. One definition
 * so the handlers cannot drift apart; test/local/bundle-target.test.ts checks the local bundles use the same target.
 */
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

export const ESM_BUNDLING = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  // CommonJS dependencies inside an ESM bundle call require() for Node built-ins.
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const satisfies nodejs.BundlingOptions;

/**
 * `externalModules` for a function that bundles the pinned AWS SDK rather than use the runtime's copy (whose version
 * AWS picks, and may predate an API the function relies on): everything is bundled except the credential providers
 * that the SDK's default chain imports lazily (import()), only when the environment holds no credentials. Lambda
 * always puts the role's credentials there, so they never load, and the runtime's SDK has them if they ever did (the
 * same list as aws-cdk issue 29310).
 */
export const BUNDLED_SDK_EXTERNAL_MODULES: readonly string[] = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@smithy/credential-provider-imds',
];

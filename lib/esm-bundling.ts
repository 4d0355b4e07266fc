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

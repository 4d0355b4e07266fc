#!/usr/bin/env node
/**
 * The CDK app. The only place that reads CDK context: it picks the environment(s) (`-c env=NAME`, or all of them),
 * validates them, and builds their stacks. cdk-nag's AwsSolutions checks run on the whole app.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, ENVIRONMENTS_CONTEXT_KEY, resolveEnvironments } from '../lib/config';
import { acknowledgeNagFindings } from '../lib/nag-acknowledgements';
import { addEnvironment } from '../lib/redstream-app';

const app = new App();
const selected = app.node.tryGetContext('env') as string | undefined;
try {
  // Stacks validate configuration too (e.g. a warehouse Region's AZ IDs), so both steps report ConfigErrors alike.
  for (const config of resolveEnvironments(app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY), selected)) {
    acknowledgeNagFindings(addEnvironment(app, config));
  }
} catch (err) {
  if (err instanceof ConfigError) {
    // One clear line instead of a stack trace: the message names the field and the fix.
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

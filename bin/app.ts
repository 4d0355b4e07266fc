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
let environments;
try {
  environments = resolveEnvironments(app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY), selected);
} catch (err) {
  if (err instanceof ConfigError) {
    // One clear line instead of a stack trace: the message names the field and the fix.
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
for (const config of environments) {
  acknowledgeNagFindings(addEnvironment(app, config));
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addEnvironment } from '../lib/redstream-app';
import { allStacks, buildEnvironment, newApp, shippedEnvironment } from './helpers/cdk-app';

describe('cdk-nag AwsSolutions and CloudFormation validation', () => {
  test.each(['dev', 'staging', 'prod'])('%s: no unacknowledged finding in any stack', (envName) => {
    const built = buildEnvironment(shippedEnvironment(envName));
    for (const stack of allStacks(built)) {
      const report = new AwsSolutionsChecks(undefined).validateScope(stack);
      const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.locations?.join() ?? r.resourceLogicalId).join(', ')}`);
      expect({ stack: stack.stackName, findings }).toEqual({ stack: stack.stackName, findings: [] });
    }
  });

  test('synthesizing with the plugins, as `cdk synth` does, reports nothing', () => {
    const built = buildEnvironment(shippedEnvironment('prod'));
    Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
    const assembly = built.app.synth();
    const reportPath = path.join(assembly.directory, 'validation-report.json');
    const violations = fs.existsSync(reportPath)
      ? (JSON.parse(fs.readFileSync(reportPath, 'utf8')) as { pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string }> }> }).pluginReports.flatMap((r) =>
          r.violations.map((v) => `${r.pluginName}: ${v.ruleName}`),
        )
      : [];
    expect(violations).toEqual([]);
  });

  test('the check is not vacuous: without the acknowledgements it finds the known findings', () => {
    const app = newApp();
    const stacks = addEnvironment(app, shippedEnvironment('dev'));
    const report = new AwsSolutionsChecks(undefined).validateScope(stacks.regions.get('us-east-1')!);
    expect(report.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-KDS3', 'AwsSolutions-KDF1']));
  });
});

/**
 * One normalized snapshot per stack per environment: the reviewable picture of what `cdk deploy` would change.
 * Asset hashes are masked so a handler edit does not churn every snapshot. Update on purpose with `npm test -- -u`.
 */
import { allStacks, buildEnvironment, normalizedTemplate, shippedEnvironment } from './helpers/cdk-app';

describe.each(['dev', 'staging', 'prod'])('%s', (envName) => {
  const built = buildEnvironment(shippedEnvironment(envName));
  test.each(allStacks(built).map((s) => [s.stackName, s] as const))('%s matches its snapshot', (_name, stack) => {
    expect(normalizedTemplate(stack)).toMatchSnapshot();
  });
});

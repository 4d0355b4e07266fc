import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ArchiveTransform } from '../../lib/archive-transform';
import { EventStream } from '../../lib/event-stream';

function build(props: ConstructorParameters<typeof ArchiveTransform>[2] = {}): { stack: Stack; transform: ArchiveTransform } {
  // No bundling: these tests look at the template, not the asset.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'T', { env: { account: '123456789012', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'K');
  const bucket = new s3.Bucket(stack, 'B', { encryptionKey: key });
  const transform = new ArchiveTransform(stack, 'ArchiveTransform', props);
  new EventStream(stack, 'S', { streamName: 'redstream-dev-events', archivePrefix: 'events', encryptionKey: key, archiveBucket: bucket, archiveTransform: transform.function });
  return { stack, transform };
}

describe('ArchiveTransform on the archive delivery stream', () => {
  test('the delivery stream runs the transformation with a 1 MB processor buffer, writes GZIP under hourly prefixes and an error prefix', () => {
    const { stack, transform } = build();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        CompressionFormat: 'GZIP',
        Prefix: 'events/!{timestamp:yyyy/MM/dd/HH}/',
        ErrorOutputPrefix: 'errors/events/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/',
        ProcessingConfiguration: { Enabled: true, Processors: [Match.objectLike({ Type: 'Lambda' })] },
      }),
    });
    const [stream] = Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'));
    const params = stream.Properties.ExtendedS3DestinationConfiguration.ProcessingConfiguration.Processors[0].Parameters as Array<{ ParameterName: string; ParameterValue: unknown }>;
    expect(Object.fromEntries(params.map((x) => [x.ParameterName, x.ParameterValue]))).toEqual({
      LambdaArn: stack.resolve(transform.function.functionArn),
      // A quarter MB (override): a full buffer of small records answers in under the 6 MB synchronous cap.
      BufferSizeInMBs: '0.25',
      BufferIntervalInSeconds: '60',
      NumberOfRetries: '3',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('one NDJSON line per Kinesis record'),
      MemorySize: 512,
      Timeout: 60,
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
    });
  });

  test('its role writes only its logs (the function calls no AWS API)', () => {
    const { stack } = build();
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('ArchiveTransformServiceRole') }] } });
    const actions = Object.values(policies).flatMap((p) => (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) => [s.Action].flat()));
    expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  test('default record size: no warning; 10 MiB records: a warning that says where records above the limit go', () => {
    expect(Annotations.fromStack(build().stack).findWarning('*', Match.stringLikeRegexp('processing-failed'))).toEqual([]);
    const warnings = Annotations.fromStack(build({ maxRecordSizeKiB: 10_240 }).stack).findWarning('*', Match.stringLikeRegexp('records above 3\\d{3} KiB'));
    expect(warnings).toHaveLength(1);
  });

  test.each([
    [{ maxRecordSizeKiB: 512 }, /maxRecordSizeKiB must be a whole number between 1024 and 10240 KiB \(got 512\)/],
    [{ memorySizeMiB: 128 }, /memorySizeMiB must be a whole number between 256 and 10240 MiB \(got 128\)/],
  ])('bad props %j fail at synth with the field and range', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('cdk-nag finds nothing on the transformation function and its role', () => {
    const { stack, transform } = build();
    void stack;
    const report = new AwsSolutionsChecks(undefined).validateScope(transform);
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`))).toEqual([]);
  });
});

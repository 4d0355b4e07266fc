import * as path from 'node:path';
import { Annotations, Duration, RemovalPolicy, Size, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ESM_BUNDLING } from './esm-bundling';
import { largestArchivableRecordBytes } from '../lambda/archive-transform/transform';

export interface ArchiveTransformProps {
  /** Largest record any stream of the Region accepts, in KiB. Valid range: 1024–10240. @default 1024 */
  readonly maxRecordSizeKiB?: number;
  /** Memory of the function. Valid range: 256–10240 MiB. @default 512 */
  readonly memorySizeMiB?: number;
  /** Invocation timeout. Firehose waits at most 5 minutes. Valid range: 10–300 seconds. @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** Log retention of the function. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const ARCHIVE_TRANSFORM_DEFAULTS = {
  maxRecordSizeKiB: 1024,
  memorySizeMiB: 512,
  timeout: Duration.minutes(1),
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.RETAIN,
};

/**
 * How Firehose feeds the transformation (the delivery stream's processor). Firehose invokes synchronously, and a
 * synchronous invocation carries at most 6 MB each way. The response is about 16/9 of the records' raw bytes plus
 * about 460 bytes per record (each record's line with its metadata, base64 again), so the processor's buffer is a
 * quarter MB ({@link ARCHIVE_TRANSFORM_BUFFER_MB}, set by override: the L2 takes whole MiB; the service's range is
 * 0.2–3 MB): a full buffer of records of 100 bytes answers in about 1.8 MB, larger records leave more room. A response that would overflow fails only the
 * records beyond the budget (lambda/archive-transform/transform.ts): Firehose writes them under the error prefix.
 */
/**
 * The processor's buffer, in MB, set on the delivery stream by lib/event-stream.ts: a response is up to about 7× the
 * records it answers for when they are small (100-byte records), so a quarter MB keeps it under the 6 MB cap.
 */
export const ARCHIVE_TRANSFORM_BUFFER_MB = '0.25';

export const ARCHIVE_TRANSFORM_PROCESSOR: firehose.DataProcessorProps = {
  bufferSize: Size.mebibytes(1),
  bufferInterval: Duration.seconds(60),
  retries: 3,
};

/**
 * The archive's Firehose data transformation: one function per Region, shared by every stream's delivery stream,
 * that turns each record into one line of the archive contract (lambda/archive/format.ts). It calls no AWS API: its
 * role may only write its own logs.
 */
export class ArchiveTransform extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ArchiveTransformProps = {}) {
    super(scope, id);
    const p = {
      maxRecordSizeKiB: props.maxRecordSizeKiB ?? ARCHIVE_TRANSFORM_DEFAULTS.maxRecordSizeKiB,
      memorySizeMiB: props.memorySizeMiB ?? ARCHIVE_TRANSFORM_DEFAULTS.memorySizeMiB,
      timeout: props.timeout ?? ARCHIVE_TRANSFORM_DEFAULTS.timeout,
      logRetention: props.logRetention ?? ARCHIVE_TRANSFORM_DEFAULTS.logRetention,
      removalPolicy: props.removalPolicy ?? ARCHIVE_TRANSFORM_DEFAULTS.removalPolicy,
    };
    const range = (name: string, v: number, min: number, max: number, unit: string): void => {
      if (!Token.isUnresolved(v) && (!Number.isInteger(v) || v < min || v > max)) throw new Error(`${name} must be a whole number between ${min} and ${max}${unit} (got ${v})`);
    };
    range('maxRecordSizeKiB', p.maxRecordSizeKiB, 1024, 10_240, ' KiB');
    range('memorySizeMiB', p.memorySizeMiB, 256, 10_240, ' MiB');
    range('timeout', p.timeout.toSeconds(), 10, 300, ' seconds');
    const limit = largestArchivableRecordBytes();
    if (p.maxRecordSizeKiB * 1024 > limit) {
      // Not an error: the stream may need large records. Say what happens to them in the archive.
      Annotations.of(this).addWarningV2(
        'redstream:archiveRecordSize',
        `streams accept records up to ${p.maxRecordSizeKiB} KiB, but a Firehose transformation answers at most 6 MB: records above ${Math.floor(limit / 1024)} KiB ` +
          'cannot become archive lines and are written under errors/<stream>/processing-failed/ (their bytes kept, base64, in Firehose\'s error documents). See the README, "Archive format".',
      );
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: p.logRetention, removalPolicy: p.removalPolicy });
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Redstream archive transformation: writes its logs, calls no AWS API',
    });
    this.logGroup.grantWrite(role);
    const root = path.resolve(__dirname, '..');
    this.function = new nodejs.NodejsFunction(this, 'Resource', {
      entry: path.join(root, 'lambda', 'archive-transform', 'index.ts'),
      handler: 'handler',
      description: 'Redstream archive: one NDJSON line per Kinesis record (Firehose data transformation)',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      // A 6 MB request and response as JSON strings and base64 copies: well under 512 MiB, which also buys CPU.
      memorySize: p.memorySizeMiB,
      timeout: p.timeout,
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: root,
      depsLockFilePath: path.join(root, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: 'redstream-archive-transform',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: { ...ESM_BUNDLING, mainFields: [...ESM_BUNDLING.mainFields] },
    });
  }
}

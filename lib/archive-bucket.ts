import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ArchiveBucketProps {
  /** Key that encrypts archived objects (SSE-KMS with an S3 Bucket Key, which cuts KMS requests). */
  readonly encryptionKey: kms.IKey;
  /** Days after which objects move to S3 Glacier Instant Retrieval. Valid range: ≥ 30. @default 90 */
  readonly coldStorageAfterDays?: number;
  /** Days after which objects expire; 0 keeps them forever. @default 0 */
  readonly expireAfterDays?: number;
  /** Days a replaced or deleted object version is kept. @default 30 */
  readonly noncurrentVersionRetentionDays?: number;
  /** What happens to the buckets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const ARCHIVE_BUCKET_DEFAULTS = {
  coldStorageAfterDays: 90,
  expireAfterDays: 0,
  noncurrentVersionRetentionDays: 30,
  removalPolicy: RemovalPolicy.RETAIN,
};

/**
 * The raw archive: a versioned, KMS-encrypted, TLS-only bucket with public access blocked, a lifecycle to colder
 * storage, and server access logs in a second bucket (log target buckets cannot use SSE-KMS, hence SSE-S3 there).
 */
export class ArchiveBucket extends Construct {
  /** The archive bucket. */
  public readonly bucket: s3.Bucket;
  /** The bucket that receives the archive bucket's server access logs. */
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps) {
    super(scope, id);
    const p = { ...ARCHIVE_BUCKET_DEFAULTS, ...stripUndefined(props) };
    if (p.coldStorageAfterDays < 30) {
      throw new Error(`coldStorageAfterDays must be at least 30 (got ${p.coldStorageAfterDays})`);
    }
    if (p.expireAfterDays !== 0 && p.expireAfterDays <= p.coldStorageAfterDays) {
      throw new Error(`expireAfterDays must be 0 or greater than coldStorageAfterDays (got ${p.expireAfterDays} ≤ ${p.coldStorageAfterDays})`);
    }
    const autoDelete = p.removalPolicy === RemovalPolicy.DESTROY;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: p.removalPolicy,
      autoDeleteObjects: autoDelete,
    });

    this.bucket = new s3.Bucket(this, 'Resource', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        {
          id: 'archive-to-cold-storage',
          transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(p.coldStorageAfterDays) }],
          expiration: p.expireAfterDays > 0 ? Duration.days(p.expireAfterDays) : undefined,
          noncurrentVersionExpiration: Duration.days(p.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: p.removalPolicy,
      autoDeleteObjects: autoDelete,
    });
  }
}

/** Drops undefined values so that `{ ...DEFAULTS, ...props }` keeps the defaults for unset props. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

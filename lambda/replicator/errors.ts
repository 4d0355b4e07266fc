/** Errors of the replicator. Every one extends {@link ReplicatorError} and carries the context needed to act on it. */

export class ReplicatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplicatorError';
  }
}

/** A missing or malformed environment variable: thrown at cold start, naming the variable. */
export class ReplicatorConfigError extends ReplicatorError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ReplicatorConfigError';
  }
}

/** A Kinesis event record the replicator cannot interpret (bad ARN, event id or payload). */
export class MalformedRecordError extends ReplicatorError {
  constructor(
    readonly eventId: string | undefined,
    message: string,
  ) {
    super(`record ${eventId ?? '(no eventID)'}: ${message}`);
    this.name = 'MalformedRecordError';
  }
}

/**
 * The stream has no active-Region item. The replicator cannot tell whether it may forward, so it fails the
 * invocation and Lambda retries; the state stack seeds the item when it creates the tables.
 */
export class ActiveRegionItemMissingError extends ReplicatorError {
  constructor(
    readonly streamName: string,
    readonly tableName: string,
  ) {
    super(
      `no active-Region item for stream ${streamName} in table ${tableName}: the state stack seeds one item per stream ` +
        `(streamName, activeRegion, state, epoch, activatedAt); deploy it or write the item before replication can start`,
    );
    this.name = 'ActiveRegionItemMissingError';
  }
}

/** An active-Region item that does not match the contract in lambda/shared/state-tables.ts. */
export class MalformedStateItemError extends ReplicatorError {
  constructor(
    readonly tableName: string,
    readonly key: string,
    message: string,
  ) {
    super(`item ${key} in ${tableName}: ${message}`);
    this.name = 'MalformedStateItemError';
  }
}

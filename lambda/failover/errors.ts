/** Errors of the failover area. Domain outcomes (refused, conflict, no-op) are results, not errors. */

/** Base class of every failover error. */
export class FailoverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailoverError';
  }
}

/** An item in the active-Region or checkpoint table does not have the shape `lambda/shared/state-tables.ts` defines. */
export class MalformedItemError extends FailoverError {
  constructor(
    public readonly table: string,
    public readonly key: string,
    detail: string,
  ) {
    super(`malformed item ${key} in table ${table}: ${detail}`);
    this.name = 'MalformedItemError';
  }
}

/** A request that cannot be run as given (unknown Region or stream, missing field). */
export class InvalidRequestError extends FailoverError {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidRequestError';
  }
}

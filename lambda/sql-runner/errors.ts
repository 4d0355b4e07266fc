/** Errors of the warehouse SQL runner and merge runner. */
export class WarehouseSqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseSqlError';
  }
}

/** A statement the Redshift Data API reported FAILED or ABORTED; carries the database's error text. */
export class StatementFailedError extends WarehouseSqlError {
  constructor(
    public readonly label: string,
    public readonly status: string,
    public readonly detail: string,
  ) {
    super(`statement ${label} ${status}: ${detail}`);
    this.name = 'StatementFailedError';
  }
}

/** The statement did not finish before the function's deadline. */
export class StatementTimeoutError extends WarehouseSqlError {
  constructor(
    public readonly label: string,
    public readonly statementId: string,
    cancelled: boolean,
  ) {
    super(`statement ${label} (${statementId}) did not finish before the function's deadline; ${cancelled ? 'it was cancelled' : 'it keeps running in Redshift'}`);
    this.name = 'StatementTimeoutError';
  }
}

/** The custom resource's properties are not what the WarehouseSql construct sends. */
export class InvalidPropertiesError extends WarehouseSqlError {
  constructor(message: string) {
    super(`invalid custom resource properties: ${message}`);
    this.name = 'InvalidPropertiesError';
  }
}

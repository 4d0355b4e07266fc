/**
 * Pure decisions of the SQL runner: what the custom resource's properties mean and what to do with each
 * statement. No AWS I/O, no environment, no clock.
 */
import { createHash } from 'node:crypto';
import { InvalidPropertiesError } from './errors';

/** One statement as the WarehouseSql construct passes it in the custom resource's `Statements` property. */
export interface StatementProperty {
  readonly Id: string;
  readonly Sql: string;
  /** `statement` (re-runnable as is) or `materialized-view` (created, recreated or skipped by definition hash). */
  readonly Kind: 'statement' | 'materialized-view';
  readonly SchemaName?: string;
  readonly ObjectName?: string;
}

export interface PlannedStatement {
  readonly id: string;
  readonly sql: string;
  readonly materializedView?: { readonly schema: string; readonly name: string; readonly hash: string };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates the `Statements` property; the error names the offending entry. */
export function parseStatements(raw: unknown): PlannedStatement[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new InvalidPropertiesError('Statements must be a non-empty list');
  return raw.map((entry: unknown, i) => {
    if (!isRecord(entry)) throw new InvalidPropertiesError(`Statements[${i}] must be an object`);
    const { Id: id, Sql: sql, Kind: kind } = entry;
    if (typeof id !== 'string' || id === '') throw new InvalidPropertiesError(`Statements[${i}].Id must be a non-empty string`);
    if (typeof sql !== 'string' || sql.trim() === '') throw new InvalidPropertiesError(`Statements[${i}] (${id}).Sql must be a non-empty string`);
    if (/\{\{|\}\}/.test(sql)) throw new InvalidPropertiesError(`Statements[${i}] (${id}).Sql has an unreplaced placeholder`);
    if (kind === 'statement') return { id, sql };
    if (kind !== 'materialized-view') throw new InvalidPropertiesError(`Statements[${i}] (${id}).Kind must be 'statement' or 'materialized-view' (got ${JSON.stringify(kind)})`);
    const schema = entry.SchemaName;
    const name = entry.ObjectName;
    if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || typeof name !== 'string' || !IDENTIFIER.test(name)) {
      throw new InvalidPropertiesError(`Statements[${i}] (${id}) needs SchemaName and ObjectName as lower-case identifiers`);
    }
    return { id, sql, materializedView: { schema, name, hash: definitionHash(sql) } };
  });
}

/** Short, stable hash of a statement's text. */
export function definitionHash(sql: string): string {
  return createHash('sha256').update(sql.trim()).digest('hex').slice(0, 32);
}

export type MaterializedViewAction = 'create' | 'recreate' | 'skip';

/**
 * Materialized views have no CREATE OR REPLACE: create a missing view, skip one whose recorded definition hash is
 * the one to deploy, and drop and recreate one that exists with another (or an unknown) definition.
 */
export function planMaterializedView(exists: boolean, recordedHash: string | undefined, desiredHash: string): MaterializedViewAction {
  if (!exists) return 'create';
  return recordedHash === desiredHash ? 'skip' : 'recreate';
}

/** CloudFormation's whole response must stay under 4 096 bytes, so the reason is cut. */
export const MAX_REASON_CHARS = 1500;

export function truncateReason(message: string): string {
  return message.length <= MAX_REASON_CHARS ? message : `${message.slice(0, MAX_REASON_CHARS - 15)} … (truncated)`;
}

/**
 * The Redshift functions (and function-call syntax) the deployed SQL may use, as data: each with the page of the
 * Amazon Redshift Database Developer Guide that documents it, or, for a function the reference does not list, a public
 * AWS example that uses it (`example`). The conformance test (test/sql/redshift-conformance.test.ts) fails on any
 * other call in the rendered Redshift SQL; adding an entry means reading its page first.
 */
export interface RedshiftFunction {
  /** Upper-case name as called. */
  readonly name: string;
  /** Documentation page in the Redshift Database Developer Guide. */
  readonly doc?: string;
  /** For a function absent from the reference: a public AWS example that uses it. */
  readonly example?: string;
  /** Why it is here, when the page alone does not say. */
  readonly note?: string;
}

const DG = 'https://docs.aws.amazon.com/redshift/latest/dg/';

export const REDSHIFT_FUNCTIONS: readonly RedshiftFunction[] = [
  { name: 'CAN_JSON_PARSE', doc: `${DG}CAN_JSON_PARSE.html` },
  { name: 'CAST', doc: `${DG}r_CAST_function.html` },
  { name: 'COALESCE', doc: `${DG}r_NVL_function.html` },
  { name: 'COUNT', doc: `${DG}r_COUNT.html` },
  { name: 'FNV_HASH', doc: `${DG}r_FNV_HASH.html`, note: 'hashes the binary representation of any basic type; VARBYTE confirmed by the first-deploy checklist' },
  { name: 'GETDATE', doc: `${DG}r_GETDATE.html` },
  { name: 'GREATEST', doc: `${DG}r_GREATEST_LEAST.html` },
  {
    name: 'IS_UTF8',
    example: 'https://aws.amazon.com/blogs/big-data/real-time-analytics-with-amazon-redshift-streaming-ingestion/',
    note: 'absent from the function reference; AWS uses IS_UTF8(kinesis_data) in its streaming-ingestion examples',
  },
  { name: 'JSON_PARSE', doc: `${DG}JSON_PARSE.html` },
  { name: 'JSON_SERIALIZE', doc: `${DG}JSON_SERIALIZE.html` },
  { name: 'JSON_SERIALIZE_TO_VARBYTE', doc: `${DG}JSON_SERIALIZE_TO_VARBYTE.html` },
  { name: 'JSON_TYPEOF', doc: `${DG}r_json_typeof.html` },
  { name: 'LEFT', doc: `${DG}r_LEFT.html` },
  { name: 'LENGTH', doc: `${DG}r_LENGTH.html` },
  { name: 'LPAD', doc: `${DG}r_LPAD.html` },
  { name: 'MAX', doc: `${DG}r_MAX.html` },
  { name: 'MIN', doc: `${DG}r_MIN.html` },
  { name: 'OCTET_LENGTH', doc: `${DG}r_OCTET_LENGTH.html` },
  { name: 'ROW_NUMBER', doc: `${DG}r_WF_ROW_NUMBER.html` },
  { name: 'SUM', doc: `${DG}r_SUM.html` },
  { name: 'TRIM', doc: `${DG}r_TRIM.html` },
  { name: 'TRY_CAST', doc: `${DG}r_TRY_CAST.html` },
];

/**
 * Words followed by `(` that are syntax, not function calls: clauses, operators, data types and table attributes of
 * the Redshift SQL reference (CREATE TABLE, CREATE MATERIALIZED VIEW, window functions, subqueries).
 */
export const REDSHIFT_CALL_SYNTAX: ReadonlySet<string> = new Set([
  'AND', 'AS', 'BY', 'EXISTS', 'FROM', 'IN', 'INTO', 'JOIN', 'KEY', 'NOT', 'ON', 'OR', 'OVER', 'SELECT', 'THEN', 'ELSE',
  'WHEN', 'WHERE', 'VALUES', 'DISTKEY', 'SORTKEY', 'VARCHAR', 'CHAR', 'VARBYTE', 'DECIMAL', 'NUMERIC',
  'PROCEDURE', 'TABLE',
]);

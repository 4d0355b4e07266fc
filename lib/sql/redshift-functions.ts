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
  { name: 'SHA2', doc: `${DG}SHA2.html`, note: 'the merge\'s erasure step (sql/072) hashes subject values; the hex case must match JavaScript\'s lower-case digest (first-deploy check: SELECT SHA2(\'a\', 256))' },
  { name: 'SUBSTRING', doc: `${DG}r_SUBSTRING.html`, note: 'on VARBYTE too (varbyte-functions.html): erase reads large rejects in chunks under the Data API row limit' },
  { name: 'SUM', doc: `${DG}r_SUM.html` },
  { name: 'TO_HEX', doc: `${DG}r_TO_HEX.html`, note: 'VARBYTE to hex text: the chunks erase reads' },
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

/**
 * Redshift's reserved words (https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html): as a column, alias
 * or qualified name they must be quoted ("raw"), which Postgres does not require for most of them.
 */
export const REDSHIFT_RESERVED_WORDS: ReadonlySet<string> = new Set([
  'AES128', 'AES256', 'ALL', 'ALLOWOVERWRITE', 'ANALYSE', 'ANALYZE', 'AND', 'ANY', 'ARRAY', 'AS', 'ASC',
  'AUTHORIZATION', 'AZ64', 'BACKUP', 'BETWEEN', 'BINARY', 'BLANKSASNULL', 'BOTH', 'BYTEDICT', 'BZIP2', 'CASE',
  'CAST', 'CHECK', 'COLLATE', 'COLUMN', 'CONNECT', 'CONSTRAINT', 'CREATE', 'CREDENTIALS', 'CROSS', 'CURRENT_DATE',
  'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'CURRENT_USER', 'CURRENT_USER_ID', 'DEFAULT', 'DEFERRABLE', 'DEFLATE',
  'DEFRAG', 'DELTA', 'DELTA32K', 'DESC', 'DISABLE', 'DISTINCT', 'DO', 'ELSE', 'EMPTYASNULL', 'ENABLE', 'ENCODE',
  'ENCRYPT', 'ENCRYPTION', 'END', 'EXCEPT', 'EXPLICIT', 'FALSE', 'FOR', 'FOREIGN', 'FREEZE', 'FROM', 'FULL',
  'GLOBALDICT256', 'GLOBALDICT64K', 'GRANT', 'GROUP', 'GZIP', 'HAVING', 'IDENTITY', 'IGNORE', 'ILIKE', 'IN',
  'INITIALLY', 'INNER', 'INTERSECT', 'INTERVAL', 'INTO', 'IS', 'ISNULL', 'JOIN', 'LANGUAGE', 'LEADING', 'LEFT',
  'LIKE', 'LIMIT', 'LOCALTIME', 'LOCALTIMESTAMP', 'LUN', 'LUNS', 'LZO', 'LZOP', 'MINUS', 'MOSTLY16', 'MOSTLY32',
  'MOSTLY8', 'NATURAL', 'NEW', 'NOT', 'NOTNULL', 'NULL', 'NULLS', 'OFF', 'OFFLINE', 'OFFSET', 'OID', 'OLD', 'ON',
  'ONLY', 'OPEN', 'OR', 'ORDER', 'OUTER', 'OVERLAPS', 'PARALLEL', 'PARTITION', 'PERCENT', 'PERMISSIONS', 'PIVOT',
  'PLACING', 'PRIMARY', 'RAW', 'READRATIO', 'RECOVER', 'REFERENCES', 'REJECTLOG', 'RESORT', 'RESPECT', 'RESTORE',
  'RIGHT', 'SELECT', 'SESSION_USER', 'SIMILAR', 'SNAPSHOT', 'SOME', 'SYSDATE', 'SYSTEM', 'START', 'TABLE', 'TAG',
  'TDES', 'TEXT255', 'TEXT32K', 'THEN', 'TIMESTAMP', 'TO', 'TOP', 'TRAILING', 'TRUE', 'TRUNCATECOLUMNS', 'UNION',
  'UNIQUE', 'UNNEST', 'UNPIVOT', 'USER', 'USING', 'VERBOSE', 'WALLET', 'WHEN', 'WHERE', 'WITH', 'WITHOUT',
]);

/**
 * Checks SQL meant for Redshift against what Redshift documents, where embedded Postgres (which accepts much more)
 * cannot: every function call against {@link REDSHIFT_FUNCTIONS}, the PL/pgSQL restrictions of stored procedures, and
 * Postgres-only syntax. Pure: text in, findings out. Used by test/sql/redshift-conformance.test.ts on the SQL as
 * deployed (`renderSql(..., { dialect: 'redshift' })`).
 *
 * Sources: Supported PL/pgSQL statements (RAISE: `RAISE level 'format' [, variable [, ...]]`, levels NOTICE, INFO,
 * LOG, WARNING, EXCEPTION; "optional arguments must be simple variables, not expressions, and the format must be a
 * simple string literal") https://docs.aws.amazon.com/redshift/latest/dg/c_PLpgSQL-statements.html;
 * Structure of PL/pgSQL (`GET DIAGNOSTICS integer_var := ROW_COUNT`)
 * https://docs.aws.amazon.com/redshift/latest/dg/c_PLpgSQL-structure.html; Stored procedure limitations (no
 * subtransactions, so limited exception handling; one open cursor; 2 MB of source; 1,024 variables; no command that
 * needs its own transaction: VACUUM, PREPARE, CREATE/DROP DATABASE, CREATE EXTERNAL TABLE, SET LOCAL, ALTER TABLE
 * APPEND, transaction statements) https://docs.aws.amazon.com/redshift/latest/dg/stored-procedure-constraints.html.
 */
import { REDSHIFT_CALL_SYNTAX, REDSHIFT_FUNCTIONS, REDSHIFT_RESERVED_WORDS } from './redshift-functions';

export interface ConformanceFinding {
  /** The statement's id (e.g. `060_merge_procedure.sql`). */
  readonly statement: string;
  readonly rule: string;
  readonly detail: string;
}

const DOCUMENTED = new Set(REDSHIFT_FUNCTIONS.map((f) => f.name));
const RAISE_LEVELS = new Set(['NOTICE', 'INFO', 'LOG', 'WARNING', 'EXCEPTION']);
const SIMPLE_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PROCEDURE_BYTES = 2 * 1024 * 1024;
const MAX_VARIABLES = 1024;

/** Removes `--` comments; with `blankStrings`, also replaces the content of string literals by spaces. */
export function stripSql(sql: string, options: { blankStrings: boolean }): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      const literal = sql.slice(i, j + 1);
      out += options.blankStrings ? `'${' '.repeat(Math.max(0, literal.length - 2))}'` : literal;
      i = j + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Names called as functions (`NAME(`), upper-cased, excluding qualified names, object names after INTO/TABLE/... and syntax words. */
export function functionCalls(sql: string): string[] {
  const code = stripSql(sql, { blankStrings: true });
  const calls: string[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const name = m[1].toUpperCase();
    const before = code.slice(0, m.index);
    if (/[.\w"]$/.test(before)) continue; // part of a qualified or longer name
    const previousWord = /([A-Za-z_]+)\s*$/.exec(before)?.[1]?.toUpperCase();
    if (previousWord && ['INTO', 'TABLE', 'PROCEDURE', 'VIEW', 'FUNCTION'].includes(previousWord)) continue; // object name
    if (REDSHIFT_CALL_SYNTAX.has(name)) continue;
    calls.push(name);
  }
  return calls;
}

/** Splits a RAISE argument list at top-level commas. */
function splitArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/** The bodies of the stored procedures in a statement (between `AS $$` and `$$`). */
function procedureBodies(sql: string): string[] {
  if (!/CREATE\s+(OR\s+REPLACE\s+)?PROCEDURE/i.test(sql)) return [];
  return [...sql.matchAll(/\$\$([\s\S]*?)\$\$/g)].map((m) => m[1]);
}

export function checkProcedureBody(statement: string, body: string): ConformanceFinding[] {
  const findings: ConformanceFinding[] = [];
  const add = (rule: string, detail: string): void => void findings.push({ statement, rule, detail });
  const code = stripSql(body, { blankStrings: false });
  const bare = stripSql(body, { blankStrings: true });

  // RAISE level 'format' [, variable [, ...]];
  for (const m of code.matchAll(/\bRAISE\b([^;]*);/gi)) {
    const text = m[1].trim();
    if (/\bUSING\b/i.test(stripSql(text, { blankStrings: true }))) {
      add('raise-using', `RAISE ... USING is not supported: RAISE ${text}`);
      continue;
    }
    const parsed = /^([A-Za-z]+)\s+('(?:[^']|'')*')\s*(?:,([\s\S]*))?$/.exec(text);
    if (!parsed) {
      add('raise-syntax', `RAISE must be RAISE level 'format' [, variable ...]: RAISE ${text}`);
      continue;
    }
    const [, level, format, rest] = parsed;
    if (!RAISE_LEVELS.has(level.toUpperCase())) add('raise-level', `RAISE level ${level} is not one of ${[...RAISE_LEVELS].join(', ')}`);
    const args = rest === undefined ? [] : splitArguments(rest);
    for (const arg of args) {
      if (!SIMPLE_VARIABLE.test(arg)) add('raise-argument', `RAISE arguments must be simple variables, not expressions: ${arg}`);
    }
    const placeholders = (format.replace(/%%/g, '').match(/%/g) ?? []).length;
    if (placeholders !== args.length) add('raise-placeholders', `RAISE format has ${placeholders} % for ${args.length} arguments`);
  }

  for (const m of bare.matchAll(/\bGET\s+DIAGNOSTICS\b([^;]*);/gi)) {
    if (!/^\s*[A-Za-z_][A-Za-z0-9_]*\s*:=\s*ROW_COUNT\s*$/i.test(m[1])) add('get-diagnostics', `only GET DIAGNOSTICS variable := ROW_COUNT is documented: ${m[1].trim()}`);
  }
  if (/\bEXCEPTION\s+WHEN\b/i.test(bare)) add('exception-block', 'exception handlers need subtransactions, which Redshift does not have');
  const ownTransaction: Array<[RegExp, string]> = [
    [/\bVACUUM\b/i, 'VACUUM'],
    [/\bPREPARE\b/i, 'PREPARE'],
    [/\b(CREATE|DROP)\s+DATABASE\b/i, 'CREATE/DROP DATABASE'],
    [/\bCREATE\s+EXTERNAL\s+TABLE\b/i, 'CREATE EXTERNAL TABLE'],
    [/\bSET\s+LOCAL\b/i, 'SET LOCAL'],
    [/\bALTER\s+TABLE\b[^;]*\bAPPEND\b/i, 'ALTER TABLE APPEND'],
    [/\b(START\s+TRANSACTION|BEGIN\s+(TRANSACTION|WORK))\b/i, 'transaction statements'],
  ];
  for (const [re, what] of ownTransaction) if (re.test(bare)) add('own-transaction', `${what} needs its own transaction and is not supported in a stored procedure`);
  const queryLoops = (bare.match(/\bFOR\s+\w+\s+IN\s+(SELECT|EXECUTE)\b/gi) ?? []).length;
  if (queryLoops > 1) add('cursors', `${queryLoops} query loops: a session can hold one open cursor`);
  if (Buffer.byteLength(body, 'utf8') > MAX_PROCEDURE_BYTES) add('size', `procedure source is ${Buffer.byteLength(body, 'utf8')} bytes (limit 2 MB)`);
  const declare = /\bDECLARE\b([\s\S]*?)\bBEGIN\b/i.exec(bare)?.[1] ?? '';
  const variables = declare.split(';').filter((d) => d.trim() !== '').length;
  if (variables > MAX_VARIABLES) add('variables', `${variables} variables (limit ${MAX_VARIABLES})`);
  return findings;
}

/** Postgres syntax that Redshift does not have (each checked on code, comments and strings removed). */
const POSTGRES_ONLY: Array<[RegExp, string]> = [
  [/\bjsonb\b/i, 'jsonb (Redshift has SUPER)'],
  [/#>/, 'the #> / #>> JSON operators'],
  [/\bLATERAL\b/i, 'LATERAL joins'],
  [/\bRETURNING\b/i, 'INSERT/UPDATE ... RETURNING'],
  [/\bON\s+CONFLICT\b/i, 'ON CONFLICT'],
  [/\bCREATE\s+(UNIQUE\s+)?INDEX\b/i, 'indexes'],
  [/\bBYTEA\b/i, 'BYTEA (Redshift has VARBYTE)'],
  [/\bFOR\s+EACH\s+ROW\b/i, 'row triggers'],
];

/** Column names of the CREATE TABLE statements in `code` (strings blanked, comments removed). */
function columnDefinitions(code: string): string[] {
  const names: string[] = [];
  for (const m of code.matchAll(/CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w."]+\s*\(/gi)) {
    let depth = 1;
    let i = (m.index ?? 0) + m[0].length;
    let body = '';
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === '(') depth++;
      if (code[i] === ')') depth--;
      if (depth > 0) body += code[i];
    }
    names.push(...splitArguments(body).map((d) => /^\s*("?[A-Za-z_][\w$]*"?)/.exec(d)?.[1] ?? ''));
  }
  return names;
}

/** Reserved words used unquoted as a column, an alias (`AS word`) or a qualified name (`t.word`). */
export function unquotedReservedIdentifiers(sql: string): string[] {
  const code = stripSql(sql, { blankStrings: true });
  const found = new Set<string>();
  const reserved = (w: string): boolean => REDSHIFT_RESERVED_WORDS.has(w.toUpperCase());
  for (const name of columnDefinitions(code)) if (!name.startsWith('"') && reserved(name)) found.add(name);
  for (const m of code.matchAll(/\.([A-Za-z_][\w$]*)/g)) if (reserved(m[1])) found.add(m[1]);
  // After AS: TIMESTAMP is CAST's type and SELECT / WITH start a view's or CTAS's query, not an alias.
  const notAlias = new Set(['TIMESTAMP', 'SELECT', 'WITH']);
  for (const m of code.matchAll(/\bAS\s+([A-Za-z_][\w$]*)/gi)) if (reserved(m[1]) && !notAlias.has(m[1].toUpperCase())) found.add(m[1]);
  return [...found];
}

/** Every finding for a list of statements as deployed. */
export function checkRedshiftSql(statements: ReadonlyArray<{ id: string; sql: string }>): ConformanceFinding[] {
  const findings: ConformanceFinding[] = [];
  for (const s of statements) {
    for (const name of functionCalls(s.sql)) {
      if (!DOCUMENTED.has(name)) findings.push({ statement: s.id, rule: 'undocumented-function', detail: `${name}() is not in lib/sql/redshift-functions.ts` });
    }
    for (const word of unquotedReservedIdentifiers(s.sql)) {
      findings.push({ statement: s.id, rule: 'reserved-word', detail: `${word} is a Redshift reserved word: quote it ("${word.toLowerCase()}") where it names a column` });
    }
    const code = stripSql(s.sql, { blankStrings: true });
    for (const [re, what] of POSTGRES_ONLY) if (re.test(code)) findings.push({ statement: s.id, rule: 'postgres-only', detail: what });
    for (const body of procedureBodies(s.sql)) findings.push(...checkProcedureBody(s.id, body));
  }
  return findings;
}

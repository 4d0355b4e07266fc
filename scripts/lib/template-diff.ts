/**
 * The per-stack template diff of two cloud assemblies, on `@aws-cdk/cloudformation-diff` (the engine of `cdk diff`):
 * its diff, its replacement analysis from the CloudFormation resource specification, its IAM and security-group change
 * tables and its permission-broadening detection. What Redstream adds:
 * - 64-hex asset hashes are masked before diffing (they change with the checkout path), and a resource whose only
 *   change is an asset hash is listed as "code asset changed" instead of as an update;
 * - warnings the library lacks: a replacement that keeps a custom name fails the deploy; a retained resource that is
 *   removed or replaced is left behind in the account;
 * - construct paths for every resource, from the assembly's metadata and the templates' `aws:cdk:path`;
 * - a verdict per stack (destructive, permissions broadened) for `--fail-on`;
 * - plain text for a terminal and GitHub Markdown (a collapsible section per stack) for a job summary.
 * No file system and no process: scripts/template-diff.ts does the I/O.
 */
import { Formatter, fullDiff, ResourceImpact, type ResourceDifference, type TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { stripVTControlCharacters } from 'node:util';

/** A JSON value as found in a synthesized template. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: { readonly [name: string]: Json };
  readonly Metadata?: { readonly [key: string]: Json };
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly [attribute: string]: Json | undefined;
}

export interface CfnTemplate {
  readonly Resources?: { readonly [logicalId: string]: CfnResource };
  readonly [section: string]: Json | undefined | { readonly [logicalId: string]: CfnResource };
}

/** One stack of a cloud assembly. */
export interface StackTemplate {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** The artifact's display name (its construct path). */
  readonly displayName: string;
  /** `aws://account/region`. */
  readonly environment: string;
  readonly template: CfnTemplate;
  /** Logical ID → construct path, from the assembly's `aws:cdk:logicalId` metadata. @default - the templates' `aws:cdk:path` only */
  readonly constructPaths?: Readonly<Record<string, string>>;
}

const ASSET_HASH = /[0-9a-f]{64}/gi;
export const ASSET_HASH_MASK = '<asset-hash>';

/** `value` with every 64-hex asset hash (in strings and object keys) replaced by {@link ASSET_HASH_MASK}. */
export function maskAssetHashes(value: Json): Json {
  if (typeof value === 'string') return value.replace(ASSET_HASH, ASSET_HASH_MASK);
  if (Array.isArray(value)) return value.map(maskAssetHashes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(ASSET_HASH, ASSET_HASH_MASK), maskAssetHashes(v)]));
  }
  return value;
}

export type StackStatus = 'added' | 'removed' | 'changed' | 'unchanged';

/** Impacts that destroy or recreate a physical resource (or drop it from CloudFormation's care). */
const DESTRUCTIVE: ReadonlySet<ResourceImpact> = new Set([
  ResourceImpact.WILL_DESTROY,
  ResourceImpact.WILL_REPLACE,
  ResourceImpact.MAY_REPLACE,
  ResourceImpact.WILL_ORPHAN,
]);

export interface ResourceRow {
  readonly logicalId: string;
  readonly type: string;
  readonly path?: string;
  readonly impact: ResourceImpact;
}

export interface StackDiff {
  /** `environment/stackName`: how the base and the new stack are paired. */
  readonly key: string;
  readonly stackName: string;
  readonly displayName: string;
  readonly environment: string;
  readonly status: StackStatus;
  /** The library's diff of the asset-masked templates. */
  readonly diff: TemplateDiff;
  /** Every changed resource, in the library's order (removed, added, updated). */
  readonly resources: readonly ResourceRow[];
  /** Resources whose only change is an asset hash (e.g. a handler's code). */
  readonly assetChanges: readonly ResourceRow[];
  /** What the library does not say: deploys that will fail, resources left behind. */
  readonly warnings: readonly string[];
  /** A resource is removed, replaced (or may be) or orphaned, or the whole stack is removed. */
  readonly destructive: boolean;
  /** IAM statements or managed policies added, or security-group rules added (the library's verdict). */
  readonly broadening: boolean;
  /** Logical ID → construct path for this stack. */
  readonly paths: Readonly<Record<string, string>>;
}

type Resources = Readonly<Record<string, CfnResource>>;

function resourcesOf(stack: StackTemplate | undefined): Resources {
  return stack?.template.Resources ?? {};
}

function constructPaths(before: StackTemplate | undefined, after: StackTemplate | undefined): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const stack of [before, after]) {
    for (const [id, r] of Object.entries(resourcesOf(stack))) {
      const p = r.Metadata?.['aws:cdk:path'];
      if (typeof p === 'string') paths[id] = p;
    }
    Object.assign(paths, stack?.constructPaths ?? {});
  }
  return paths;
}

const replacingCache = new Map<string, boolean>();

/** Whether changing `property` replaces a resource of `type`, by the library's reading of the specification. */
export function changeReplaces(type: string, property: string): boolean {
  const key = `${type}.${property}`;
  let replaces = replacingCache.get(key);
  if (replaces === undefined) {
    const resource = (value: string): Json => ({ Resources: { R: { Type: type, Properties: { [property]: value } } } });
    replaces = fullDiff(resource('a') as object, resource('b') as object).resources.get('R').changeImpact === ResourceImpact.WILL_REPLACE;
    replacingCache.set(key, replaces);
  }
  return replaces;
}

function equalJson(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function named(id: string, paths: Readonly<Record<string, string>>): string {
  return paths[id] !== undefined ? `${id} (${paths[id]})` : id;
}

function isRetain(policy: string | undefined): boolean {
  return policy === 'Retain' || policy === 'RetainExceptOnCreate';
}

/** The warnings for one resource change that the library does not give. */
function resourceWarnings(id: string, change: ResourceDifference, paths: Readonly<Record<string, string>>): string[] {
  const before = change.oldValue as CfnResource | undefined;
  const after = change.newValue as CfnResource | undefined;
  const warnings: string[] = [];
  const impact = change.changeImpact;
  if (before !== undefined && after === undefined && isRetain(before.DeletionPolicy)) {
    warnings.push(
      `${named(id, paths)} (${before.Type}) is removed from the stack but its DeletionPolicy ${before.DeletionPolicy} leaves it in the account, ` +
        'outside any stack: delete or import it by hand (a later deploy that creates the same name fails)',
    );
  }
  if (before !== undefined && after !== undefined && (impact === ResourceImpact.WILL_REPLACE || impact === ResourceImpact.MAY_REPLACE)) {
    const kept = Object.keys(after.Properties ?? {}).filter(
      (p) => p.endsWith('Name') && equalJson(before.Properties?.[p], after.Properties?.[p]) && changeReplaces(after.Type, p),
    );
    for (const p of kept) {
      warnings.push(
        `${named(id, paths)} (${after.Type}) ${impact === ResourceImpact.WILL_REPLACE ? 'is' : 'may be'} replaced but keeps its custom name ` +
          `${p} = ${JSON.stringify(after.Properties?.[p])}: CloudFormation cannot replace a custom-named resource, so the deploy fails. ` +
          `Change ${p}, or leave it out so CloudFormation generates one`,
      );
    }
    if (isRetain(before.UpdateReplacePolicy)) {
      warnings.push(
        `${named(id, paths)} (${after.Type}) ${impact === ResourceImpact.WILL_REPLACE ? 'is' : 'may be'} replaced and its UpdateReplacePolicy ` +
          `${before.UpdateReplacePolicy} leaves the old one in the account, outside any stack (and its data with it)`,
      );
    }
  }
  return warnings;
}

/** Diffs one stack (either side may be missing: the stack is added or removed). */
export function diffStack(before: StackTemplate | undefined, after: StackTemplate | undefined): StackDiff {
  const some = (after ?? before) as StackTemplate;
  const oldTemplate = (before?.template ?? {}) as Json;
  const newTemplate = (after?.template ?? {}) as Json;
  const diff = fullDiff(maskAssetHashes(oldTemplate) as object, maskAssetHashes(newTemplate) as object);
  const paths = constructPaths(before, after);
  const resources: ResourceRow[] = [];
  const warnings: string[] = [];
  diff.resources.forEachDifference((id, change) => {
    if (!change.isDifferent) return;
    const type = (change.newResourceType ?? change.oldResourceType) as string;
    resources.push({ logicalId: id, type, path: paths[id], impact: change.changeImpact });
    warnings.push(...resourceWarnings(id, change, paths));
  });
  const oldResources = resourcesOf(before);
  const newResources = resourcesOf(after);
  const assetChanges = Object.keys(newResources)
    .filter((id) => id in oldResources && !resources.some((r) => r.logicalId === id) && !equalJson(oldResources[id] as Json, newResources[id] as Json))
    .map((id) => ({ logicalId: id, type: newResources[id].Type, path: paths[id], impact: ResourceImpact.WILL_UPDATE }));
  const status: StackStatus = before === undefined ? 'added' : after === undefined ? 'removed' : diff.isEmpty && assetChanges.length === 0 ? 'unchanged' : 'changed';
  return {
    key: `${some.environment}/${some.stackName}`,
    stackName: some.stackName,
    displayName: some.displayName,
    environment: some.environment,
    status,
    diff,
    resources,
    assetChanges,
    warnings,
    destructive: status === 'removed' || resources.some((r) => DESTRUCTIVE.has(r.impact)),
    broadening: diff.permissionsBroadened,
    paths,
  };
}

/** Pairs the stacks of two assemblies by environment and stack name and diffs each pair, in the new assembly's order. */
export function diffAssemblies(before: readonly StackTemplate[], after: readonly StackTemplate[]): StackDiff[] {
  const key = (s: StackTemplate): string => `${s.environment}/${s.stackName}`;
  const old = new Map(before.map((s) => [key(s), s]));
  const stacks = after.map((s) => diffStack(old.get(key(s)), s));
  const kept = new Set(after.map(key));
  return [...stacks, ...before.filter((s) => !kept.has(key(s))).map((s) => diffStack(s, undefined))];
}

/** The checks `--fail-on` can ask for. */
export type FailOn = 'destructive' | 'broadening';

/** The checks that fail, with the stacks that fail them. */
export function failures(stacks: readonly StackDiff[], checks: readonly FailOn[]): string[] {
  const out: string[] = [];
  for (const check of checks) {
    const hit = stacks.filter((s) => s[check]).map((s) => s.stackName);
    if (hit.length > 0) out.push(`${check === 'destructive' ? 'destructive changes' : 'permissions broadened'} in ${hit.join(', ')}`);
  }
  return out;
}

const IMPACT_LABEL: Record<ResourceImpact, string> = {
  [ResourceImpact.WILL_CREATE]: 'add',
  [ResourceImpact.WILL_UPDATE]: 'update',
  [ResourceImpact.WILL_REPLACE]: 'REPLACE',
  [ResourceImpact.MAY_REPLACE]: 'MAY REPLACE',
  [ResourceImpact.WILL_DESTROY]: 'DESTROY',
  [ResourceImpact.WILL_ORPHAN]: 'ORPHAN (removed, retained)',
  [ResourceImpact.WILL_IMPORT]: 'import',
  // Different, yet nothing CloudFormation acts on: resource Metadata, such as a moved construct's aws:cdk:path.
  [ResourceImpact.NO_CHANGE]: 'metadata only',
};

function summaryOf(stack: StackDiff): string {
  const counts = new Map<string, number>();
  for (const r of stack.resources) counts.set(IMPACT_LABEL[r.impact], (counts.get(IMPACT_LABEL[r.impact]) ?? 0) + 1);
  const parts = [...counts].map(([label, n]) => `${n} ${label.toLowerCase()}`);
  if (stack.assetChanges.length > 0) parts.push(`${stack.assetChanges.length} code asset(s) changed`);
  const other = stack.diff.differenceCount - stack.diff.resources.differenceCount;
  if (other > 0) parts.push(`${other} other change(s)`);
  const flags = [stack.destructive ? 'DESTRUCTIVE' : '', stack.broadening ? 'PERMISSIONS BROADENED' : '', stack.warnings.length > 0 ? `${stack.warnings.length} warning(s)` : ''];
  const head = stack.status === 'unchanged' ? 'no differences' : `${stack.status}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
  return [head, ...flags.filter((f) => f !== '')].join(' · ');
}

/** A writable that collects what the library's formatter prints, without colours. */
function collector(): { stream: NodeJS.WritableStream & { columns: number }; text: () => string } {
  let out = '';
  const stream = { columns: 120, write: (chunk: string) => ((out += chunk), true) } as unknown as NodeJS.WritableStream & { columns: number };
  return { stream, text: () => stripVTControlCharacters(out).replace(/\n+$/, '') };
}

/** The library's rendering of everything but the security tables (rendered separately). */
function libraryText(stack: StackDiff, security: boolean): string {
  const { stream, text } = collector();
  const f = new Formatter(stream, { ...stack.paths }, stack.diff);
  const d = stack.diff;
  if (security && d.permissionsAnyChanges) {
    f.formatIamChanges(d.iamChanges);
    f.formatSecurityGroupChanges(d.securityGroupChanges);
  }
  f.formatSection('Parameters', 'Parameter', d.parameters);
  f.formatSection('Metadata', 'Metadata', d.metadata);
  f.formatSection('Mappings', 'Mapping', d.mappings);
  f.formatSection('Conditions', 'Condition', d.conditions);
  f.formatSection('Resources', 'Resource', d.resources, f.formatResourceDifference.bind(f));
  f.formatSection('Outputs', 'Output', d.outputs);
  f.formatSection('Other Changes', 'Unknown', d.unknown);
  return text();
}

export interface RenderOptions {
  /** A heading suffix naming what is compared (e.g. `origin/main (0123abcd) → working tree`). */
  readonly title?: string;
  /**
   * Markdown: at most this many lines of the library's property diff per stack (a job summary holds 1 MiB per step).
   * @default 300
   */
  readonly maxDiffLines?: number;
}

/** `text` cut to `max` lines, saying how many were left out and where to see them. */
function capLines(text: string, max: number): string {
  const lines = text.split('\n');
  if (lines.length <= max) return text;
  return [...lines.slice(0, max), `… ${lines.length - max} more line(s): run npm run template-diff locally for the whole diff`].join('\n');
}

function headline(stacks: readonly StackDiff[]): string {
  const changed = stacks.filter((s) => s.status !== 'unchanged');
  const notes = failures(stacks, ['destructive', 'broadening']);
  return `${stacks.length} stack(s), ${changed.length} with differences${notes.length > 0 ? `; ${notes.join('; ')}` : ''}.`;
}

/** Plain text for a terminal: per stack, the library's rendering with construct paths, then Redstream's notes. */
export function renderText(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const lines = [`Template diff${options.title ? `: ${options.title}` : ''}`, headline(stacks)];
  for (const s of stacks.filter((x) => x.status !== 'unchanged')) {
    lines.push('', `Stack ${s.displayName} [${s.environment}]: ${summaryOf(s)}`);
    const body = libraryText(s, true);
    if (body !== '') lines.push(body);
    if (s.assetChanges.length > 0) lines.push(`Code assets changed: ${s.assetChanges.map((r) => named(r.logicalId, s.paths)).join(', ')}`);
    for (const w of s.warnings) lines.push(`WARNING: ${w}`);
  }
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return stripVTControlCharacters(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function table(rows: readonly (readonly string[])[]): string[] {
  const [head, ...body] = rows;
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((t) => t.length));
  return '`'.repeat(longest + 1);
}

const ROW_MARK: Record<ResourceImpact, string> = {
  [ResourceImpact.WILL_CREATE]: '➕',
  [ResourceImpact.WILL_UPDATE]: '✏️',
  [ResourceImpact.WILL_REPLACE]: '🔁',
  [ResourceImpact.MAY_REPLACE]: '🔁',
  [ResourceImpact.WILL_DESTROY]: '🗑️',
  [ResourceImpact.WILL_ORPHAN]: '🗑️',
  [ResourceImpact.WILL_IMPORT]: '📥',
  [ResourceImpact.NO_CHANGE]: '',
};

/** GitHub Markdown for a job summary or a pull-request comment: one collapsible section per stack with differences. */
export function renderMarkdown(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const lines = [`## Template diff${options.title ? `: ${options.title}` : ''}`, '', headline(stacks)];
  for (const s of stacks.filter((x) => x.status !== 'unchanged')) {
    // Sections that need a reviewer's eye start open.
    const open = s.destructive || s.broadening || s.warnings.length > 0;
    lines.push('', `<details${open ? ' open' : ''}>`, `<summary><strong>${s.displayName}</strong> <code>${s.environment}</code>: ${summaryOf(s)}</summary>`, '');
    const rows = [
      ['', 'Construct path', 'Logical ID', 'Type', 'Impact'],
      ...s.resources.map((r) => [ROW_MARK[r.impact], r.path ?? '', r.logicalId, r.type, DESTRUCTIVE.has(r.impact) ? `**${IMPACT_LABEL[r.impact]}**` : IMPACT_LABEL[r.impact]]),
      ...s.assetChanges.map((r) => ['📦', r.path ?? '', r.logicalId, r.type, 'code asset changed']),
    ];
    if (rows.length > 1) lines.push(...table(rows), '');
    if (s.warnings.length > 0) lines.push('**Warnings**', '', ...s.warnings.map((w) => `- ⚠️ ${w}`), '');
    const f = new Formatter(collector().stream, { ...s.paths }, s.diff);
    const iam = s.diff.iamChanges;
    if (iam.statements.hasChanges) lines.push(`**IAM statement changes**${iam.permissionsBroadened ? ' (permissions broadened)' : ''}`, '', ...table(f.deepSubstituteBracedLogicalIds(iam.summarizeStatements())), '');
    if (iam.managedPolicies.hasChanges) lines.push('**IAM managed policy changes**', '', ...table(f.deepSubstituteBracedLogicalIds(iam.summarizeManagedPolicies())), '');
    const sg = s.diff.securityGroupChanges;
    if (sg.hasChanges) lines.push(`**Security group changes**${sg.rulesAdded ? ' (rules added)' : ''}`, '', ...table(f.deepSubstituteBracedLogicalIds(sg.summarize())), '');
    const body = capLines(libraryText(s, false), options.maxDiffLines ?? 300);
    if (body !== '') {
      const ticks = fence(body);
      lines.push('<details><summary>Property changes</summary>', '', ticks, body, ticks, '', '</details>', '');
    }
    lines.push('</details>');
  }
  return `${lines.join('\n')}\n`;
}

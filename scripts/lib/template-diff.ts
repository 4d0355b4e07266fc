/**
 * Pure CloudFormation template diff: compares the templates of two cloud assemblies and renders the result as plain
 * text or GitHub-flavoured Markdown. No file system, no process, no clock: `scripts/template-diff.ts` does the I/O.
 *
 * What it reports per stack: resources added, removed, replaced (a change to a property CloudFormation replaces on),
 * updated (path-level property changes with old → new values), IAM changes (statement-level) and security-group
 * changes (rule-level) in sections of their own, and changes to Outputs, Parameters, Conditions and Mappings.
 * 64-hex asset hashes are masked, so a handler edit alone reads "code asset changed".
 */

/** A JSON value as found in a synthesized template. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly [attribute: string]: Json | undefined;
}

export interface CfnTemplate {
  readonly Resources?: { readonly [logicalId: string]: CfnResource };
  readonly [section: string]: Json | undefined | { readonly [logicalId: string]: CfnResource };
}

/** One stack of a cloud assembly, as the CLI loads it. */
export interface StackTemplate {
  /** Identity used to pair the base and the new stack: the CloudFormation stack name and its environment. */
  readonly key: string;
  /** Human-readable name: the artifact's display name (construct path). */
  readonly displayName: string;
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** `aws://account/region`, or `unknown-account/unknown-region` for environment-agnostic stacks. */
  readonly environment: string;
  readonly template: CfnTemplate;
}

/**
 * What a property change does to the resource, from harmless to dangerous.
 * - `update`: updated in place (the type is in {@link REPLACEMENT_RULES} and the property is not a replacing one).
 * - `may-replace`: the type is not in the table, so the diff cannot tell.
 * - `replace`: CloudFormation creates a new physical resource and deletes the old one.
 * - `rejected`: CloudFormation refuses the update (immutable property, e.g. a KMS key's KeySpec).
 */
export type Impact = 'update' | 'may-replace' | 'replace' | 'rejected';

const IMPACT_RANK: Record<Impact, number> = { update: 0, 'may-replace': 1, replace: 2, rejected: 3 };

export interface ReplacementRule {
  /** Top-level properties whose change replaces the resource. */
  readonly replace: readonly string[];
  /** Top-level properties whose change replaces the resource only for some values. @default - none */
  readonly mayReplace?: readonly string[];
  /** Top-level properties whose change CloudFormation rejects. @default - none */
  readonly rejected?: readonly string[];
}

/**
 * Replacement properties of the resource types Redstream uses, from the CloudFormation resource specification
 * ("Update requires: Replacement"). A listed type's other properties update in place; an unlisted type's changes
 * read "may replace". Keep it small and exact: add a type only with its complete list.
 */
export const REPLACEMENT_RULES: Readonly<Record<string, ReplacementRule>> = {
  'AWS::Kinesis::Stream': { replace: ['Name'] },
  'AWS::Kinesis::StreamConsumer': { replace: ['ConsumerName', 'StreamARN', 'Tags'] },
  'AWS::DynamoDB::Table': { replace: ['TableName', 'KeySchema', 'ImportSourceSpecification'] },
  'AWS::DynamoDB::GlobalTable': { replace: ['TableName', 'KeySchema', 'LocalSecondaryIndexes'] },
  'AWS::S3::Bucket': { replace: ['BucketName', 'BucketNamePrefix', 'BucketNamespace', 'ObjectLockEnabled'] },
  'AWS::S3::BucketPolicy': { replace: ['Bucket'] },
  'AWS::KMS::Key': { replace: [], rejected: ['KeySpec', 'KeyUsage', 'Origin', 'MultiRegion'] },
  'AWS::KMS::Alias': { replace: ['AliasName'] },
  'AWS::RedshiftServerless::Namespace': { replace: ['NamespaceName', 'Tags'] },
  'AWS::RedshiftServerless::Workgroup': { replace: ['NamespaceName', 'WorkgroupName'] },
  'AWS::IAM::Role': { replace: ['RoleName', 'Path'] },
  'AWS::IAM::Policy': { replace: [] },
  'AWS::IAM::ManagedPolicy': { replace: ['ManagedPolicyName', 'Path', 'Description'] },
  'AWS::Lambda::Function': { replace: ['FunctionName', 'PackageType', 'TenancyConfig'] },
  'AWS::Lambda::EventSourceMapping': {
    replace: [
      'EventSourceArn',
      'StartingPosition',
      'StartingPositionTimestamp',
      'SelfManagedEventSource',
      'SelfManagedKafkaEventSourceConfig',
      'AmazonManagedKafkaEventSourceConfig',
    ],
  },
  'AWS::KinesisFirehose::DeliveryStream': {
    replace: [
      'DeliveryStreamName',
      'DeliveryStreamType',
      'KinesisStreamSourceConfiguration',
      'MSKSourceConfiguration',
      'DirectPutSourceConfiguration',
      'DatabaseSourceConfiguration',
    ],
  },
  'AWS::CloudWatch::Alarm': { replace: ['AlarmName'] },
  'AWS::SecretsManager::Secret': { replace: ['Name'] },
  'AWS::Logs::LogGroup': { replace: ['LogGroupName'] },
  'AWS::SNS::Topic': { replace: ['TopicName', 'FifoTopic'] },
  'AWS::SQS::Queue': { replace: ['QueueName', 'FifoQueue'] },
  'AWS::Lambda::Permission': {
    replace: [
      'Action',
      'EventSourceToken',
      'FunctionName',
      'FunctionUrlAuthType',
      'InvokedViaFunctionUrl',
      'Principal',
      'PrincipalOrgID',
      'SourceAccount',
      'SourceArn',
    ],
  },
  'AWS::Lambda::Version': {
    replace: ['CodeSha256', 'Description', 'FunctionName', 'ProvisionedConcurrencyConfig', 'RuntimePolicy'],
  },
  'AWS::Lambda::Alias': { replace: ['FunctionName', 'Name'] },
  'AWS::Lambda::EventInvokeConfig': { replace: ['FunctionName', 'Qualifier'] },
  'AWS::Logs::LogStream': { replace: ['LogGroupName', 'LogStreamName'] },
  'AWS::SNS::TopicPolicy': { replace: [] },
  'AWS::SNS::Subscription': { replace: ['Endpoint', 'Protocol', 'TopicArn'] },
  'AWS::SQS::QueuePolicy': { replace: [] },
  'AWS::Events::Rule': { replace: ['EventBusName', 'Name'] },
  'AWS::Scheduler::Schedule': { replace: ['Name'] },
  'AWS::SSM::Parameter': { replace: ['Name'] },
  'AWS::EC2::VPC': {
    replace: ['CidrBlock', 'Ipv4IpamPoolId', 'Ipv4NetmaskLength', 'VpcEncryptionControl'],
    mayReplace: ['InstanceTenancy'],
  },
  'AWS::EC2::Subnet': {
    replace: [
      'AvailabilityZone',
      'AvailabilityZoneId',
      'CidrBlock',
      'Ipv4IpamPoolId',
      'Ipv4NetmaskLength',
      'Ipv6IpamPoolId',
      'Ipv6Native',
      'Ipv6NetmaskLength',
      'OutpostArn',
      'VpcId',
    ],
    mayReplace: ['Ipv6CidrBlock'],
  },
  'AWS::EC2::RouteTable': { replace: ['VpcId'] },
  'AWS::EC2::SubnetRouteTableAssociation': { replace: ['RouteTableId', 'SubnetId'] },
  'AWS::EC2::FlowLog': {
    replace: [
      'DeliverCrossAccountRole',
      'DeliverLogsPermissionArn',
      'DestinationOptions',
      'LogDestination',
      'LogDestinationType',
      'LogFormat',
      'LogGroupName',
      'MaxAggregationInterval',
      'ResourceId',
      'ResourceType',
      'TagFieldSpecifications',
      'TrafficType',
    ],
  },
  'AWS::EC2::SecurityGroup': { replace: ['GroupDescription', 'GroupName', 'VpcId'] },
  'AWS::EC2::SecurityGroupIngress': {
    replace: [
      'CidrIp',
      'CidrIpv6',
      'FromPort',
      'GroupId',
      'GroupName',
      'IpProtocol',
      'SourcePrefixListId',
      'SourceSecurityGroupId',
      'SourceSecurityGroupName',
      'SourceSecurityGroupOwnerId',
      'ToPort',
    ],
  },
  'AWS::EC2::SecurityGroupEgress': {
    replace: [
      'CidrIp',
      'CidrIpv6',
      'DestinationPrefixListId',
      'DestinationSecurityGroupId',
      'FromPort',
      'GroupId',
      'IpProtocol',
      'ToPort',
    ],
  },
  'AWS::EC2::VPCEndpoint': {
    replace: ['VpcId', 'ServiceName', 'VpcEndpointType', 'ServiceNetworkArn', 'ResourceConfigurationArn', 'ServiceRegion'],
  },
};

/** Resource types whose every property change is sent to a handler as an Update (never a CloudFormation replace). */
function isCustomResource(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/** The impact of changing the top-level property `property` of a resource of type `type`. */
export function propertyImpact(type: string, property: string): Impact {
  if (isCustomResource(type)) return 'update';
  const rule = REPLACEMENT_RULES[type];
  if (rule === undefined) return 'may-replace';
  if (rule.rejected?.includes(property) === true) return 'rejected';
  if (rule.mayReplace?.includes(property) === true) return 'may-replace';
  return rule.replace.includes(property) ? 'replace' : 'update';
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const ASSET_HASH = /[0-9a-f]{64}/gi;
export const ASSET_HASH_MASK = '<asset-hash>';

/** The value with every 64-hex run (CDK asset hash) in its strings and keys replaced by {@link ASSET_HASH_MASK}. */
export function maskAssetHashes(value: Json): Json {
  if (typeof value === 'string') return value.replace(ASSET_HASH, ASSET_HASH_MASK);
  if (Array.isArray(value)) return value.map(maskAssetHashes);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k.replace(ASSET_HASH, ASSET_HASH_MASK)] = maskAssetHashes(v);
    return out;
  }
  return value;
}

function isObject(value: Json | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** A stable serialization (sorted keys) for equality and set operations. */
export function canonical(value: Json | undefined): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  return canonical(a) === canonical(b);
}

/** An intrinsic function object: exactly one key, `Ref` or `Fn::*`. */
function intrinsicName(value: Json | undefined): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const [key] = keys;
  return key === 'Ref' || key.startsWith('Fn::') ? key : undefined;
}

/** Readable form of a template value: intrinsics as `${Logical.Attr}`, joins flattened, JSON otherwise. */
export function formatValue(value: Json | undefined): string {
  if (value === undefined) return '(absent)';
  const fn = intrinsicName(value);
  if (fn !== undefined && isObject(value)) {
    const arg = value[fn];
    if (fn === 'Ref' && typeof arg === 'string') return `\${${arg}}`;
    if (fn === 'Fn::GetAtt') {
      if (Array.isArray(arg)) return `\${${arg.map((a) => (typeof a === 'string' ? a : formatValue(a))).join('.')}}`;
      if (typeof arg === 'string') return `\${${arg}}`;
    }
    if (fn === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
      const sep = arg[0];
      return arg[1].map((p) => (typeof p === 'string' ? p : formatValue(p))).join(sep);
    }
    if (fn === 'Fn::Sub') {
      if (typeof arg === 'string') return arg;
      if (Array.isArray(arg) && typeof arg[0] === 'string') return arg[0];
    }
    if (fn === 'Fn::ImportValue') return `import(${formatValue(arg)})`;
    const args = Array.isArray(arg) ? arg.map(formatValue).join(', ') : formatValue(arg);
    return `${fn.replace('Fn::', '')}(${args})`;
  }
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (isObject(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** Cuts `text` to at most `max` characters, keeping the start, with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/**
 * Formats an old → new pair so the difference stays visible: when both are longer than `max` and share a long
 * prefix, both are shown from a little before their first difference.
 */
export function formatChange(oldValue: Json | undefined, newValue: Json | undefined, max = 120): string {
  let a = formatValue(oldValue);
  let b = formatValue(newValue);
  if (a.length > max || b.length > max) {
    let common = 0;
    while (common < a.length && common < b.length && a[common] === b[common]) common++;
    // When the first difference would be cut off, start both a little before it.
    const keep = Math.min(20, Math.floor(max / 4));
    if (common > max - keep) {
      const from = common - keep;
      a = `…${a.slice(from)}`;
      b = `…${b.slice(from)}`;
    }
  }
  return `${truncate(a, max)} → ${truncate(b, max)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Structural diff

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface PropertyChange {
  /** Path below `Properties` (or the attribute name): `KeySchema[0].AttributeName`; `Tags[]` for list members. */
  readonly path: string;
  /** The top-level property (or attribute) the path starts with. */
  readonly property: string;
  readonly kind: ChangeKind;
  readonly oldValue?: Json;
  readonly newValue?: Json;
  /** Only asset hashes differ: the change reads "code asset changed". */
  readonly assetOnly: boolean;
  readonly impact: Impact;
}

interface RawChange {
  readonly path: string;
  readonly top: string;
  readonly kind: ChangeKind;
  readonly oldValue?: Json;
  readonly newValue?: Json;
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Leaf-level differences between two values. Objects recurse by key; lists of equal length recurse by index; lists
 * whose length changed report the members added and removed (as `path[]`); anything else is a changed leaf.
 * Intrinsic functions are leaves.
 */
export function diffValues(
  oldValue: Json | undefined,
  newValue: Json | undefined,
  path = '',
  top = '',
): RawChange[] {
  if (jsonEqual(oldValue, newValue)) return [];
  if (oldValue === undefined) return [{ path, top, kind: 'added', newValue }];
  if (newValue === undefined) return [{ path, top, kind: 'removed', oldValue }];
  const oldFn = intrinsicName(oldValue);
  const newFn = intrinsicName(newValue);
  if (isObject(oldValue) && isObject(newValue) && oldFn === undefined && newFn === undefined) {
    const keys = [...new Set([...Object.keys(oldValue), ...Object.keys(newValue)])].sort();
    return keys.flatMap((k) => diffValues(oldValue[k], newValue[k], joinPath(path, k), top === '' ? k : top));
  }
  if (Array.isArray(oldValue) && Array.isArray(newValue)) {
    if (oldValue.length === newValue.length) {
      return oldValue.flatMap((o, i) => diffValues(o, newValue[i], `${path}[${i}]`, top));
    }
    const remaining = new Map<string, number>();
    for (const n of newValue) remaining.set(canonical(n), (remaining.get(canonical(n)) ?? 0) + 1);
    const removed: RawChange[] = [];
    for (const o of oldValue) {
      const c = canonical(o);
      const left = remaining.get(c) ?? 0;
      if (left > 0) remaining.set(c, left - 1);
      else removed.push({ path: `${path}[]`, top, kind: 'removed', oldValue: o });
    }
    const added: RawChange[] = [];
    for (const n of newValue) {
      const c = canonical(n);
      const left = remaining.get(c) ?? 0;
      if (left > 0) {
        remaining.set(c, left - 1);
        added.push({ path: `${path}[]`, top, kind: 'added', newValue: n });
      }
    }
    return [...removed, ...added];
  }
  return [{ path, top, kind: 'changed', oldValue, newValue }];
}

function toPropertyChange(raw: RawChange, impactOf: (top: string) => Impact): PropertyChange {
  const assetOnly =
    raw.kind === 'changed' &&
    raw.oldValue !== undefined &&
    raw.newValue !== undefined &&
    jsonEqual(maskAssetHashes(raw.oldValue), maskAssetHashes(raw.newValue));
  return {
    path: raw.path,
    property: raw.top,
    kind: raw.kind,
    ...(raw.oldValue !== undefined ? { oldValue: raw.oldValue } : {}),
    ...(raw.newValue !== undefined ? { newValue: raw.newValue } : {}),
    assetOnly,
    impact: impactOf(raw.top),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// IAM and security groups

/** A named set of rendered rules of one resource (an IAM statement or a security-group rule per line). */
type Facets = Map<string, string[]>;

function asList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Like {@link formatValue}, but a plain string is shown without quotes. */
function formatPlain(value: Json | undefined): string {
  return typeof value === 'string' ? value : formatValue(value);
}

function formatList(value: Json | undefined): string {
  return asList(value).map(formatPlain).sort().join(', ');
}

function formatPrincipal(principal: Json | undefined): string {
  if (principal === undefined) return '';
  if (isObject(principal) && intrinsicName(principal) === undefined) {
    return Object.keys(principal)
      .sort()
      .map((k) => `${k} ${formatList(principal[k])}`)
      .join(' + ');
  }
  return formatPlain(principal);
}

/** One line per policy statement: `Allow a, b on r (principal: …) (condition: …)`. */
export function formatStatement(statement: Json): string {
  if (!isObject(statement) || intrinsicName(statement) !== undefined) return formatValue(statement);
  const parts = [formatPlain(statement.Effect)];
  if (statement.Action !== undefined) parts.push(formatList(statement.Action));
  if (statement.NotAction !== undefined) parts.push(`NOT ${formatList(statement.NotAction)}`);
  if (statement.Resource !== undefined) parts.push(`on ${formatList(statement.Resource)}`);
  if (statement.NotResource !== undefined) parts.push(`on NOT ${formatList(statement.NotResource)}`);
  if (statement.Principal !== undefined) parts.push(`(principal: ${formatPrincipal(statement.Principal)})`);
  if (statement.NotPrincipal !== undefined) parts.push(`(NOT principal: ${formatPrincipal(statement.NotPrincipal)})`);
  if (statement.Condition !== undefined) parts.push(`(condition: ${formatValue(statement.Condition)})`);
  return parts.join(' ');
}

function statementLines(document: Json | undefined): string[] {
  if (!isObject(document) || intrinsicName(document) !== undefined) {
    return document === undefined ? [] : [formatValue(document)];
  }
  return asList(document.Statement).map(formatStatement);
}

function addFacet(facets: Facets, name: string, lines: string[]): void {
  if (lines.length > 0) facets.set(name, [...(facets.get(name) ?? []), ...lines]);
}

/** Properties that hold an IAM policy document on any resource type. */
const POLICY_DOCUMENT_PROPERTIES = [
  'PolicyDocument',
  'KeyPolicy',
  'AssumeRolePolicyDocument',
  'ResourcePolicy',
  'NamespaceResourcePolicy',
];

/** IAM-relevant content of a resource, as rendered lines per facet. Empty when the resource has none. */
export function iamFacets(resource: CfnResource | undefined): Facets {
  const facets: Facets = new Map();
  if (resource === undefined) return facets;
  const props = resource.Properties ?? {};
  const type = resource.Type;
  for (const p of POLICY_DOCUMENT_PROPERTIES) {
    const label = p === 'AssumeRolePolicyDocument' ? 'trust policy' : p === 'KeyPolicy' ? 'key policy' : 'policy';
    addFacet(facets, label, statementLines(props[p]));
  }
  for (const inline of asList(props.Policies)) {
    if (isObject(inline)) {
      addFacet(facets, `inline policy ${formatPlain(inline.PolicyName)}`, statementLines(inline.PolicyDocument));
    }
  }
  addFacet(facets, 'managed policies', asList(props.ManagedPolicyArns).map(formatPlain));
  if (props.PermissionsBoundary !== undefined) addFacet(facets, 'permissions boundary', [formatPlain(props.PermissionsBoundary)]);
  if (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy') {
    for (const k of ['Roles', 'Users', 'Groups']) {
      addFacet(facets, `attached to ${k.toLowerCase()}`, asList(props[k]).map(formatPlain));
    }
  }
  if (type === 'AWS::Lambda::Permission') {
    const source = props.SourceArn !== undefined ? ` from ${formatPlain(props.SourceArn)}` : '';
    const account = props.SourceAccount !== undefined ? ` (account ${formatPlain(props.SourceAccount)})` : '';
    addFacet(facets, 'invoke permission', [
      `${formatPlain(props.Principal)} may ${formatPlain(props.Action)} ${formatPlain(props.FunctionName)}${source}${account}`,
    ]);
  }
  if (type.startsWith('AWS::IAM::') && facets.size === 0) {
    addFacet(facets, 'resource', [formatValue(props)]);
  }
  return facets;
}

function formatPorts(rule: JsonObject): string {
  const protocol = formatPlain(rule.IpProtocol);
  if (protocol === '-1') return 'all traffic';
  const from = rule.FromPort;
  const to = rule.ToPort;
  if (from === undefined && to === undefined) return protocol;
  if (canonical(from) === canonical(to)) return `${protocol} ${formatPlain(from)}`;
  return `${protocol} ${formatPlain(from)}-${formatPlain(to)}`;
}

function formatPeer(rule: JsonObject, direction: 'ingress' | 'egress'): string {
  const keys =
    direction === 'ingress'
      ? ['CidrIp', 'CidrIpv6', 'SourceSecurityGroupId', 'SourcePrefixListId', 'SourceSecurityGroupName']
      : ['CidrIp', 'CidrIpv6', 'DestinationSecurityGroupId', 'DestinationPrefixListId'];
  const peers = keys.filter((k) => rule[k] !== undefined).map((k) => formatPlain(rule[k]));
  return peers.length > 0 ? peers.join(', ') : '(no peer)';
}

function formatRule(rule: Json, direction: 'ingress' | 'egress', group?: Json): string {
  if (!isObject(rule) || intrinsicName(rule) !== undefined) return `${direction} ${formatValue(rule)}`;
  const target = group !== undefined ? ` on ${formatValue(group)}` : '';
  const peer = `${direction === 'ingress' ? 'from' : 'to'} ${formatPeer(rule, direction)}`;
  const description = rule.Description !== undefined ? ` (${formatPlain(rule.Description)})` : '';
  return `${direction}${target} ${formatPorts(rule)} ${peer}${description}`;
}

/** Names of properties, at any depth, that attach security groups to a non-security-group resource. */
const SECURITY_GROUP_ATTACHMENTS = new Set(['SecurityGroupIds', 'SecurityGroups', 'VpcSecurityGroupIds']);

function findAttachments(value: Json | undefined, path: string, out: string[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => findAttachments(v, `${path}[${i}]`, out));
  else if (isObject(value) && intrinsicName(value) === undefined) {
    for (const [k, v] of Object.entries(value)) {
      const p = joinPath(path, k);
      if (SECURITY_GROUP_ATTACHMENTS.has(k)) out.push(...asList(v).map((g) => `${p}: ${formatValue(g)}`));
      else findAttachments(v, p, out);
    }
  }
}

/** Security-group content of a resource (rules, attachments) as rendered lines per facet. */
export function securityGroupFacets(resource: CfnResource | undefined): Facets {
  const facets: Facets = new Map();
  if (resource === undefined) return facets;
  const props = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::EC2::SecurityGroup':
      addFacet(facets, 'rules', [
        ...asList(props.SecurityGroupIngress).map((r) => formatRule(r, 'ingress')),
        ...asList(props.SecurityGroupEgress).map((r) => formatRule(r, 'egress')),
      ]);
      break;
    case 'AWS::EC2::SecurityGroupIngress':
      addFacet(facets, 'rules', [formatRule(props, 'ingress', props.GroupId ?? props.GroupName)]);
      break;
    case 'AWS::EC2::SecurityGroupEgress':
      addFacet(facets, 'rules', [formatRule(props, 'egress', props.GroupId)]);
      break;
    default: {
      const lines: string[] = [];
      findAttachments(props, '', lines);
      addFacet(facets, 'attached security groups', lines);
    }
  }
  return facets;
}

/**
 * The section that already shows a change to top-level property `property` of a `type` resource in full
 * ('IAM' or 'security groups'), so the resource list only points there.
 */
export function sectionCovering(type: string, property: string): 'IAM' | 'security group' | undefined {
  if (type === 'AWS::Lambda::Permission') return 'IAM';
  if (type === 'AWS::EC2::SecurityGroupIngress' || type === 'AWS::EC2::SecurityGroupEgress') return 'security group';
  if (type === 'AWS::EC2::SecurityGroup' && (property === 'SecurityGroupIngress' || property === 'SecurityGroupEgress')) {
    return 'security group';
  }
  if (POLICY_DOCUMENT_PROPERTIES.includes(property)) return 'IAM';
  if (['Policies', 'ManagedPolicyArns', 'PermissionsBoundary'].includes(property)) return 'IAM';
  if ((type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy') && ['Roles', 'Users', 'Groups'].includes(property)) {
    return 'IAM';
  }
  return undefined;
}

export interface FacetChange {
  readonly facet: string;
  readonly added: string[];
  readonly removed: string[];
}

/** Lines added and removed per facet (multiset difference, asset hashes masked). */
export function diffFacets(oldFacets: Facets, newFacets: Facets): FacetChange[] {
  const names = [...new Set([...oldFacets.keys(), ...newFacets.keys()])].sort();
  const changes: FacetChange[] = [];
  for (const facet of names) {
    const mask = (l: string): string => l.replace(ASSET_HASH, ASSET_HASH_MASK);
    const oldLines = (oldFacets.get(facet) ?? []).map(mask);
    const newLines = (newFacets.get(facet) ?? []).map(mask);
    const removed = multisetMinus(oldLines, newLines);
    const added = multisetMinus(newLines, oldLines);
    if (added.length > 0 || removed.length > 0) changes.push({ facet, added, removed });
  }
  return changes;
}

function multisetMinus(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  return a.filter((x) => {
    const n = counts.get(x) ?? 0;
    if (n > 0) {
      counts.set(x, n - 1);
      return false;
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Template and assembly diff

/**
 * What happens to a resource:
 * - `added`, `removed`;
 * - `replaced`: a replacing property or the type changed;
 * - `rejected`: CloudFormation will refuse the update;
 * - `may-replace`: a property of a type without a replacement rule changed;
 * - `updated`: in-place update;
 * - `asset`: only asset hashes changed ("code asset changed").
 */
export type ResourceStatus = 'added' | 'removed' | 'replaced' | 'rejected' | 'may-replace' | 'updated' | 'asset';

export interface ResourceChange {
  readonly logicalId: string;
  readonly type: string;
  /** The base's type when the type changed. */
  readonly oldType?: string;
  readonly status: ResourceStatus;
  /** Property changes, path-level; empty for added and removed resources. */
  readonly properties: PropertyChange[];
  /** Changes to DeletionPolicy, UpdateReplacePolicy, DependsOn, Condition, UpdatePolicy, CreationPolicy. */
  readonly attributes: PropertyChange[];
  /**
   * What happens to the old physical resource of a removed (DeletionPolicy) or replaced (UpdateReplacePolicy)
   * resource; the attribute's default is Delete.
   */
  readonly oldResourcePolicy?: { readonly attribute: 'DeletionPolicy' | 'UpdateReplacePolicy'; readonly value: string };
  /**
   * A replaced resource's custom physical-name property that did not change: CloudFormation cannot replace a
   * custom-named resource, so the update fails.
   */
  readonly customName?: string;
}

export interface SecurityChange {
  readonly logicalId: string;
  readonly type: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly facets: FacetChange[];
}

export interface SectionChange {
  /** Template section: Outputs, Parameters, Conditions, Mappings, … */
  readonly section: string;
  readonly name: string;
  readonly kind: ChangeKind;
  readonly changes: PropertyChange[];
}

export type StackStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface StackDiff {
  readonly key: string;
  readonly displayName: string;
  readonly stackName: string;
  readonly environment: string;
  readonly status: StackStatus;
  readonly resources: ResourceChange[];
  readonly iam: SecurityChange[];
  readonly securityGroups: SecurityChange[];
  readonly sections: SectionChange[];
}

export interface AssemblyDiff {
  readonly stacks: StackDiff[];
}

const RESOURCE_ATTRIBUTES = ['DeletionPolicy', 'UpdateReplacePolicy', 'DependsOn', 'Condition', 'UpdatePolicy', 'CreationPolicy'];

function resourceAttributes(resource: CfnResource): JsonObject {
  const out: JsonObject = {};
  for (const a of RESOURCE_ATTRIBUTES) {
    const v = resource[a];
    if (v !== undefined) out[a] = a === 'DependsOn' ? asList(v).map(String).sort() : v;
  }
  return out;
}

function policyOf(
  resource: CfnResource,
  attribute: 'DeletionPolicy' | 'UpdateReplacePolicy',
): { attribute: 'DeletionPolicy' | 'UpdateReplacePolicy'; value: string } {
  const value = resource[attribute];
  return { attribute, value: typeof value === 'string' ? value : 'Delete' };
}

/** A replacing `…Name` property set in both versions to the same value. */
function unchangedCustomName(type: string, before: CfnResource, after: CfnResource): string | undefined {
  const names = (REPLACEMENT_RULES[type]?.replace ?? []).filter((p) => p.endsWith('Name'));
  return names.find((p) => after.Properties?.[p] !== undefined && jsonEqual(before.Properties?.[p], after.Properties?.[p]));
}

function worstImpact(changes: PropertyChange[]): Impact {
  return changes.reduce<Impact>((w, c) => (IMPACT_RANK[c.impact] > IMPACT_RANK[w] ? c.impact : w), 'update');
}

const STATUS_FOR_IMPACT: Record<Impact, ResourceStatus> = {
  update: 'updated',
  'may-replace': 'may-replace',
  replace: 'replaced',
  rejected: 'rejected',
};

/** The change of one resource between two templates, or undefined when nothing but Metadata differs. */
export function diffResource(
  logicalId: string,
  oldResource: CfnResource | undefined,
  newResource: CfnResource | undefined,
): ResourceChange | undefined {
  if (oldResource === undefined && newResource === undefined) return undefined;
  if (oldResource === undefined && newResource !== undefined) {
    return { logicalId, type: newResource.Type, status: 'added', properties: [], attributes: [] };
  }
  if (newResource === undefined && oldResource !== undefined) {
    return {
      logicalId,
      type: oldResource.Type,
      status: 'removed',
      properties: [],
      attributes: [],
      oldResourcePolicy: policyOf(oldResource, 'DeletionPolicy'),
    };
  }
  const before = oldResource as CfnResource;
  const after = newResource as CfnResource;
  const type = after.Type;
  const properties = diffValues(before.Properties ?? {}, after.Properties ?? {}).map((c) =>
    toPropertyChange(c, (top) => propertyImpact(type, top)),
  );
  const attributes = diffValues(resourceAttributes(before), resourceAttributes(after)).map((c) =>
    toPropertyChange(c, () => 'update'),
  );
  if (before.Type !== after.Type) {
    // CloudFormation rejects a type change under the same logical id.
    return { logicalId, type, oldType: before.Type, status: 'rejected', properties, attributes };
  }
  if (properties.length === 0 && attributes.length === 0) return undefined;
  const meaningful = properties.filter((c) => !c.assetOnly);
  const status: ResourceStatus =
    meaningful.length === 0 && attributes.length === 0 ? 'asset' : STATUS_FOR_IMPACT[worstImpact(meaningful)];
  const customName = status === 'replaced' ? unchangedCustomName(type, before, after) : undefined;
  return {
    logicalId,
    type,
    status,
    properties,
    attributes,
    ...(status === 'replaced' ? { oldResourcePolicy: policyOf(before, 'UpdateReplacePolicy') } : {}),
    ...(customName !== undefined ? { customName } : {}),
  };
}

function diffSecurity(
  resources: Set<string>,
  oldResources: Record<string, CfnResource>,
  newResources: Record<string, CfnResource>,
  facetsOf: (r: CfnResource | undefined) => Facets,
): SecurityChange[] {
  const out: SecurityChange[] = [];
  for (const id of [...resources].sort()) {
    const before = oldResources[id];
    const after = newResources[id];
    const facets = diffFacets(facetsOf(before), facetsOf(after));
    if (facets.length === 0) continue;
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
    out.push({ logicalId: id, type: (after ?? before).Type, status, facets });
  }
  return out;
}

const OTHER_SECTIONS = ['Parameters', 'Conditions', 'Mappings', 'Outputs', 'Rules'];

function sectionOf(template: CfnTemplate | undefined, section: string): JsonObject {
  const value = template?.[section];
  return isObject(value as Json | undefined) ? (value as JsonObject) : {};
}

const STATUS_ORDER: Record<ResourceStatus, number> = {
  rejected: 0,
  replaced: 1,
  removed: 2,
  'may-replace': 3,
  added: 4,
  updated: 5,
  asset: 6,
};

/** The template's resources except `AWS::CDK::Metadata` (library analytics: churn, no deployment effect). */
function withoutCdkMetadata(template: CfnTemplate | undefined): Record<string, CfnResource> {
  const out: Record<string, CfnResource> = {};
  for (const [id, r] of Object.entries(template?.Resources ?? {})) if (r.Type !== 'AWS::CDK::Metadata') out[id] = r;
  return out;
}

/** The diff of one stack; `before` or `after` is undefined when the stack is added or removed. */
export function diffStack(before: StackTemplate | undefined, after: StackTemplate | undefined): StackDiff {
  const meta = (after ?? before) as StackTemplate;
  const oldResources = withoutCdkMetadata(before?.template);
  const newResources = withoutCdkMetadata(after?.template);
  const ids = new Set([...Object.keys(oldResources), ...Object.keys(newResources)]);
  const resources = [...ids]
    .sort()
    .map((id) => diffResource(id, oldResources[id], newResources[id]))
    .filter((c): c is ResourceChange => c !== undefined)
    .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.logicalId.localeCompare(b.logicalId));
  const iam = diffSecurity(ids, oldResources, newResources, iamFacets);
  const securityGroups = diffSecurity(ids, oldResources, newResources, securityGroupFacets);
  const sections: SectionChange[] = [];
  for (const section of OTHER_SECTIONS) {
    const a = sectionOf(before?.template, section);
    const b = sectionOf(after?.template, section);
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (jsonEqual(a[name], b[name])) continue;
      const kind: ChangeKind = a[name] === undefined ? 'added' : b[name] === undefined ? 'removed' : 'changed';
      const changes =
        kind === 'changed' ? diffValues(a[name], b[name]).map((c) => toPropertyChange(c, () => 'update')) : [];
      sections.push({ section, name, kind, changes });
    }
  }
  const status: StackStatus =
    before === undefined
      ? 'added'
      : after === undefined
        ? 'removed'
        : resources.length + sections.length + iam.length + securityGroups.length > 0
          ? 'changed'
          : 'unchanged';
  return {
    key: meta.key,
    displayName: meta.displayName,
    stackName: meta.stackName,
    environment: meta.environment,
    status,
    resources,
    iam,
    securityGroups,
    sections,
  };
}

/** Pairs the stacks of two assemblies by key and diffs each pair, in the new assembly's order (removed last). */
export function diffAssemblies(before: readonly StackTemplate[], after: readonly StackTemplate[]): AssemblyDiff {
  const oldByKey = new Map(before.map((s) => [s.key, s]));
  const newKeys = new Set(after.map((s) => s.key));
  const stacks = [
    ...after.map((s) => diffStack(oldByKey.get(s.key), s)),
    ...before.filter((s) => !newKeys.has(s.key)).map((s) => diffStack(s, undefined)),
  ];
  return { stacks };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

export interface StackCounts {
  readonly added: number;
  readonly removed: number;
  readonly replaced: number;
  readonly mayReplace: number;
  readonly updated: number;
  readonly asset: number;
  readonly iam: number;
  readonly securityGroups: number;
}

export function countChanges(stack: StackDiff): StackCounts {
  const n = (s: ResourceStatus): number => stack.resources.filter((r) => r.status === s).length;
  return {
    added: n('added'),
    removed: n('removed'),
    replaced: n('replaced') + n('rejected'),
    mayReplace: n('may-replace'),
    updated: n('updated'),
    asset: n('asset'),
    iam: stack.iam.length,
    securityGroups: stack.securityGroups.length,
  };
}

function summaryLine(counts: StackCounts): string {
  const parts = [
    [counts.added, 'added'],
    [counts.removed, 'removed'],
    [counts.replaced, 'replaced'],
    [counts.mayReplace, 'may replace'],
    [counts.updated, 'updated'],
    [counts.asset, 'code asset changed'],
    [counts.iam, 'IAM'],
    [counts.securityGroups, 'security group'],
  ] as const;
  const text = parts
    .filter(([count]) => count > 0)
    .map(([count, label]) => `${count} ${label}`)
    .join(', ');
  return text === '' ? 'no resource changes' : text;
}

const MARKER: Record<ResourceStatus, string> = {
  added: '+',
  removed: '-',
  replaced: '!',
  rejected: '!',
  'may-replace': '?',
  updated: '~',
  asset: '~',
};

const STATUS_LABEL: Record<ResourceStatus, string> = {
  added: 'added',
  removed: 'removed',
  replaced: 'REPLACE',
  rejected: 'UPDATE REJECTED',
  'may-replace': 'may replace',
  updated: 'update',
  asset: 'code asset changed',
};

const IMPACT_NOTE: Record<Impact, string> = {
  update: '',
  'may-replace': '  [may replace]',
  replace: '  [replaces]',
  rejected: '  [rejected: immutable]',
};

export interface RenderOptions {
  /** Longest rendered value. @default 120 */
  readonly maxValueLength?: number;
}

function propertyLine(change: PropertyChange, max: number, showImpact: boolean): string {
  const note = showImpact ? IMPACT_NOTE[change.impact] : '';
  const path = change.path === '' ? '(value)' : change.path;
  if (change.assetOnly) return `${path}: code asset changed`;
  switch (change.kind) {
    case 'added':
      return `${path}: + ${truncate(formatValue(change.newValue), max)}${note}`;
    case 'removed':
      return `${path}: - ${truncate(formatValue(change.oldValue), max)}${note}`;
    default:
      return `${path}: ${formatChange(change.oldValue, change.newValue, max)}${note}`;
  }
}

function resourceLines(change: ResourceChange, max: number): string[] {
  const type = change.oldType !== undefined ? `${change.oldType} → ${change.type}` : change.type;
  let head = `${MARKER[change.status]} ${type} ${change.logicalId}`;
  if (change.status !== 'added' && change.status !== 'removed') head += `  ${STATUS_LABEL[change.status]}`;
  if (change.oldType !== undefined) head += ' (type changed under the same logical id)';
  const policy = change.oldResourcePolicy;
  if (policy !== undefined) {
    head +=
      policy.value === 'Delete'
        ? '  (old resource deleted)'
        : `  (${policy.attribute} ${policy.value}: old resource kept, no longer managed)`;
  }
  const showImpact = change.status !== 'updated' && change.status !== 'asset';
  const pointers = new Set<string>();
  const details: string[] = [];
  for (const p of change.properties) {
    const section = sectionCovering(change.type, p.property);
    if (section === undefined || p.assetOnly) details.push(propertyLine(p, max, showImpact));
    else if (!pointers.has(p.property)) {
      pointers.add(p.property);
      details.push(`${p.property}: see ${section} changes${showImpact ? IMPACT_NOTE[p.impact] : ''}`);
    }
  }
  details.push(...change.attributes.map((a) => propertyLine(a, max, false)));
  if (change.customName !== undefined) {
    details.unshift(
      `${change.customName} is a custom name and unchanged: CloudFormation cannot replace a custom-named resource (the update fails); change the name too`,
    );
  }
  return [head, ...details.map((d) => `      ${d}`)];
}

function securityLines(change: SecurityChange): string[] {
  const marker = change.status === 'added' ? '+' : change.status === 'removed' ? '-' : '~';
  const lines = [`${marker} ${change.type} ${change.logicalId}`];
  for (const facet of change.facets) {
    lines.push(`      ${facet.facet}:`);
    for (const r of facet.removed) lines.push(`-       ${r}`);
    for (const a of facet.added) lines.push(`+       ${a}`);
  }
  return lines;
}

function sectionLines(change: SectionChange, max: number): string[] {
  const marker = change.kind === 'added' ? '+' : change.kind === 'removed' ? '-' : '~';
  return [
    `${marker} ${change.section} ${change.name}`,
    ...change.changes.map((c) => `      ${propertyLine(c, max, false)}`),
  ];
}

function stackTitle(stack: StackDiff): string {
  const name = stack.stackName !== stack.displayName ? `${stack.displayName} (${stack.stackName})` : stack.displayName;
  return `${name} [${stack.environment}]`;
}

/** The body of one stack's diff, without its title: resources, IAM, security groups, other sections. */
export function renderStackBody(stack: StackDiff, options: RenderOptions = {}): string[] {
  const max = options.maxValueLength ?? 120;
  const lines: string[] = [];
  const block = (title: string, items: string[][]): void => {
    if (items.length === 0) return;
    lines.push(`${title}`);
    for (const item of items) lines.push(...item.map((l) => (/^[-+~!?]/.test(l) ? l : `  ${l}`)));
  };
  block(
    'Resources',
    stack.resources.map((r) => resourceLines(r, max)),
  );
  block('IAM changes', stack.iam.map(securityLines));
  block('Security group changes', stack.securityGroups.map(securityLines));
  block(
    'Other template changes',
    stack.sections.map((s) => sectionLines(s, max)),
  );
  return lines;
}

const STACK_STATUS_LABEL: Record<StackStatus, string> = {
  added: 'NEW STACK',
  removed: 'STACK REMOVED',
  changed: 'changed',
  unchanged: 'unchanged',
};

/** Plain-text rendering for a terminal. */
export function renderText(diff: AssemblyDiff, options: RenderOptions = {}): string {
  const changed = diff.stacks.filter((s) => s.status !== 'unchanged');
  const out: string[] = [];
  out.push(
    `Template diff: ${diff.stacks.length} stack(s), ${changed.length} with differences` +
      (diff.stacks.length > changed.length ? `, ${diff.stacks.length - changed.length} unchanged` : ''),
  );
  for (const stack of changed) {
    out.push('');
    out.push(`Stack ${stackTitle(stack)}: ${STACK_STATUS_LABEL[stack.status]} — ${summaryLine(countChanges(stack))}`);
    out.push(...renderStackBody(stack, options).map((l) => `  ${l}`));
  }
  if (changed.length === 0) out.push('', 'No differences.');
  return `${out.join('\n')}\n`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A code fence longer than any backtick run in `text`. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` or a pull-request comment. */
export function renderMarkdown(diff: AssemblyDiff, options: RenderOptions = {}): string {
  const changed = diff.stacks.filter((s) => s.status !== 'unchanged');
  const out: string[] = ['## Template diff', ''];
  if (diff.stacks.length === 0 || changed.length === 0) {
    out.push(`No differences in ${diff.stacks.length} stack(s).`);
    return `${out.join('\n')}\n`;
  }
  out.push(
    '| Stack | Environment | Status | Added | Removed | Replaced | May replace | Updated | Code assets | IAM | Security groups |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const stack of changed) {
    const c = countChanges(stack);
    const warn = c.replaced > 0 || stack.status === 'removed' ? ' ⚠️' : '';
    out.push(
      `| ${escapeCell(stack.displayName)} | ${escapeCell(stack.environment)} | ${STACK_STATUS_LABEL[stack.status]}${warn} | ` +
        `${c.added} | ${c.removed} | ${c.replaced} | ${c.mayReplace} | ${c.updated} | ${c.asset} | ${c.iam} | ${c.securityGroups} |`,
    );
  }
  const unchanged = diff.stacks.filter((s) => s.status === 'unchanged');
  if (unchanged.length > 0) {
    out.push('', `Unchanged (${unchanged.length}): ${unchanged.map((s) => escapeCell(s.displayName)).join(', ')}`);
  }
  for (const stack of changed) {
    const c = countChanges(stack);
    out.push('', `### ${escapeCell(stackTitle(stack))}`, '');
    out.push(`${STACK_STATUS_LABEL[stack.status]}: ${summaryLine(c)}`);
    if (c.replaced > 0) {
      out.push('', `> [!WARNING]\n> ${c.replaced} resource(s) will be replaced or cannot be updated in place.`);
    }
    if (stack.iam.length > 0 || stack.securityGroups.length > 0) {
      out.push('', `> [!IMPORTANT]\n> This stack changes IAM or security groups: review those sections.`);
    }
    const body = renderStackBody(stack, options).join('\n');
    const fence = fenceFor(body);
    out.push('', `${fence}diff`, body, fence);
  }
  return `${out.join('\n')}\n`;
}

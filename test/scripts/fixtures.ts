/**
 * Small literal templates and hand-made cloud assembly directories for the template-diff tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CfnResource, CfnTemplate, StackTemplate } from '../../scripts/lib/template-diff';

export const HASH_A = 'a'.repeat(64);
export const HASH_B = '0123456789abcdef'.repeat(4);

export function template(resources: Record<string, CfnResource>, extra: Partial<CfnTemplate> = {}): CfnTemplate {
  return { Resources: resources, ...extra } as CfnTemplate;
}

export function stack(name: string, tpl: CfnTemplate, environment = 'aws://111111111111/us-east-1', constructPaths?: Record<string, string>): StackTemplate {
  return { displayName: name, stackName: name, environment, template: tpl, ...(constructPaths ? { constructPaths } : {}) };
}

export const stream = (props: Record<string, unknown> = {}): CfnResource =>
  ({ Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1, RetentionPeriodHours: 24, ...props } }) as CfnResource;

export const lambdaFn = (hash: string, props: Record<string, unknown> = {}): CfnResource =>
  ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Bucket: 'cdk-hnb659fds-assets-111111111111-us-east-1', S3Key: `${hash}.zip` },
      Handler: 'index.handler',
      MemorySize: 512,
      Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] },
      ...props,
    },
    Metadata: { 'aws:asset:path': `asset.${hash}` },
  }) as CfnResource;

export const policy = (statements: unknown[]): CfnResource =>
  ({
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyDocument: { Statement: statements, Version: '2012-10-17' },
      PolicyName: 'FnRoleDefaultPolicy',
      Roles: [{ Ref: 'FnRole' }],
    },
  }) as CfnResource;

export const securityGroup = (ingress: unknown[]): CfnResource =>
  ({
    Type: 'AWS::EC2::SecurityGroup',
    Properties: {
      GroupDescription: 'warehouse',
      VpcId: { Ref: 'Vpc' },
      SecurityGroupIngress: ingress,
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1', Description: 'all out' }],
    },
  }) as CfnResource;

export interface AssemblyStack {
  readonly id: string;
  readonly template: CfnTemplate;
  readonly stackName?: string;
  readonly environment?: string;
  /** Logical ID → construct path, written as `aws:cdk:logicalId` metadata like `cdk synth` does. */
  readonly constructPaths?: Record<string, string>;
}

/** Writes a minimal cloud assembly (manifest.json + templates) like `cdk synth -o dir` does. */
export function writeAssembly(dir: string, stacks: readonly AssemblyStack[], nested: Record<string, readonly AssemblyStack[]> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, unknown> = {};
  for (const s of stacks) {
    const templateFile = `${s.id}.template.json`;
    fs.writeFileSync(path.join(dir, templateFile), JSON.stringify(s.template, null, 1));
    const metadata = Object.fromEntries(
      Object.entries(s.constructPaths ?? {}).map(([logicalId, p]) => [`/${p}`, [{ type: 'aws:cdk:logicalId', data: logicalId }]]),
    );
    artifacts[s.id] = {
      type: 'aws:cloudformation:stack',
      environment: s.environment ?? 'aws://111111111111/us-east-1',
      properties: { templateFile, ...(s.stackName !== undefined ? { stackName: s.stackName } : {}) },
      displayName: s.id,
      ...(s.constructPaths ? { metadata } : {}),
    };
  }
  for (const [stage, stageStacks] of Object.entries(nested)) {
    const directoryName = `assembly-${stage}`;
    writeAssembly(path.join(dir, directoryName), stageStacks);
    artifacts[`assembly-${stage}`] = { type: 'cdk:cloud-assembly', properties: { directoryName, displayName: stage } };
  }
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ version: '48.0.0', artifacts: { ...artifacts, Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } } } }),
  );
}

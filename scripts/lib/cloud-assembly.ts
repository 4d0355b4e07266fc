/**
 * Reads the stacks of a synthesized cloud assembly directory (`cdk synth -o DIR`): `manifest.json`, its
 * `aws:cloudformation:stack` artifacts and their templates, recursing into nested assemblies (CDK Stages).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudAssemblyError } from './errors';
import type { CfnTemplate, StackTemplate } from './template-diff';


interface ArtifactManifest {
  readonly type?: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: {
    readonly templateFile?: string;
    readonly stackName?: string;
    readonly directoryName?: string;
  };
}

interface AssemblyManifest {
  readonly artifacts?: Record<string, ArtifactManifest>;
}

function readJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CloudAssemblyError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CloudAssemblyError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Every stack of the assembly in `dir`, in manifest order, nested assemblies included. */
export function readCloudAssembly(dir: string): StackTemplate[] {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new CloudAssemblyError(`${dir} is not a cloud assembly: ${manifestFile} does not exist`);
  }
  const manifest = readJson<AssemblyManifest>(manifestFile);
  const stacks: StackTemplate[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName !== undefined) {
      stacks.push(...readCloudAssembly(path.join(dir, artifact.properties.directoryName)));
    } else if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = artifact.properties?.templateFile;
      if (templateFile === undefined) {
        throw new CloudAssemblyError(`${manifestFile}: stack artifact ${id} has no properties.templateFile`);
      }
      const stackName = artifact.properties?.stackName ?? id;
      const environment = artifact.environment ?? 'aws://unknown-account/unknown-region';
      stacks.push({
        key: `${environment}/${stackName}`,
        displayName: artifact.displayName ?? id,
        stackName,
        environment,
        template: readJson<CfnTemplate>(path.join(dir, templateFile)),
      });
    }
  }
  return stacks;
}

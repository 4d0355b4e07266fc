/**
 * Physical names that must be known in every Region and by the operator CLI without a lookup.
 *
 * They also replace CloudFormation exports between the stacks of one Region: the Ops and Warehouse stacks build the
 * ARNs of the Region stack's streams, stream key (by alias) and alarm topic from these names, so removing a stream or
 * replacing a key never fails with "export … is in use".
 *
 * Redstream lets CloudFormation generate names everywhere else. These few are derived from the environment name
 * (so dev, staging and prod coexist in one account) because a cross-Region reference to a generated name would need
 * a lookup or a cycle between the Region stacks: the replicator in each Region writes to the others' streams, and the
 * CLI must find the tables when the primary Region is down.
 */
import { physicalStreamName } from './config';

export { physicalStreamName };

/** DynamoDB global table of replication checkpoints. */
export function checkpointTableName(envName: string): string {
  return `redstream-${envName}-checkpoints`;
}

/** DynamoDB global table of each stream's active Region. */
export function activeRegionTableName(envName: string): string {
  return `redstream-${envName}-active-region`;
}

/** Alias of the stream encryption key, identical in every Region (cross-Region grants match on it). */
export function streamKeyAlias(envName: string): string {
  return `alias/redstream-${envName}-streams`;
}

/** The alarm topic of each Region (the Region, Ops and Warehouse stacks' alarms notify it by ARN, not by export). */
export function alarmTopicName(envName: string): string {
  return `redstream-${envName}-alarms`;
}

/** Alias of the alarm topic's key in each Region (publishers are granted the key by this alias, not by an export). */
export function alarmTopicKeyAlias(envName: string): string {
  return `alias/redstream-${envName}-alarms`;
}

/** Replicator function, identical in every Region (the failover function moves its reserved concurrency). */
export function replicatorFunctionName(envName: string): string {
  return `redstream-${envName}-replicator`;
}

/** Redshift Serverless namespace and workgroup (both require a name). */
export function warehouseName(envName: string): string {
  return `redstream-${envName}`;
}

/** CloudFormation stack names: they say the environment and the Region. */
export const stackNames = {
  state: (envName: string) => `Redstream-${envName}-State`,
  region: (envName: string, region: string) => `Redstream-${envName}-Region-${region}`,
  warehouse: (envName: string, region: string) => `Redstream-${envName}-Warehouse-${region}`,
  ops: (envName: string, region: string) => `Redstream-${envName}-Ops-${region}`,
};

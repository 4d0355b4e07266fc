import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { allRegions, EnvironmentConfig, physicalStreamName } from './config';
import { activeRegionTableName, alarmTopicKeyAlias, checkpointTableName, replicatorFunctionName } from './names';
import { OpsDashboard } from './ops/dashboard';
import { regionAlarmTopic, regionStreams } from './region-references';
import { FailoverFunction } from './ops/failover-function';
import { RegionHealthAlarms } from './ops/health-alarms';
import { settingsFromConfig } from './ops/settings';

/** Default `service` dimension of the replicator's EMF metrics: the replicator function must set POWERTOOLS_SERVICE_NAME to it. */
export const REPLICATOR_SERVICE_NAME = 'redstream-replicator';

export interface OpsStackProps extends StackProps {
  /**
   * The environment. The stack addresses this Region's streams and alarm topic (the Region stack's) by their
   * deterministic names (lib/names.ts), not by CloudFormation exports: an export in use would block removing a stream
   * or replacing the topic.
   */
  readonly config: EnvironmentConfig;
  /** Checkpoint global table name. @default `redstream-<env>-checkpoints` (lib/names.ts) */
  readonly checkpointTableName?: string;
  /** Active-Region global table name. @default `redstream-<env>-active-region` (lib/names.ts) */
  readonly activeRegionTableName?: string;
  /** `service` dimension of the replicator's EMF metrics. @default REPLICATOR_SERVICE_NAME */
  readonly replicatorServiceName?: string;
}

/**
 * Operations for one Region of an environment: the health, replication-lag, iterator-age and replicator-error alarms
 * (each notifies the Region's alarm topic), the failover function, in automatic mode the rule that runs it when the
 * primary Region's health alarm fires, and in the primary Region the environment's dashboard.
 */
export class OpsStack extends Stack {
  /** Every Region of the environment, primary first. */
  public readonly regions: readonly string[];
  public readonly alarms: RegionHealthAlarms;
  public readonly failoverFunction: FailoverFunction;
  /** Primary Region only. */
  public readonly dashboard?: OpsDashboard;
  /** Automatic mode, primary Region only. */
  public readonly automaticFailoverRule?: events.Rule;
  /** The schedule of the stray check (primary only, unless failover.strayCheckIntervalMinutes is 0). */
  public readonly strayCheckRule?: events.Rule;

  constructor(scope: Construct, id: string, props: OpsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const region = this.region;
    if (Token.isUnresolved(region)) throw new Error('OpsStack needs a concrete env.region (it builds ARNs and picks the failover target from it)');
    const regions = allRegions(config);
    this.regions = regions;
    if (!regions.includes(region)) throw new Error(`OpsStack region must be one of ${regions.join(', ')} (got ${region})`);
    const streams = regionStreams(this, config);
    const alarmTopic = regionAlarmTopic(this, config);

    const isPrimary = region === config.primaryRegion;
    const failoverTarget = isPrimary ? config.standbyRegions[0] : config.primaryRegion;
    const replicatorName = replicatorFunctionName(config.name);
    const serviceName = props.replicatorServiceName ?? REPLICATOR_SERVICE_NAME;
    const physical = new Map(config.streams.map((s) => [s.name, physicalStreamName(config.name, s.name)]));

    this.alarms = new RegionHealthAlarms(this, 'Alarms', {
      environment: config.name,
      streams,
      physicalStreamNames: physical,
      replicatorFunctionName: replicatorName,
      replicatorServiceName: serviceName,
      producerErrorRatePercent: config.alarms.producerErrorRatePercent,
      producerErrorRatePeriod: Duration.minutes(config.alarms.producerErrorRateMinutes),
      replicationLagThreshold: Duration.seconds(config.alarms.replicationLagSeconds),
      failoverTargetRegion: failoverTarget,
    });
    const notify = new cwActions.SnsAction(alarmTopic);
    for (const alarm of this.alarms.notifyingAlarms()) {
      (alarm as cloudwatch.Alarm | cloudwatch.CompositeAlarm).addAlarmAction(notify);
      (alarm as cloudwatch.Alarm | cloudwatch.CompositeAlarm).addOkAction(notify);
    }

    this.failoverFunction = new FailoverFunction(this, 'Failover', {
      settings: settingsFromConfig(config),
      tables: {
        checkpointTableName: props.checkpointTableName ?? checkpointTableName(config.name),
        activeRegionTableName: props.activeRegionTableName ?? activeRegionTableName(config.name),
      },
      resultTopic: alarmTopic,
      resultTopicKeyAlias: alarmTopicKeyAlias(config.name),
      removalPolicy: config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    new CfnOutput(this, 'FailoverFunctionName', {
      value: this.failoverFunction.function.functionName,
      description: `aws lambda invoke --region ${region} --function-name <this> --cli-binary-format raw-in-base64-out --payload '{"action":"status"}' out.json`,
    });

    // Automatic mode: only the primary's health starts a failover (to the first standby). Anything else (failing
    // back, or away from a standby) stays a human decision.
    if (config.failover.mode === 'automatic' && isPrimary) {
      this.automaticFailoverRule = new events.Rule(this, 'AutomaticFailover', {
        description: `Redstream ${config.name}: fail over to ${failoverTarget} when ${region}'s health alarm goes to ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: [this.alarms.health.alarmArn],
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [
          new targets.LambdaFunction(this.failoverFunction.function, {
            event: events.RuleTargetInput.fromObject({
              action: 'failover',
              targetRegion: failoverTarget,
              expectedRegion: region,
              reason: `automatic: health alarm ${events.EventField.fromPath('$.detail.alarmName')} in ALARM at ${events.EventField.time}`,
            }),
            // A switch is idempotent, but a retry of a long wait is not useful: the alarm (or the operator) repeats it.
            retryAttempts: 0,
          }),
        ],
      });
    }

    // Records producers wrote to a Region that did not forward them (early, stray, stranded writes) are found by a
    // scheduled dry-run reconcile in the primary, which publishes how many the active Region lacks; the alarm points
    // to `npm run ops -- reconcile`. Checked from the primary only: the check reads every Region.
    const strayEvery = config.failover.strayCheckIntervalMinutes;
    if (isPrimary && strayEvery > 0) {
      this.strayCheckRule = new events.Rule(this, 'StrayCheck', {
        description: `Redstream ${config.name}: every ${strayEvery} min, count records in a Region that did not forward them and that the active Region lacks`,
        schedule: events.Schedule.rate(Duration.minutes(strayEvery)),
        targets: [
          new targets.LambdaFunction(this.failoverFunction.function, {
            event: events.RuleTargetInput.fromObject({ action: 'stray-check', windowMinutes: strayEvery + 5, lagMinutes: 5 }),
            retryAttempts: 0,
          }),
        ],
      });
      for (const [logical, stream] of physical) {
        const alarm = new cloudwatch.Metric({
          namespace: 'Redstream',
          metricName: 'RecordsMissingFromActiveRegion',
          dimensionsMap: { service: 'redstream-failover', stream },
          statistic: 'Maximum',
          period: Duration.minutes(strayEvery),
        }).createAlarm(this, `StrayRecordsAlarm${logical}`, {
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription:
            `Records of ${stream} arrived in a Region that is not active and are missing from the active Region (producers that moved early, stayed ` +
            'behind, or were stranded by a switch). Run `npm run ops -- reconcile --env ' + config.name + '` once every Region is reachable.',
        });
        alarm.addAlarmAction(notify);
        alarm.addOkAction(notify);
      }
    }

    if (isPrimary) {
      this.dashboard = new OpsDashboard(this, 'Dashboard', {
        environment: config.name,
        regions,
        streams: physical,
        replicatorFunctionName: replicatorName,
        replicatorServiceName: serviceName,
        replicationLagThreshold: Duration.seconds(config.alarms.replicationLagSeconds),
        producerErrorRatePercent: config.alarms.producerErrorRatePercent,
        alarms: this.alarms.notifyingAlarms(),
      });
    }
  }
}

import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, REPLICATOR_METRICS } from '../../lambda/replicator/metrics';

export interface RegionHealthAlarmsProps {
  /** Environment name (for descriptions and commands). */
  readonly environment: string;
  /** This Region's streams, keyed by logical name. */
  readonly streams: ReadonlyMap<string, kinesis.IStream>;
  /** Physical stream names, keyed by logical name (the replicator's `stream` metric dimension). */
  readonly physicalStreamNames: ReadonlyMap<string, string>;
  /** Name of this Region's replicator function. */
  readonly replicatorFunctionName: string;
  /** Value of the `service` dimension of the replicator's EMF metrics (its POWERTOOLS_SERVICE_NAME). */
  readonly replicatorServiceName: string;
  /** Producer error rate, in percent, at or above which the Region is unhealthy. Valid range: (0, 100]. */
  readonly producerErrorRatePercent: number;
  /** Period of the producer error rate. Valid range: 1–60 minutes. */
  readonly producerErrorRatePeriod: Duration;
  /** Replication lag that raises the lag alarm. */
  readonly replicationLagThreshold: Duration;
  /** Region a failover from here would move to (named in the health alarm's description). */
  readonly failoverTargetRegion: string;
}

/**
 * One Region's health alarms:
 * - per stream, the producers' error rate: (PutRecords.FailedRecords + PutRecords.ThrottledRecords) /
 *   PutRecords.TotalRecords, in percent, over the configured period; and a composite `health` alarm that is in ALARM
 *   when any stream's is (the signal to fail over, and what automatic mode reacts to);
 * - per stream, the replication lag (the replicator's EMF metric).
 * The replicator's own iterator-age and errors alarms belong to its construct (lib/replicator.ts) in the Region stack.
 */
export class RegionHealthAlarms extends Construct {
  public readonly producerErrorRateAlarms = new Map<string, cloudwatch.Alarm>();
  public readonly replicationLagAlarms = new Map<string, cloudwatch.Alarm>();
  /** In ALARM when any stream's producer error rate is: the Region is unhealthy. */
  public readonly health: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: RegionHealthAlarmsProps) {
    super(scope, id);
    const p = props;
    if (!(p.producerErrorRatePercent > 0 && p.producerErrorRatePercent <= 100)) {
      throw new Error(`producerErrorRatePercent must be above 0 and at most 100 (got ${p.producerErrorRatePercent})`);
    }
    const minutes = p.producerErrorRatePeriod.toMinutes();
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      throw new Error(`producerErrorRatePeriod must be a whole number of minutes between 1 and 60 (got ${minutes})`);
    }
    if (p.streams.size === 0) throw new Error('streams must contain at least one stream');
    const region = Stack.of(this).region;
    const env = p.environment;
    const period = p.producerErrorRatePeriod;

    for (const [name, stream] of p.streams) {
      const m = (metricName: string) => stream.metric(metricName, { statistic: 'Sum', period });
      const rate = new cloudwatch.MathExpression({
        expression: '100 * (FILL(failed, 0) + FILL(throttled, 0)) / total',
        usingMetrics: { failed: m('PutRecords.FailedRecords'), throttled: m('PutRecords.ThrottledRecords'), total: m('PutRecords.TotalRecords') },
        period,
        label: `${name} producer error rate (%)`,
      });
      this.producerErrorRateAlarms.set(
        name,
        rate.createAlarm(this, `ProducerErrorRate-${name}`, {
          threshold: p.producerErrorRatePercent,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          // No PutRecords in the period (or no total): nothing to judge.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription:
            `Stream ${name} in ${region}: ${p.producerErrorRatePercent} % or more of the records producers sent with PutRecords over ${minutes} min failed or were throttled. ` +
            `Throttling only: add shards. Failures: check the AWS Health Dashboard for Kinesis in ${region}; if the Region is degraded, ` +
            `run \`npm run ops -- failover --env ${env} --to ${p.failoverTargetRegion} --from ${region}\`.`,
        }),
      );

      const lag = new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: REPLICATOR_METRICS.replicationLag,
        dimensionsMap: { service: p.replicatorServiceName, stream: p.physicalStreamNames.get(name) ?? stream.streamName, region },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      });
      this.replicationLagAlarms.set(
        name,
        lag.createAlarm(this, `ReplicationLag-${name}`, {
          threshold: p.replicationLagThreshold.toSeconds(),
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          // Only the active Region's replicator forwards and reports lag.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription:
            `Stream ${name}: records from ${region} reach the other Regions ${p.replicationLagThreshold.toSeconds()} s or more after they arrived (3 of 5 minutes). ` +
            `A failover now would make producers re-send more. Check the replicator's errors and throttles, then \`npm run ops -- status --env ${env}\`.`,
        }),
      );
    }

    this.health = new cloudwatch.CompositeAlarm(this, 'Health', {
      alarmRule: cloudwatch.AlarmRule.anyOf(...[...this.producerErrorRateAlarms.values()].map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      alarmDescription:
        `Redstream ${env} in ${region} is unhealthy: producers' error rate is at or above ${p.producerErrorRatePercent} % for a stream (see the ProducerErrorRate alarms). ` +
        `Confirm with \`npm run ops -- status --env ${env}\`, then \`npm run ops -- failover --env ${env} --to ${p.failoverTargetRegion} --from ${region}\` ` +
        '(README, Runbook: what producers and consumers do with the resume timestamp).',
    });

  }

  /** Every alarm that should notify the on-call topic (the per-stream error-rate alarms notify through `health`). */
  public notifyingAlarms(): cloudwatch.IAlarm[] {
    return [this.health, ...this.replicationLagAlarms.values()];
  }
}

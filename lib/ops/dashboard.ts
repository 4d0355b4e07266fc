import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, REPLICATOR_METRICS } from '../../lambda/replicator/metrics';

export interface OpsDashboardProps {
  /** Environment name. */
  readonly environment: string;
  /** Every Region of the environment, primary first. */
  readonly regions: readonly string[];
  /** Physical stream names (the same in every Region), keyed by logical name. */
  readonly streams: ReadonlyMap<string, string>;
  /** Replicator function name (the same in every Region). */
  readonly replicatorFunctionName: string;
  /** `service` dimension of the replicator's EMF metrics. */
  readonly replicatorServiceName: string;
  /** Drawn as a line on the lag graphs. */
  readonly replicationLagThreshold: Duration;
  /** Drawn as a line on the producer error-rate graphs, in percent. */
  readonly producerErrorRatePercent: number;
  /** Period of the graphs. @default Duration.minutes(5) */
  readonly period?: Duration;
  /**
   * Text a Region's archive delivery streams' names contain, for the archive freshness graph (a SEARCH expression,
   * since Firehose names are generated).
   * @default - `Redstream-<environment>-Region-<region>` (the Region stack's name, which CloudFormation puts in them)
   */
  readonly archiveSearchTerm?: (region: string) => string;
  /** Alarms of the dashboard's own Region to show as a status row. @default - none */
  readonly alarms?: cloudwatch.IAlarm[];
}

/**
 * One CloudWatch dashboard for an environment, with every Region's metrics (cross-Region widgets): incoming records
 * and bytes, producer errors and throttles with the error rate, replication lag, iterator ages, archive freshness.
 */
export class OpsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const env = props.environment;
    const archiveTerm = props.archiveSearchTerm ?? ((region: string) => `Redstream-${env}-Region-${region}`);
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: `Redstream-${env}`,
      defaultInterval: Duration.hours(3),
    });

    const replicatorMetric = (region: string, stream: string, metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.replicatorServiceName, stream, region },
        statistic,
        period,
        region,
        label: `from ${region}`,
      });
    const kinesis = (region: string, stream: string, metricName: string, statistic: string, label?: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Kinesis', metricName, dimensionsMap: { StreamName: stream }, statistic, period, region, label: label ?? `${metricName} ${region}` });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown:
          `# Redstream ${env}\nRegions: ${props.regions.join(' (primary), ')}. Active Region, epochs and checkpoints: \`npm run ops -- status --env ${env}\`. ` +
          'Runbook: README, "Runbook: Region failover and failback" (detect, fail over, resume, fail back).',
      }),
    );
    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 3 }));
    }

    for (const [name, stream] of props.streams) {
      this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## Stream ${name} (\`${stream}\`)`, width: 24, height: 1 }));
      const errorRates = props.regions.map((region, i) => {
        const m = (metricName: string) => kinesis(region, stream, metricName, 'Sum');
        return new cloudwatch.MathExpression({
          expression: `100 * (FILL(f${i}, 0) + FILL(t${i}, 0)) / n${i}`,
          usingMetrics: { [`f${i}`]: m('PutRecords.FailedRecords'), [`t${i}`]: m('PutRecords.ThrottledRecords'), [`n${i}`]: m('PutRecords.TotalRecords') },
          period,
          label: `error rate % ${region}`,
        });
      });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Incoming records',
          left: props.regions.map((r) => kinesis(r, stream, 'IncomingRecords', 'Sum')),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Incoming bytes',
          left: props.regions.map((r) => kinesis(r, stream, 'IncomingBytes', 'Sum')),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'PutRecords failed and throttled records; error rate',
          left: props.regions.flatMap((r) => [
            kinesis(r, stream, 'PutRecords.FailedRecords', 'Sum', `failed ${r}`),
            kinesis(r, stream, 'PutRecords.ThrottledRecords', 'Sum', `throttled ${r}`),
          ]),
          right: errorRates,
          rightAnnotations: [{ value: props.producerErrorRatePercent, label: 'health threshold %', color: cloudwatch.Color.RED }],
          width: 8,
        }),
      );
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Replication lag (s)',
          left: props.regions.map((region) => replicatorMetric(region, stream, REPLICATOR_METRICS.replicationLag, 'Maximum')),
          leftAnnotations: [{ value: props.replicationLagThreshold.toSeconds(), label: 'lag alarm', color: cloudwatch.Color.RED }],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Consumer iterator age (GetRecords, ms)',
          left: props.regions.map((r) => kinesis(r, stream, 'GetRecords.IteratorAgeMilliseconds', 'Maximum')),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Records replicated',
          left: props.regions.map((region) => replicatorMetric(region, stream, REPLICATOR_METRICS.recordsReplicated, 'Sum')),
          width: 8,
        }),
      );
    }

    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: '## Replicator and archive', width: 24, height: 1 }));
    const fn = (region: string, metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, dimensionsMap: { FunctionName: props.replicatorFunctionName }, statistic, period, region, label: `${metricName} ${region}` });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Replicator iterator age (ms)', left: props.regions.map((r) => fn(r, 'IteratorAge', 'Maximum')), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Replicator errors and throttles',
        left: props.regions.flatMap((r) => [fn(r, 'Errors', 'Sum'), fn(r, 'Throttles', 'Sum')]),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Archive freshness (s)',
        left: props.regions.map(
          (region) =>
            new cloudwatch.MathExpression({
              expression: `SEARCH('{AWS/Firehose,DeliveryStreamName} MetricName="DeliveryToS3.DataFreshness" "${archiveTerm(region)}"', 'Maximum', ${period.toSeconds()})`,
              usingMetrics: {},
              searchRegion: region,
              label: region,
              period,
            }),
        ),
        width: 8,
      }),
    );
  }
}

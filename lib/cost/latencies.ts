/**
 * Published latencies of the deployed topology (us-east-1 primary, us-west-2 standby), shared by the cost model
 * (to estimate the replicator's invocation duration) and `npm run bench:e2e` (to inject them into the local
 * stand-ins). Each figure names where it comes from; where no source gives it, the note says so.
 */

export interface PublishedLatency {
  /** Milliseconds added to one call, as seen by the caller. */
  readonly ms: number;
  /** What the figure is made of and where it was read. */
  readonly source: string;
}

export const TOPOLOGY_LATENCIES = {
  /**
   * One PutRecords round trip from us-east-1 to a stream in us-west-2 over a warm connection: the network round trip
   * plus Kinesis's own service time.
   */
  crossRegionPutRecords: {
    ms: 80,
    source:
      'network round trip us-east-1 <-> us-west-2 measured at ~55 ms (ping over VPC peering, https://dev.to/juanhcode/aws-multi-region-networking-what-actually-happens-between-regions-58g9) ' +
      'and 87 ms average (2017 inter-Region table, https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html); ~70 ms taken, plus ~10 ms Kinesis service time (an assumption: no published figure found)',
  },
  /** One conditional PutItem on the Region's own replica of the checkpoint table. */
  sameRegionDynamoDbWrite: {
    ms: 8,
    source:
      'AWS: GetItem and PutItem average single-digit milliseconds (service side, https://repost.aws/knowledge-center/dynamodb-high-latency); 8 ms taken for a conditional write plus the in-Region network',
  },
  /** One strongly consistent GetItem on the Region's own replica. */
  sameRegionDynamoDbRead: {
    ms: 5,
    source: 'same AWS statement (single-digit milliseconds); 5 ms taken for a strongly consistent read plus the in-Region network',
  },
} as const satisfies Record<string, PublishedLatency>;

/**
 * The demo drill's nemesis (issue 9): the AWS behaviours that broke failover when the local world was kinder than
 * AWS, each a fault the drill can switch on alone or with others. Pure: parsing and what each fault means for the
 * drill (local/drill.ts applies them). `--seed` makes a run repeatable: the shares of producers that move early or
 * stay behind are drawn from it.
 */
import { seededRandom } from '../lambda/shared/seeded-random';

export const NEMESIS_FAULTS = [
  'clock-skew',
  'slow-control-plane',
  'replica-lag',
  'partition-old-replica',
  'long-outage',
  'reshard',
  'early-producers',
  'stray-producers',
  'force',
  'no-resend',
] as const;

export type NemesisFault = (typeof NEMESIS_FAULTS)[number];

/** What each fault does, for `--help` and the report. */
export const FAULT_DESCRIPTIONS: Readonly<Record<NemesisFault, string>> = {
  'clock-skew': "the failover caller's clock is S seconds ahead (negative: behind) of AWS's (clock-skew=S, default 3)",
  'slow-control-plane': "the old Region's Kinesis control-plane and read calls hang S seconds during the switch (slow-control-plane=S, default 6)",
  'replica-lag': 'global-table replication between the Regions takes S seconds (replica-lag=S, default 2)',
  'partition-old-replica': "the old Region's replica receives no replication from the drain until the old Region comes back; its replicator keeps running on what it sees",
  'long-outage': 'the Region the replicator writes to after the failover (the old one) stays down for many replicator invocations (the old bounded budget would have given up)',
  reshard: "the source stream's shard splits before the failover",
  'early-producers': 'a share of producers move to the new Region on their own as soon as writes to the old one fail, before any switch',
  'stray-producers': 'a share of producers keep writing to the old Region after the switch, while it is up',
  force: "the operator forces the switch while the old Region's replica is partitioned (its replicator is fenced out of band)",
  'no-resend': 'producers never re-send after a switch (only reconcile recovers what was stranded)',
};

export interface NemesisPlan {
  readonly faults: ReadonlySet<NemesisFault>;
  readonly seed: number;
  /** clock-skew: milliseconds the caller's clock is ahead (0 without the fault). */
  readonly clockSkewMs: number;
  /** slow-control-plane: milliseconds each old-Region control-plane call hangs during the switch. */
  readonly slowControlPlaneMs: number;
  /** replica-lag: global-table replication delay in milliseconds (the world's default without the fault). */
  readonly replicaLagMs: number | undefined;
  /** early-producers / stray-producers: share of partition keys that move early or stay behind. */
  readonly earlyShare: number;
  readonly strayShare: number;
  /** long-outage: how long the old Region stays down after the failover, in milliseconds. */
  readonly outageMs: number;
  /** Whether a partition key belongs to the producers that move early (resp. stay behind); drawn from the seed. */
  isEarly(partitionKey: string): boolean;
  isStray(partitionKey: string): boolean;
}

export class NemesisUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NemesisUsageError';
  }
}

/** Parses `--nemesis FAULT[,FAULT…]` (`all` for every fault; `name=S` for a number of seconds). */
export function parseNemesis(spec: string | undefined, seed: number): NemesisPlan {
  const faults = new Set<NemesisFault>();
  const values = new Map<NemesisFault, number>();
  for (const raw of (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    if (raw === 'all') {
      for (const f of NEMESIS_FAULTS) faults.add(f);
      continue;
    }
    const [name, value] = raw.split('=', 2);
    if (!(NEMESIS_FAULTS as readonly string[]).includes(name)) {
      throw new NemesisUsageError(`--nemesis: unknown fault ${JSON.stringify(name)} (faults: all, ${NEMESIS_FAULTS.join(', ')})`);
    }
    const fault = name as NemesisFault;
    faults.add(fault);
    if (value !== undefined) {
      const takesValue = fault === 'clock-skew' || fault === 'slow-control-plane' || fault === 'replica-lag';
      const n = Number(value);
      if (!takesValue || value.trim() === '' || !Number.isFinite(n) || (fault !== 'clock-skew' && n < 0) || Math.abs(n) > 300) {
        throw new NemesisUsageError(
          takesValue ? `--nemesis: ${fault}=S takes seconds, ${fault === 'clock-skew' ? '-300 to 300' : '0 to 300'} (got ${JSON.stringify(value)})` : `--nemesis: ${fault} takes no value (got ${JSON.stringify(raw)})`,
        );
      }
      values.set(fault, n);
    }
  }
  const random = seededRandom(seed);
  // Shares are drawn once per run from the seed, and each key's membership is a hash of the key and the seed, so the
  // same seed moves the same producers.
  const earlyShare = faults.has('early-producers') ? 0.2 + 0.3 * random() : 0;
  const strayShare = faults.has('stray-producers') ? 0.1 + 0.2 * random() : 0;
  const member = (salt: string, share: number) => (key: string) => share > 0 && keyFraction(`${seed}/${salt}/${key}`) < share;
  return {
    faults,
    seed,
    clockSkewMs: faults.has('clock-skew') ? Math.round((values.get('clock-skew') ?? 3) * 1000) : 0,
    slowControlPlaneMs: faults.has('slow-control-plane') ? Math.round((values.get('slow-control-plane') ?? 6) * 1000) : 0,
    replicaLagMs: faults.has('replica-lag') ? Math.round((values.get('replica-lag') ?? 2) * 1000) : undefined,
    earlyShare,
    strayShare,
    outageMs: faults.has('long-outage') ? 8_000 : 0,
    isEarly: member('early', earlyShare),
    isStray: member('stray', strayShare),
  };
}

/** A stable fraction in [0, 1) from a string (FNV-1a). */
export function keyFraction(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/** One line per fault for the report: the fault and what it did in this run. */
export function describeNemesis(plan: NemesisPlan): string[] {
  return [...plan.faults].map((f) => {
    switch (f) {
      case 'clock-skew':
        return `clock-skew: caller's clock ${plan.clockSkewMs >= 0 ? '+' : ''}${plan.clockSkewMs / 1000} s`;
      case 'slow-control-plane':
        return `slow-control-plane: old Region's control plane hangs ${plan.slowControlPlaneMs / 1000} s per call during the switch`;
      case 'replica-lag':
        return `replica-lag: global-table replication ${(plan.replicaLagMs ?? 0) / 1000} s`;
      case 'early-producers':
        return `early-producers: ${Math.round(plan.earlyShare * 100)} % of producers move on their own when the old Region fails`;
      case 'stray-producers':
        return `stray-producers: ${Math.round(plan.strayShare * 100)} % of producers stay on the old Region after the switch`;
      case 'long-outage':
        return `long-outage: the old Region stays down ${plan.outageMs / 1000} s after the failover while the new one forwards to it`;
      default:
        return `${f}: ${FAULT_DESCRIPTIONS[f]}`;
    }
  });
}

/** Text rendering of a {@link CostEstimate}: per-component lines and subtotals, the assumptions, the price sources. */
import { COMPONENTS, type CostEstimate } from './model';

const usd = (n: number): string => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function qty(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

function rate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

/** The estimate as the command prints it. */
export function formatEstimate(e: CostEstimate): string {
  const out: string[] = [];
  const w = e.workload;
  out.push(`Redstream ${e.environment}: estimated monthly cost at ${w.eventsPerSecond} events/s of ${w.bytesPerEvent} bytes (${e.regions.join(' + ')}, ${e.prices.region} list prices)`);
  out.push('');
  for (const component of COMPONENTS) {
    const lines = e.lines.filter((l) => l.component === component);
    const subtotal = e.subtotals.find((s) => s.component === component)?.monthlyUsd ?? 0;
    out.push(`${component.padEnd(74)}${usd(subtotal).padStart(14)}`);
    for (const l of lines) {
      const mark = l.unverifiedPrice ? ' †' : '';
      out.push(`  ${l.item}`);
      out.push(`      ${qty(l.quantity)} ${l.unit} at $${l.unitPriceUsd} (${l.priceKey})${mark}`.padEnd(74) + usd(l.monthlyUsd).padStart(14));
    }
  }
  out.push(''.padEnd(88, '-'));
  out.push(`${'Total per month'.padEnd(74)}${usd(e.totalMonthlyUsd).padStart(14)}`);
  out.push('');
  out.push('Replication at steady state (per shard of each stream, primary Region):');
  for (const r of e.replication) {
    out.push(
      `  ${r.stream}: ${r.shards} shards, ${rate(r.recordsPerSecondPerShard)} records/s per shard, ${rate(r.recordsPerInvocation)} records per invocation, ` +
        `${rate(r.invocationsPerSecondPerShard)} invocations/s, checkpoint writes ${rate(r.checkpointWritesPerSecondPerShard)}/s per shard` +
        (r.invocationMs > 0 ? `, ~${Math.round(r.invocationMs)} ms per invocation` : ''),
    );
  }
  out.push(`  checkpoint table: ${rate(e.checkpointRwruPerSecond)} replicated write units/s summed over ${e.regions.length} Regions`);
  if (e.warnings.length > 0) {
    out.push('');
    out.push('Warnings:');
    for (const warning of e.warnings) out.push(`  - ${warning}`);
  }
  out.push('');
  out.push('Assumptions:');
  for (const a of e.assumptions) out.push(`  - ${a}`);
  out.push('');
  out.push(`Prices (lib/cost/prices.json, compiled ${e.prices.compiledOn}; † = not confirmed from a stored source):`);
  const used = [...new Set(e.lines.map((l) => l.priceKey))];
  for (const key of used) {
    const p = e.prices.prices[key];
    out.push(`  ${key}: $${p.usd} per ${p.per}${p.found ? '' : ' †'} — ${p.source}`);
  }
  return out.join('\n') + '\n';
}

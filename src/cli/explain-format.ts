import type { ExplainReport, ExplainResult } from '../control/explain.js';
import type { Decision } from '../model/decision.js';
import type { AddressOutcome } from '../policy/explain.js';

function verdictWord(d: Decision, refused: boolean): string {
  if (refused) return 'REFUSED';
  return d.verdict === 'deny' ? 'WOULD-DENY' : 'ALLOWED';
}

function headline(r: ExplainResult): string {
  if (r.error) return `FAILS: policy lets it through, but ${r.error.code}: ${r.error.message}`;
  const word = verdictWord(r.decision, r.refused);
  const report = !r.refused && r.decision.verdict === 'deny' ? ' (report mode: let through, logged as would-deny)' : '';
  switch (r.decidedAt) {
    case 'host':
      return `${word} before any DNS lookup${report}`;
    case 'parent':
      return `${word} and sent through the parent proxy, which resolves the name (no address phase here)${report}`;
    case 'addresses':
      return `${word}${report}`;
    case 'unresolved':
      return `${word} if it resolves to a public address${report}`;
  }
}

function identityText(r: ExplainResult): string {
  if (r.identity.kind === 'anonymous') return 'anonymous (no client certificate, no proxy credentials)';
  return `${r.identity.principal ?? ''} (${r.identity.kind === 'certificate' ? 'client certificate' : 'Basic user'})`;
}

function decisionLines(d: Decision, indent: string): string[] {
  const out = [`${indent}rule      ${d.ruleId} (${d.phase === 'host' ? 'name phase' : 'address phase'}, ${d.enforcement})`, `${indent}why       ${d.reason}`];
  if (d.hint) out.push(`${indent}fix       ${d.hint}`);
  if (d.reported) out.push(`${indent}reported  ${d.reported.reason} (rule ${d.reported.ruleId}, logged as would-deny)`);
  if (d.inspect) out.push(`${indent}inspect   ${d.inspect}`);
  return out;
}

function outcomeLines(list: AddressOutcome[]): string[] {
  const width = Math.max(...list.map((o) => o.when.length));
  return list.flatMap((o) => {
    const d = o.decision;
    const head = `    ${o.when.padEnd(width)}  ${verdictWord(d, o.refused).padEnd(10)} rule ${d.ruleId}`;
    const pad = ' '.repeat(6);
    const lines = [head, `${pad}${d.reason}`];
    if (o.refused && d.hint) lines.push(`${pad}fix: ${d.hint}`);
    return lines;
  });
}

/** The human report: one block per target, the deciding rule, why, the fix, and the address phase. */
export function formatExplainReport(report: ExplainReport): string {
  const blocks = report.results.map((r) => {
    const lines = [`${r.target}  ${headline(r)}`, `  identity  ${identityText(r)}`, ...decisionLines(r.decision, '  ')];
    if (r.addresses) {
      lines.push('  addresses (each is decided; one refused address refuses the name):', ...outcomeLines(r.addresses));
    }
    if (r.ifResolved) {
      if (!r.hostDecision) lines.push('  name      no rule names it: what it resolves to decides');
      else if (r.hostDecision.reason !== r.decision.reason) lines.push(`  name      ${r.hostDecision.reason}`);
      lines.push(
        '  once resolved, each address is decided and one refused address refuses the name',
        r.error ? '  (resolving failed; what each kind of address would get):' : '  (not resolved here; --resolve decides the addresses it resolves to now):',
        ...outcomeLines(r.ifResolved),
      );
    }
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

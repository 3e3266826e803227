import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { tableAuditSink } from '../audit/audit-sink.ts';
import { normalizeEmail, normalizePhone, samePhone, tokens } from '../assess/normalize.ts';
import { dataDirOf } from '../defaults.ts';
import { listRequests, type ErasureRequest, type WorkflowEnv } from '../requests/service.ts';

/**
 * Defence in depth while a request is open and after it: text a model generates is searched for the identifiers of
 * every erasure request whose scope holds that model (or whose erasure produced it), and each one found is replaced
 * by [erased] — whatever the weights still know. Each block is written to the audit log (request, kind of identifier;
 * never the identifier itself).
 */
export const REDACTED = '[erased]';

interface Needle {
  requestId: string;
  kind: 'name' | 'email' | 'phone' | 'address' | 'pattern';
  /** Normalised words of a name, address or pattern. */
  words?: string[];
  email?: string;
  phone?: string;
}

export interface FilterResult {
  text: string;
  blocks: { requestId: string; kind: Needle['kind'] }[];
}

/** Text with diacritics removed (NFKD without marks, then NFKC), the form matching compares. */
function plain(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').normalize('NFKC');
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class OutputFilter {
  constructor(private readonly needles: readonly Needle[]) {}

  get size(): number {
    return this.needles.length;
  }

  apply(text: string): FilterResult {
    const blocks: FilterResult['blocks'] = [];
    let out = plain(text);
    const before = out;
    for (const n of this.needles) {
      let re: RegExp;
      if (n.words) re = new RegExp(`(?<![\\p{L}\\p{N}])${n.words.map(escape).join('[^\\p{L}\\p{N}]+')}(?![\\p{L}\\p{N}])`, 'giu');
      else if (n.email) re = new RegExp(`(?<![\\p{L}\\p{N}._%+-])${escape(n.email)}(?![\\p{L}\\p{N}])`, 'giu');
      else {
        // Phone numbers by their digits: any run that looks like a number and is the same number.
        const phone = n.phone!;
        out = out.replace(/\+?\d[\d\s().-]{5,}\d/g, (m) => {
          if (!samePhone(phone, normalizePhone(m))) return m;
          blocks.push({ requestId: n.requestId, kind: n.kind });
          return REDACTED;
        });
        continue;
      }
      out = out.replace(re, () => {
        blocks.push({ requestId: n.requestId, kind: n.kind });
        return REDACTED;
      });
    }
    return { text: out === before ? text : out, blocks };
  }
}

export function needlesOf(r: ErasureRequest): Needle[] {
  const s = r.subject;
  const words = (kind: Needle['kind'], xs: string[]) => xs.map((x) => ({ requestId: r.id, kind, words: tokens(x) })).filter((n) => n.words.length > 0);
  return [
    ...words('name', s.names), ...words('address', s.addresses), ...words('pattern', s.patterns),
    ...s.emails.map((e) => ({ requestId: r.id, kind: 'email' as const, email: normalizeEmail(e) })),
    ...s.phones.map((p) => ({ requestId: r.id, kind: 'phone' as const, phone: normalizePhone(p) })),
  ];
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The filter for a model folder: identifiers of every request, open or completed, whose scope or output it is. */
export async function outputFilterFor(env: WorkflowEnv, modelDir: string): Promise<OutputFilter> {
  const dir = real(modelDir);
  const artifacts = join(dataDirOf(env.dataDir ? { dataDir: env.dataDir } : {}), 'artifacts');
  const covered = (await listRequests(env)).filter((r) => r.state !== 'denied' && r.state !== 'canceled')
    .filter((r) => r.scope.models.some((m) => real(m) === dir) || (existsSync(artifacts) && dir.startsWith(real(join(artifacts, r.id)))));
  return new OutputFilter(covered.flatMap(needlesOf));
}

/** Records each block in the audit log, in one transaction: which request, which kind of identifier, which model. */
export async function logBlocks(env: WorkflowEnv, modelDir: string, blocks: FilterResult['blocks']): Promise<void> {
  if (blocks.length === 0) return;
  const sink = env.audit ?? tableAuditSink(env.store.dialect);
  const at = (env.now ? env.now() : new Date()).toISOString();
  await env.store.write(async (tx) => {
    for (const b of blocks) await sink.append(tx, { requestId: b.requestId, kind: 'output-blocked', payload: { identifier: b.kind, model: real(modelDir) } }, at);
  });
}

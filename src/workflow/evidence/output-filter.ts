import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { artifactPath, artifactRoot } from '../artifacts/store.ts';
import { tableAuditSink } from '../audit/audit-sink.ts';
import { normalizeEmail, normalizePhone, samePhone, tokens } from '../assess/normalize.ts';
import { listJobs } from '../jobs/queue.ts';
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

const inside = (dir: string, folder: string): boolean => dir === folder || dir.startsWith(folder + sep);

/**
 * Whether a (real) folder is an output of request `id`: an artifact its erase jobs recorded, one linked from
 * `ARTIFACTS/<id>/`, or inside that folder (outputs of a Lethe before content addressing).
 */
async function isOutputOf(env: WorkflowEnv, root: string, id: string, dir: string): Promise<boolean> {
  const group = join(root, id);
  if (existsSync(group)) {
    if (inside(dir, real(group))) return true;
    if (readdirSync(group).some((name) => inside(dir, real(join(group, name))))) return true;
  }
  if (!inside(dir, real(join(root, 'sha256')))) return false;
  const outputs = (await listJobs(env.store, id)).filter((j) => j.kind === 'erase').flatMap((j) => (j.result?.['outputs'] ?? []) as { artifact?: string }[]);
  return outputs.some((o) => o.artifact !== undefined && inside(dir, real(artifactPath(root, o.artifact))));
}

/** The filter for a model folder: identifiers of every request, open or completed, whose scope or output it is. */
export async function outputFilterFor(env: WorkflowEnv, modelDir: string): Promise<OutputFilter> {
  const dir = real(modelDir);
  const root = artifactRoot(env.dataDir ? { dataDir: env.dataDir } : {});
  const covered: ErasureRequest[] = [];
  for (const r of await listRequests(env)) {
    if (r.state === 'denied' || r.state === 'canceled') continue;
    if (r.scope.models.some((m) => real(m) === dir) || await isOutputOf(env, root, r.id, dir)) covered.push(r);
  }
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

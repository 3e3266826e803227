import { enqueueJob } from '../jobs/queue.ts';
import { loadAssessment } from '../jobs/handlers.ts';
import { RequestInputError } from '../requests/input-error.ts';
import { getRequest, moveRequest, type ErasureRequest, type WorkflowEnv } from '../requests/service.ts';
import { TransitionError } from '../requests/states.ts';

/**
 * An operator's decision on the fuzzy matches of a request that requires input: `confirm` (record hashes, or 'all')
 * become part of the forget set, the rest are left out. The request then goes to the erasure queue — or, when
 * nothing at all is left to erase, is denied with no_match.
 */
export async function decideMatches(env: WorkflowEnv, id: string, actor: string, confirm: readonly string[] | 'all'): Promise<ErasureRequest> {
  const now = env.now ? env.now() : new Date();
  await env.store.write(async (tx) => {
    const a = await loadAssessment(tx, id);
    if (!a) throw new TransitionError(`request ${id} has not been assessed`);
    const pending = a.corpora.flatMap((c) => c.matches.filter((m) => m.score < a.threshold)).map((m) => m.hash);
    const chosen = confirm === 'all' ? pending : [...confirm];
    const unknown = chosen.filter((h) => !pending.includes(h));
    if (unknown.length > 0) throw new RequestInputError(`--confirm: ${unknown.length} of the hashes are not matches awaiting confirmation (e.g. ${unknown[0]})`);
    const confident = a.corpora.some((c) => c.matches.some((m) => m.score >= a.threshold));
    await moveRequest(env, tx, id, 'assessing', { actor, expect: ['requires_input'], reason: `${chosen.length} of ${pending.length} matches confirmed` });
    await tx.updateTable('assessments').set({ result: JSON.stringify({ ...a, confirmed: chosen }) }).where('request_id', '=', id).execute();
    if (!confident && chosen.length === 0) {
      await moveRequest(env, tx, id, 'denied', { actor, reason: 'no_match', changes: { decision: 'denied', decision_reason: 'no_match', decision_text: 'every candidate match was rejected' } });
    } else {
      await moveRequest(env, tx, id, 'queued', { actor });
      await enqueueJob(tx, { requestId: id, kind: 'erase', now });
    }
  });
  return getRequest(env, id);
}

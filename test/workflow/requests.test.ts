import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Store } from '../../src/workflow/store/open-store.ts';
import {
  approveRequest, cancelRequest, createRequest, denyRequest, extendRequest, getRequest, listRequests, moveRequest,
  pauseRequest, requestHistory, resumeRequest, verifyIdentity,
} from '../../src/workflow/requests/service.ts';
import { canTransition, REQUEST_STATES } from '../../src/workflow/requests/states.ts';
import { TEST_STORES, testEnv } from './stores.ts';

const input = (over: Record<string, unknown> = {}) => ({
  subject: { names: ['Ada Example'], emails: ['ada@example.org'] },
  scope: { models: ['models/target'], corpora: ['data/persons/bios.jsonl'] },
  legalGround: 'a', requester: 'dpo@lethe.test', ...over,
});

for (const backend of TEST_STORES) {
  describe(`requests on ${backend.name}`, () => {
    const stores: Store[] = [];
    const open = async () => {
      const s = await backend.open();
      stores.push(s);
      return testEnv(s);
    };
    after(async () => { for (const s of stores) await s.close(); });

    test('the whole happy path: every transition writes the state, a history row and an audit entry', async () => {
      const env = await open();
      const { request, created } = await createRequest(env, input(), 'dpo');
      assert.equal(created, true);
      assert.equal(request.state, 'identity_unverified');
      assert.equal(request.dueAt, null); // the clock waits for identity
      env.set('2026-03-20T09:00:00Z');
      assert.equal((await verifyIdentity(env, request.id, 'op')).dueAt, '2026-04-20');
      await approveRequest(env, request.id, 'op');
      await env.store.write(async (tx) => {
        for (const to of ['assessing', 'queued', 'erasing', 'verifying', 'completed'] as const) await moveRequest(env, tx, request.id, to, { actor: 'worker' });
      });
      const h = await requestHistory(env, request.id);
      assert.deepEqual(h.map((e) => e.to), ['received', 'identity_unverified', 'pending_approval', 'approved', 'assessing', 'queued', 'erasing', 'verifying', 'completed']);
      assert.deepEqual(h.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const audit = await env.store.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
      assert.deepEqual(audit.map((a) => a.seq), audit.map((_, i) => i + 1));
      assert.equal(audit.filter((a) => a.kind === 'transition').length, 8);
      // No personal data in the audit log.
      assert.doesNotMatch(JSON.stringify(audit), /Ada Example|ada@example/);
    });

    test('identity verified on receipt: pending approval at once, due one month after receipt', async () => {
      const env = await open();
      const { request } = await createRequest(env, input({ identityVerified: true, receivedAt: '2026-01-31T08:00:00Z' }), 'dpo');
      assert.equal(request.state, 'pending_approval');
      assert.equal(request.dueAt, '2026-02-28');
    });

    test('illegal transitions are refused naming both states, and change nothing', async () => {
      const env = await open();
      const { request } = await createRequest(env, input(), 'dpo');
      await assert.rejects(approveRequest(env, request.id, 'op'), /identity is not verified/);
      await assert.rejects(env.store.write((tx) => moveRequest(env, tx, request.id, 'completed', { actor: 'x' })), /is identity_unverified: it cannot become completed \(from identity_unverified it can become pending_approval, denied, canceled\)/);
      assert.equal((await getRequest(env, request.id)).state, 'identity_unverified');
      assert.equal((await requestHistory(env, request.id)).length, 2);
    });

    test('deny and cancel need a reason from the list; "other" needs a text; final states stay final', async () => {
      const env = await open();
      const a = (await createRequest(env, input({ identityVerified: true }), 'dpo')).request;
      await assert.rejects(denyRequest(env, a.id, 'op', { reason: 'because' }), /deny: reason: /);
      await assert.rejects(denyRequest(env, a.id, 'op', { reason: 'other' }), /needs a text/);
      const d = await denyRequest(env, a.id, 'op', { reason: 'exception_applies', text: 'Art. 17(3)(b)' });
      assert.deepEqual(d.decision, { kind: 'denied', reason: 'exception_applies', text: 'Art. 17(3)(b)' });
      await assert.rejects(cancelRequest(env, a.id, 'op', { reason: 'duplicate' }), /is denied: it cannot become canceled \(denied is final\)/);
      const b = (await createRequest(env, input({ subject: { names: ['Bo'] } }), 'dpo')).request;
      assert.equal((await cancelRequest(env, b.id, 'op', { reason: 'duplicate' })).state, 'canceled');
    });

    test('a duplicate idempotency key returns the existing request; with other content it is refused', async () => {
      const env = await open();
      const first = await createRequest(env, input({ idempotencyKey: 'mail-42' }), 'dpo');
      const again = await createRequest(env, input({ idempotencyKey: 'mail-42' }), 'dpo');
      assert.equal(again.created, false);
      assert.equal(again.request.id, first.request.id);
      await assert.rejects(createRequest(env, input({ idempotencyKey: 'mail-42', legalGround: 'b' }), 'dpo'), /already used for request .* with different content/);
      assert.equal((await listRequests(env)).length, 1);
      // Same subject without a key: created, and flagged.
      const third = await createRequest(env, input({ subject: { emails: ['ADA@example.org'] } }), 'dpo');
      assert.deepEqual(third.possibleDuplicates, [first.request.id]);
    });

    test('one idempotency key filed several times at once (a client retrying): one request, the others get it back', async () => {
      const env = await open();
      const all = await Promise.all([1, 2, 3, 4].map(() => createRequest(env, input({ idempotencyKey: 'retry-7' }), 'dpo')));
      assert.deepEqual(all.map((r) => r.created).sort(), [false, false, false, true]);
      assert.equal(new Set(all.map((r) => r.request.id)).size, 1);
      assert.equal((await listRequests(env)).length, 1);
    });

    test('bad input is one line naming the field, never echoing personal data, and stores nothing', async () => {
      const env = await open();
      await assert.rejects(createRequest(env, input({ subject: {} }), 'dpo'), /^RequestInputError: request: subject: give at least one identifier/);
      await assert.rejects(createRequest(env, input({ subject: { emails: ['not-an-email'] } }), 'dpo'), (e: Error) => /subject\.emails\.0/.test(e.message) && !e.message.includes('not-an-email'));
      await assert.rejects(createRequest(env, input({ legalGround: 'z' }), 'dpo'), /legalGround/);
      await assert.rejects(createRequest(env, input({ scope: { models: ['no/such/model'] } }), 'dpo'), /scope\.models: .*no\/such\/model is not a model folder/);
      await assert.rejects(createRequest(env, input({ scope: { models: ['models/target'], corpora: ['no/such.jsonl'] } }), 'dpo'), /scope\.corpora: .* is not a file/);
      await assert.rejects(createRequest(env, 'not an object', 'dpo'), /request: /);
      await assert.rejects(getRequest(env, 'req_nope'), /no request "req_nope"/);
      assert.equal((await listRequests(env)).length, 0);
    });

    test('extension: once, up to two months, with a reason, before the deadline', async () => {
      const env = await open();
      const { request } = await createRequest(env, input({ identityVerified: true }), 'dpo');
      assert.equal(request.dueAt, '2026-04-15');
      await assert.rejects(extendRequest(env, request.id, 'op', '2026-07-01', 'complex'), /more than 2 months/);
      const e = await extendRequest(env, request.id, 'op', '2026-06-15', 'many models in scope');
      assert.equal(e.dueAt, '2026-06-15');
      assert.deepEqual(e.extension, { until: '2026-06-15', reason: 'many models in scope' });
      await assert.rejects(extendRequest(env, request.id, 'op', '2026-06-14', 'again'), /already extended/);
    });

    test('days left, overdue, and --due-within', async () => {
      const env = await open();
      const a = (await createRequest(env, input({ identityVerified: true }), 'dpo')).request; // due 2026-04-15
      env.set('2026-03-25T10:00:00Z');
      const b = (await createRequest(env, input({ identityVerified: true, subject: { names: ['B'] } }), 'dpo')).request; // due 2026-04-25
      env.set('2026-04-10T10:00:00Z');
      assert.deepEqual((await listRequests(env, { dueWithinDays: 7 })).map((r) => r.id), [a.id]);
      assert.equal((await getRequest(env, a.id)).daysLeft, 5);
      env.set('2026-04-16T10:00:00Z');
      assert.deepEqual((await listRequests(env, { overdue: true })).map((r) => r.id), [a.id]);
      assert.deepEqual((await listRequests(env)).map((r) => r.id), [a.id, b.id]);
      await assert.rejects(listRequests(env, { state: 'done' }), /unknown state "done"/);
    });

    test('pause returns to the state it was paused in', async () => {
      const env = await open();
      const { request } = await createRequest(env, input({ identityVerified: true }), 'dpo');
      await approveRequest(env, request.id, 'op');
      await env.store.write((tx) => moveRequest(env, tx, request.id, 'assessing', { actor: 'w' }));
      assert.equal((await pauseRequest(env, request.id, 'op', 'waiting for legal')).state, 'paused');
      assert.equal((await resumeRequest(env, request.id, 'op')).state, 'assessing');
      await assert.rejects(resumeRequest(env, request.id, 'op'), /only a paused request/);
    });
  });
}

describe('state machine', () => {
  test('final states have no way out; every non-final state can be canceled', () => {
    for (const from of REQUEST_STATES) {
      const final = ['completed', 'denied', 'canceled'].includes(from);
      assert.equal(canTransition(from, 'canceled'), !final, from);
      if (final) for (const to of REQUEST_STATES) assert.equal(canTransition(from, to), false, `${from} → ${to}`);
    }
    assert.equal(canTransition('pending_approval', 'approved'), true);
    assert.equal(canTransition('identity_unverified', 'approved'), false);
  });
});

import { join } from 'node:path';
import { z } from 'zod';
import { checkpointLog, proveEntry, verifyLog } from '../../workflow/audit/audit-log.ts';
import { loadPublicKey, loadSigningKey } from '../../workflow/audit/keys.ts';
import { issueCertificate, storedCertificate, verifyCertificate } from '../../workflow/evidence/certificate.ts';
import { buildDpoReport } from '../../workflow/report/report-data.ts';
import { renderDpoHtml } from '../../workflow/report/report-html.ts';
import { getRequest, NotFoundError } from '../../workflow/requests/service.ts';
import { caller } from '../auth.ts';
import { EVERYONE, guarded, OPERATORS, READERS, type ApiContext, type ZodApi } from '../context.ts';

const IdParams = z.object({ id: z.string().min(1).max(200).describe('request id') });

const EnvelopeSchema = z.strictObject({
  payloadType: z.string().max(200),
  payload: z.string().max(4_000_000),
  signatures: z.array(z.strictObject({ keyid: z.string().max(200), sig: z.string().max(1000) })).min(1).max(10),
}).describe('a DSSE envelope, as `lethe certificate issue` writes it');

/** Certificates (issue, download, verify) and the audit log (checkpoints, verification, inclusion proofs). */
export function evidenceRoutes(app: ZodApi, ctx: ApiContext): void {
  const { env } = ctx;
  const signingKey = () => loadSigningKey(ctx.keysDir);
  // The verifier's side needs only the public key; the private key is read only where the server signs.
  const publicKey = () => loadPublicKey(join(ctx.keysDir, 'lethe-ed25519.pub'));

  app.get('/api/requests/:id/certificate', guarded(EVERYONE, {
    summary: 'The certificate of erasure of a completed request (a DSSE envelope)', tag: 'certificates',
    description: 'A requester gets the certificates of its own requests only.',
  }, { params: IdParams }), async (request) => {
    const t = caller(request);
    const r = await getRequest(env, request.params.id);
    if (t.role === 'requester' && r.requester !== t.name) throw new NotFoundError(`no request ${JSON.stringify(request.params.id)}`);
    const envelope = await storedCertificate(env, r.id);
    if (!envelope) throw new NotFoundError(`request ${r.id} has no certificate${r.state === 'completed' ? ' yet (an operator issues it)' : ` (it is ${r.state}; certificates are issued for completed requests)`}`);
    return envelope;
  });

  app.post('/api/requests/:id/certificate', guarded(OPERATORS, {
    summary: 'Issue the certificate of a completed request (or return the one issued)', tag: 'certificates',
    description: 'Signs a fresh audit checkpoint and the in-toto statement with the server\'s Ed25519 key.',
  }, { params: IdParams }), async (request) => issueCertificate(env, request.params.id, signingKey()));

  app.post('/api/certificates/verify', guarded(EVERYONE, {
    summary: 'Check a certificate: signature, statement, audit inclusion proof', tag: 'certificates',
    description: 'Against this server\'s public key; `lethe verify-certificate` does the same offline.',
  }, { body: z.strictObject({ envelope: EnvelopeSchema }) }), async (request) => {
    const key = signingKey();
    const r = verifyCertificate(request.body.envelope, key.name, publicKey());
    return { verified: r.problem === null, problem: r.problem, statement: r.statement };
  });

  app.get('/api/requests/:id/report', guarded(READERS, {
    summary: 'The DPO report of a request (HTML): what was found, done and verified, in words', tag: 'certificates',
    description: 'The same page as `lethe report ID`, rendered now; nothing is written.',
  }, { params: IdParams }), async (request, reply) => {
    const report = await buildDpoReport(env, request.params.id);
    // A self-contained page: its own styles inline, its charts as inline SVG, no scripts.
    return reply.type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
      .send(await renderDpoHtml(report));
  });

  app.get('/api/audit/checkpoints', guarded(READERS, { summary: 'Signed checkpoints of the audit log, newest first', tag: 'audit' }, {}), async () => {
    const rows = await env.store.db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').execute();
    return rows.map((c) => ({ size: c.size, root: c.root, at: c.at, note: c.note }));
  });

  app.post('/api/audit/checkpoints', guarded(OPERATORS, { summary: 'Sign a checkpoint of the audit log as it is now', tag: 'audit' }, {}),
    async () => checkpointLog(env.store, signingKey(), ctx.origin));

  app.get('/api/audit/verify', guarded(READERS, {
    summary: 'Recompute the Merkle tree and check every entry and checkpoint against the public key', tag: 'audit',
  }, {}), async () => verifyLog(env.store, signingKey().name, publicKey(), ctx.origin));

  app.get('/api/audit/entries/:seq/proof', guarded(READERS, {
    summary: 'The inclusion proof of an audit entry against the newest checkpoint that covers it', tag: 'audit',
  }, { params: z.object({ seq: z.coerce.number().int().min(1).describe('entry number, from 1') }) }), async (request) => proveEntry(env.store, request.params.seq));
}

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTrainingRecords } from '../data/jsonl.ts';
import { atomicWrite } from '../model/io/atomic-file.ts';
import { verifyLog } from '../workflow/audit/audit-log.ts';
import { initKeys, loadSigningKey } from '../workflow/audit/keys.ts';
import { addCorpus } from '../workflow/assess/corpora.ts';
import { issueCertificate, verifyCertificate } from '../workflow/evidence/certificate.ts';
import { lastVerification } from '../workflow/jobs/handlers.ts';
import { runWorker } from '../workflow/jobs/worker.ts';
import { writeDpoReport } from '../workflow/report/write-report.ts';
import { approveRequest, createRequest, getRequest } from '../workflow/requests/service.ts';
import { openStore } from '../workflow/store/open-store.ts';
import { MAIN_JOB_OPTIONS } from './main-job-lanes.ts';

export interface ErasureStory {
  requestId: string;
  state: string;
  verification: string;
  summary: string;
  certificate: string | null;
  publicKey: string;
  report: string;
  dataDir: string;
  /** The certificate's own check, as `lethe verify-certificate` makes it (null: verified). */
  certificateProblem: string | null;
}

/**
 * The erasure half of `npm start`: one forget10 person's request through the workflow, with the same library calls
 * the API and the CLI make — a fresh store under `dataDir` (replaced on every run, like the main job's folders), the
 * persons corpus indexed with the never-trained holdout persons as non-members, the request filed and approved, a
 * worker running it (assess → erase → verify against the default bar), then the certificate issued and checked and
 * the DPO report written.
 */
export async function runErasureStory(o: { model: string; data: string; dataDir: string; log: (line: string) => void }): Promise<ErasureStory> {
  rmSync(o.dataDir, { recursive: true, force: true });
  const keysDir = join(o.dataDir, 'keys');
  initKeys(keysDir, 'lethe');
  const store = await openStore({ dataDir: o.dataDir });
  // The erasure runs with the comparison's options (MAIN_JOB_OPTIONS): its NPO run took the process from 0.48 to
  // 1.42 GB with the retain batch of 48 in one graph.
  const env = { store, dataDir: o.dataDir, eraseOptions: MAIN_JOB_OPTIONS };
  try {
    const subject = readTrainingRecords(join(o.data, 'forget10.jsonl'))[0]!;
    const name = subject.kind === 'qa' ? subject.subject : null;
    if (!name) throw new RangeError(`${o.data}/forget10.jsonl: its first record names no subject`);
    const corpus = join(o.data, 'all_qa.jsonl');
    await addCorpus(env, corpus, { holdout: join(o.data, 'holdout.jsonl') });
    const { request } = await createRequest(env, {
      subject: { names: [name] }, scope: { models: [o.model], corpora: [corpus] }, legalGround: 'a', requester: 'npm start', identityVerified: true,
      // Measured as the comparison's evaluations are, in bf16 (the verification 20.6 → 18.7 s alone on two threads); the
      // certificate records it.
      verification: { precision: 'bf16' },
    }, 'npm start');
    await approveRequest(env, request.id, 'npm start');
    // The request names a person; the log lines name only the request.
    o.log(`erasure request ${request.id} for one forget10 person filed and approved; a worker runs it (assess → erase → verify)…`);
    await runWorker(env, { once: true, log: (line) => o.log(`  ${line}`) });
    const r = await getRequest(env, request.id);
    const v = await lastVerification(env, request.id);
    const last = v?.attempts.at(-1);
    const report = (await writeDpoReport(env, request.id)).html;
    const publicKey = join(keysDir, 'lethe-ed25519.pub');
    let certificate: string | null = null;
    let certificateProblem: string | null = 'no certificate: the request did not complete';
    if (r.state === 'completed') {
      const key = loadSigningKey(keysDir);
      const envelope = await issueCertificate(env, request.id, key);
      certificate = join(o.dataDir, `certificate-${request.id}.json`);
      atomicWrite(certificate, [Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`)]);
      certificateProblem = verifyCertificate(envelope, key.name, key.publicKey).problem;
      const log = await verifyLog(store, key.name, key.publicKey);
      if (!log.ok) certificateProblem = `the audit log does not verify: ${log.problem}`;
    }
    return {
      requestId: request.id, state: r.state, verification: v?.result ?? 'none', summary: last?.summary ?? 'not verified',
      certificate, publicKey, report, dataDir: o.dataDir, certificateProblem,
    };
  } finally {
    await store.close();
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { Assessment } from '../workflow/assess/assess.ts';
import { initKeys, loadPublicKey, loadSigningKey } from '../workflow/audit/keys.ts';
import { dataDirOf, DEFAULT_LEASE_MS, DEFAULT_ORIGIN } from '../workflow/defaults.ts';
import { parseDays } from '../workflow/requests/deadlines.ts';
import { RequestInputError } from '../workflow/requests/input-error.ts';
import type { ErasureRequest, HistoryEntry, WorkflowEnv } from '../workflow/requests/service.ts';
import { CLOSE_REASONS, REQUEST_STATES } from '../workflow/requests/states.ts';

/** The workflow library, loaded when a command runs (see workflow-lib.ts). */
const lib = (): Promise<typeof import('./workflow-lib.ts')> => import('./workflow-lib.ts');

/** Options every workflow command takes: where the store is, and who acts. */
export interface StoreCliOptions {
  dataDir?: string;
  db?: string;
  actor?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

type Lib = Awaited<ReturnType<typeof lib>>;

/** Opens the store, runs `fn` (with the workflow library), closes the store whatever happens. */
export async function withEnv<T>(o: StoreCliOptions, fn: (env: WorkflowEnv, actor: string, L: Lib) => Promise<T>): Promise<T> {
  const L = await lib();
  const store = await L.openStore({ ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.db ? { url: o.db } : {}) });
  try {
    return await fn({ store, ...(o.dataDir ? { dataDir: o.dataDir } : {}) }, o.actor ?? defaultActor(), L);
  } finally {
    await store.close();
  }
}

export function storeOptions(c: Command): Command {
  return c
    .option('--data-dir <dir>', 'data directory of the embedded store (default: $LETHE_HOME, else ./.lethe)')
    .option('--db <url>', 'a postgres:// URL instead of the embedded store (default: $LETHE_DB)')
    .option('--actor <name>', 'who acts, for the history and the audit log (default: the OS user)');
}

/** One line per request: id, state, days left, due date, requester. Identifiers are not printed in listings. */
export function formatRequestList(rs: readonly ErasureRequest[]): string {
  if (rs.length === 0) return 'no requests';
  const rows = rs.map((r) => [r.id, r.state, r.daysLeft === null ? '—' : r.overdue ? `${-r.daysLeft}d overdue` : `${r.daysLeft}d`, r.dueAt ?? '(waits for identity)', r.requester]);
  const head = ['id', 'state', 'days left', 'due', 'requester'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [head, ...rows].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatRequest(r: ErasureRequest, history: readonly HistoryEntry[]): string {
  const s = r.subject;
  const lines = [
    `${r.id}: ${r.state}${r.pausedFrom ? ` (from ${r.pausedFrom})` : ''}`,
    `  received ${r.receivedAt}, identity ${r.identityVerifiedAt ? `verified ${r.identityVerifiedAt}` : 'not verified'}`,
    `  due ${r.dueAt ?? '(the clock waits for identity)'}${r.daysLeft === null ? '' : r.overdue ? ` — ${-r.daysLeft} days overdue` : ` — ${r.daysLeft} days left`}${r.extension ? ` (extended: ${r.extension.reason})` : ''}`,
    `  legal ground Art. 17(1)(${r.legalGround}), requester ${r.requester}`,
    `  subject: ${[...s.names, ...s.emails, ...s.phones, ...s.addresses, ...s.patterns].length} identifiers (${s.names.length} names, ${s.emails.length} e-mails, ${s.phones.length} phones, ${s.addresses.length} addresses, ${s.patterns.length} patterns)`,
    `  scope: ${r.scope.models.join(', ')}${r.scope.corpora.length > 0 ? `; corpora ${r.scope.corpora.join(', ')}` : ''}`,
    ...(r.decision ? [`  ${r.decision.kind}: ${r.decision.reason}${r.decision.text ? ` — ${r.decision.text}` : ''}`] : []),
    '  history:',
    ...history.map((h) => `    ${h.at}  ${(h.from ?? '—').padEnd(19)} → ${h.to.padEnd(19)} ${h.actor}${h.reason ? ` (${h.reason})` : ''}`),
  ];
  return lines.join('\n');
}

interface CreateFlags extends StoreCliOptions {
  file?: string;
  name: string[];
  email: string[];
  phone: string[];
  address: string[];
  pattern: string[];
  model: string[];
  corpus: string[];
  ground?: string;
  requester?: string;
  idempotencyKey?: string;
  identityVerified?: boolean;
  receivedAt?: string;
}

/** The request body: a JSON file (or - for stdin), else the flags. */
function requestBody(o: CreateFlags): unknown {
  if (o.file) {
    const text = readFileSync(o.file === '-' ? 0 : o.file, 'utf8');
    try {
      return JSON.parse(text);
    } catch {
      // The parser's message quotes the text, which may be personal data: say only what is wrong.
      throw new RequestInputError(`${o.file === '-' ? 'stdin' : o.file}: not valid JSON`);
    }
  }
  return {
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    subject: { names: o.name, emails: o.email, phones: o.phone, addresses: o.address, patterns: o.pattern },
    scope: { models: o.model, corpora: o.corpus },
    legalGround: o.ground, requester: o.requester,
    ...(o.receivedAt ? { receivedAt: o.receivedAt } : {}),
    identityVerified: o.identityVerified ?? false,
  };
}

export const print = (o: StoreCliOptions, json: unknown, text: string): void => console.log(o.json ? JSON.stringify(json, null, 2) : text);

/** `lethe request …`: the erasure-request commands, thin over src/workflow/requests/service.ts. */
export function requestCommand(): Command {
  const request = new Command('request').description('erasure requests (GDPR Art. 17): file, follow and decide them');

  storeOptions(request.command('create'))
    .description('file an erasure request (from --file JSON, or from the flags)')
    .option('--file <path>', 'the request as JSON ({subject, scope, legalGround, requester, idempotencyKey?, receivedAt?, identityVerified?}); - reads stdin')
    .option('--name <name>', 'a name of the subject (repeatable)', collect, [])
    .option('--email <address>', 'an e-mail address (repeatable)', collect, [])
    .option('--phone <number>', 'a phone number (repeatable)', collect, [])
    .option('--address <text>', 'a postal address (repeatable)', collect, [])
    .option('--pattern <text>', 'any other text to find, e.g. an account number (repeatable)', collect, [])
    .option('--model <dir>', 'a model folder in scope (repeatable)', collect, [])
    .option('--corpus <file>', 'a training-data file in scope (repeatable)', collect, [])
    .addOption(new Option('--ground <letter>', 'legal ground, GDPR Art. 17(1)(a)–(f)').choices(['a', 'b', 'c', 'd', 'e', 'f']))
    .option('--requester <who>', 'who files it (e.g. the DPO\'s address)')
    .option('--idempotency-key <key>', 'the same key again returns the existing request')
    .option('--identity-verified', 'the subject\'s identity is already confirmed (the deadline runs from receipt)')
    .option('--received-at <iso>', 'when the request arrived (default now)')
    .option('--json', 'print JSON')
    .action(async (o: CreateFlags) => {
      const r = await withEnv(o, (env, actor, L) => L.createRequest(env, requestBody(o), actor));
      const dup = r.possibleDuplicates.length > 0 ? `\nnote: open requests with the same name or e-mail: ${r.possibleDuplicates.join(', ')}` : '';
      print(o, r, `${r.created ? 'filed' : 'already filed (same idempotency key)'}: ${r.request.id} (${r.request.state}), due ${r.request.dueAt ?? 'once identity is verified'}${dup}`);
    });

  storeOptions(request.command('list'))
    .description('requests, soonest deadline first')
    .addOption(new Option('--state <state>', 'only this state').choices([...REQUEST_STATES]))
    .option('--due-within <days>', 'open requests due within this time (e.g. 7d, 2w), overdue ones included')
    .option('--overdue', 'only overdue requests')
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions & { state?: string; dueWithin?: string; overdue?: boolean }) => {
      const rs = await withEnv(o, (env, _actor, L) => L.listRequests(env, {
        ...(o.state ? { state: o.state } : {}), ...(o.dueWithin ? { dueWithinDays: parseDays(o.dueWithin) } : {}), overdue: o.overdue ?? false,
      }));
      print(o, rs, formatRequestList(rs));
    });

  storeOptions(request.command('show').argument('<id>'))
    .description('one request with its history')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions) => {
      const { r, h } = await withEnv(o, async (env, _actor, L) => ({ r: await L.getRequest(env, id), h: await L.requestHistory(env, id) }));
      print(o, { ...r, history: h }, formatRequest(r, h));
    });

  const simple = (name: string, description: string, fn: (L: Lib) => (env: WorkflowEnv, id: string, actor: string) => Promise<ErasureRequest>) =>
    storeOptions(request.command(name).argument('<id>'))
      .description(description)
      .option('--json', 'print JSON')
      .action(async (id: string, o: StoreCliOptions) => {
        const r = await withEnv(o, (env, actor, L) => fn(L)(env, id, actor));
        print(o, r, `${r.id}: ${r.state}${r.dueAt ? `, due ${r.dueAt}` : ''}`);
      });
  simple('verify-identity', 'the subject\'s identity is confirmed: the deadline starts if it waited, and the request awaits approval', (L) => L.verifyIdentity);
  simple('approve', 'approve a request whose identity is verified', (L) => L.approveRequest);
  simple('resume', 'resume a paused request', (L) => L.resumeRequest);
  simple('retry', 'send a failed request back to work (erasure resumes from its recorded steps)', (L) => L.retryRequest);

  for (const [name, fn, what] of [['deny', (L: Lib) => L.denyRequest, 'deny a request'], ['cancel', (L: Lib) => L.cancelRequest, 'cancel a request that is not closed']] as const) {
    storeOptions(request.command(name).argument('<id>'))
      .description(`${what}, with a reason`)
      .addOption(new Option('--reason <code>', 'why').choices([...CLOSE_REASONS]).makeOptionMandatory())
      .option('--text <words>', 'details (required with --reason other)')
      .option('--json', 'print JSON')
      .action(async (id: string, o: StoreCliOptions & { reason: string; text?: string }) => {
        const r = await withEnv(o, (env, actor, L) => fn(L)(env, id, actor, { reason: o.reason, ...(o.text ? { text: o.text } : {}) }));
        print(o, r, `${r.id}: ${r.state} (${o.reason})`);
      });
  }

  storeOptions(request.command('extend').argument('<id>'))
    .description('extend the deadline once, by up to two months, with a reason')
    .requiredOption('--until <date>', 'the new deadline, YYYY-MM-DD')
    .requiredOption('--reason <words>', 'why (told to the subject within the first month)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions & { until: string; reason: string }) => {
      const r = await withEnv(o, (env, actor, L) => L.extendRequest(env, id, actor, o.until, o.reason));
      print(o, r, `${r.id}: due ${r.dueAt} (extended)`);
    });

  storeOptions(request.command('pause').argument('<id>'))
    .description('pause an assessing, erasing or verifying request')
    .option('--reason <words>', 'why')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions & { reason?: string }) => {
      const r = await withEnv(o, (env, actor, L) => L.pauseRequest(env, id, actor, o.reason));
      print(o, r, `${r.id}: paused (from ${r.pausedFrom})`);
    });

  return request;
}

/** The assessment as text: what was found where (positions and hashes, no identifiers), the models, the costs. */
export function formatAssessment(a: Assessment, stored: boolean): string {
  const lines = [`${a.requestId}: ${stored ? 'assessment' : 'preview (not stored; the worker assesses an approved request)'}: ${a.outcome}`];
  for (const c of a.corpora) {
    const exact = c.matches.filter((m) => m.score >= a.threshold).length;
    lines.push(`  ${c.corpus.path}: ${new Set(c.matches.map((m) => m.record)).size} of ${c.corpus.records} records match (${exact} exact, ${c.matches.length - exact} to confirm)`);
    for (const m of c.matches.filter((x) => x.score < a.threshold)) lines.push(`    to confirm: line ${m.line}${m.item === null ? '' : ` item ${m.item}`}, ${m.identifier.kind} #${m.identifier.index + 1}, score ${m.score.toFixed(3)}, ${m.hash}`);
  }
  for (const f of a.unavailable) lines.push(`  not searched: ${f.path} (named by ${f.from} of ${f.model}; the file is missing)`);
  for (const m of a.models) {
    lines.push(`  model ${m.model}: ${m.recordsFound} records; recommended ${m.recommendation.method} (${m.recommendation.kind}): ${m.recommendation.why}`);
    if (m.stepSeconds !== null) lines.push(`    measured pass ${m.stepSeconds.toFixed(3)} s; estimated: ${m.costs.map((c) => `${c.method} ${c.steps} steps ≈ ${Math.ceil(c.seconds)} s`).join(', ')}`);
  }
  return lines.join('\n');
}

/** `lethe assess ID`: the stored assessment, or a preview; --confirm decides the fuzzy matches. */
export function assessCommand(): Command {
  return storeOptions(new Command('assess').argument('<id>'))
    .description('show what an erasure request affects: records found, models, cost per method, the recommended method')
    .option('--confirm <hashes>', 'for a request that requires input: confirm these fuzzy matches (record hashes, comma-separated, or all); the others are left out')
    .option('--reject-all', 'for a request that requires input: confirm none of the fuzzy matches')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions & { confirm?: string; rejectAll?: boolean }) => {
      await withEnv(o, async (env, actor, L) => {
        if (o.confirm !== undefined || o.rejectAll) {
          const r = await L.decideMatches(env, id, actor, o.rejectAll ? [] : o.confirm === 'all' ? 'all' : o.confirm!.split(',').map((h) => h.trim()).filter(Boolean));
          print(o, r, `${r.id}: ${r.state}`);
          return;
        }
        const stored = await L.loadAssessment(env.store.db, id);
        const a = stored ?? (await L.assessRequest(env, await L.getRequest(env, id)));
        print(o, { stored: stored !== null, ...a }, formatAssessment(a, stored !== null));
      });
    });
}

/** `lethe corpus add|list`: training-data files registered and indexed for assessment. */
export function corpusCommand(): Command {
  const corpus = new Command('corpus').description('training-data files indexed for impact assessment');
  storeOptions(corpus.command('add').argument('<files...>'))
    .description('register and index training-data files (once per content)')
    .option('--holdout <file>', 'records of the same form the model was never trained on (non-members): verification compares the subject\'s records with them; with one corpus file only')
    .option('--json', 'print JSON')
    .action(async (files: string[], o: StoreCliOptions & { holdout?: string }) => {
      if (o.holdout && files.length !== 1) throw new RequestInputError('corpus add: --holdout goes with one corpus file');
      const out = await withEnv(o, async (env, _actor, L) => {
        const added = [];
        for (const f of files) added.push(await L.addCorpus(env, f, o.holdout ? { holdout: o.holdout } : {}));
        return added;
      });
      print(o, out, out.map((a) => `${a.created ? 'indexed' : 'already indexed'}: ${a.corpus.id} ${a.corpus.path} (${a.corpus.records} records${a.corpus.holdout ? `; holdout ${a.corpus.holdout.path}` : ''})`).join('\n'));
    });
  storeOptions(corpus.command('list'))
    .description('registered corpora')
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions) => {
      const cs = await withEnv(o, (env, _actor, L) => L.listCorpora(env));
      print(o, cs, cs.length === 0 ? 'no corpora' : cs.map((c) => `${c.id}  ${c.records} records  ${c.path}${c.holdout ? `  (holdout ${c.holdout.path})` : ''}`).join('\n'));
    });
  return corpus;
}

/** `lethe model add|list`: model folders registered for requests and the dashboard to name. */
export function modelCommand(): Command {
  const model = new Command('model').description('model folders registered for erasure requests');
  storeOptions(model.command('add').argument('<dirs...>'))
    .description('register model folders (config checked, weights hashed)')
    .option('--json', 'print JSON')
    .action(async (dirs: string[], o: StoreCliOptions) => {
      const { addModel } = await import('../workflow/assess/models.ts');
      const out = await withEnv(o, async (env) => {
        const added = [];
        for (const d of dirs) added.push(await addModel(env, d));
        return added;
      });
      print(o, out, out.map((a) => `${a.created ? 'registered' : 'already registered'}: ${a.model.id} ${a.model.path} (${a.model.architecture}, sha256 ${a.model.sha256.slice(0, 12)}…)`).join('\n'));
    });
  storeOptions(model.command('list'))
    .description('registered model folders')
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions) => {
      const { listModels } = await import('../workflow/assess/models.ts');
      const ms = await withEnv(o, (env) => listModels(env));
      print(o, ms, ms.length === 0 ? 'no models' : ms.map((m) => `${m.id}  ${m.architecture}  ${m.summary.layers} layers × ${m.summary.hiddenSize}  ${m.path}`).join('\n'));
    });
  return model;
}

/** `lethe worker`: runs queued jobs (assessment, erasure, verification) with leases and heartbeats. */
export function workerCommand(): Command {
  return storeOptions(new Command('worker'))
    .description('run erasure jobs: claims them with a lease, heartbeats, resumes what a dead worker left')
    .option('--once', 'stop when no job is left (else keep polling)')
    .option('--concurrency <n>', 'jobs at a time', (v) => Math.max(1, Number.parseInt(v, 10) || 1), 1)
    .option('--lease <seconds>', 'lease length (heartbeat every third)', (v) => Math.max(1, Number(v) || 0), DEFAULT_LEASE_MS / 1000)
    .option('--erase-option <key=value>', 'an option added to every erasure\'s method options, e.g. steps=20 for a step budget (repeatable)', collect, [])
    .action(async (o: StoreCliOptions & { once?: boolean; concurrency: number; lease: number; eraseOption: string[] }) => {
      const controller = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
      const { jobs } = await withEnv(o, (env, _actor, L) => L.runWorker({ ...env, ...(o.eraseOption.length ? { eraseOptions: o.eraseOption } : {}) }, {
        once: o.once ?? false, concurrency: o.concurrency, leaseMs: o.lease * 1000, signal: controller.signal,
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      }));
      console.log(`worker: ${jobs} job(s) run`);
    });
}

/** Where the signing key lives: --keys DIR, else the data directory's keys/. */
export const keysDir = (o: StoreCliOptions & { keys?: string }): string => o.keys ?? join(dataDirOf(o.dataDir ? { dataDir: o.dataDir } : {}), 'keys');

/** `lethe keys init`: the Ed25519 key pair that signs audit checkpoints (private key mode 0600, never replaced). */
export function keysCommand(): Command {
  const keys = new Command('keys').description('the signing key of audit checkpoints');
  keys.command('init')
    .description('create the Ed25519 key pair (refuses to replace an existing one)')
    .option('--data-dir <dir>', 'data directory (default: $LETHE_HOME, else ./.lethe); the keys go to its keys/')
    .option('--keys <dir>', 'put the keys here instead')
    .option('--name <name>', 'the key\'s name in signed notes', 'lethe')
    .action((o: StoreCliOptions & { keys?: string; name: string }) => {
      const k = initKeys(keysDir(o), o.name);
      console.log(`private key ${k.privatePath} (mode 0600; keep it secret)\npublic key ${k.publicPath}\nverifier key ${k.verifier}`);
    });
  return keys;
}

/** `lethe audit checkpoint|verify|prove`: the append-only Merkle log of every transition. */
export function auditCommand(): Command {
  const audit = new Command('audit').description('the tamper-evident audit log (RFC 6962 Merkle tree, signed checkpoints)');
  storeOptions(audit.command('checkpoint'))
    .description('sign a checkpoint of the log as it is now')
    .option('--keys <dir>', 'the signing key\'s folder (default: the data directory\'s keys/)')
    .option('--origin <name>', 'the log\'s name in checkpoints', DEFAULT_ORIGIN)
    .action(async (o: StoreCliOptions & { keys?: string; origin: string }) => {
      const key = loadSigningKey(keysDir(o));
      const { size, note } = await withEnv(o, (env, _actor, L) => L.checkpointLog(env.store, key, o.origin));
      process.stdout.write(`checkpoint of ${size} entries:\n${note}`);
    });
  storeOptions(audit.command('verify'))
    .description('recompute the tree and check every entry and every checkpoint against the public key')
    .option('--key <pem>', 'the public key (default: the data directory\'s keys/lethe-ed25519.pub)')
    .option('--name <name>', 'the key\'s name (default: the one in the keys folder)')
    .option('--origin <name>', 'the log\'s name in checkpoints', DEFAULT_ORIGIN)
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions & { key?: string; name?: string; origin: string; keys?: string }) => {
      const dir = keysDir(o);
      const publicKey = loadPublicKey(o.key ?? join(dir, 'lethe-ed25519.pub'));
      const name = o.name ?? loadSigningKey(dir).name;
      const v = await withEnv(o, (env, _actor, L) => L.verifyLog(env.store, name, publicKey, o.origin));
      print(o, v, v.ok ? `audit log verified: ${v.entries} entries, ${v.checkpoints} checkpoints` : `audit log NOT verified: ${v.problem}`);
      if (!v.ok) process.exitCode = 1;
    });
  storeOptions(audit.command('prove').argument('<entry>'))
    .description('the inclusion proof of an entry against the newest checkpoint that covers it (JSON)')
    .action(async (entry: string, o: StoreCliOptions) => {
      const seq = Number(entry);
      if (!Number.isInteger(seq) || seq < 1) throw new RequestInputError(`audit prove: "${entry}" is not an entry number`);
      const e = await withEnv(o, (env, _actor, L) => L.proveEntry(env.store, seq));
      console.log(JSON.stringify(e, null, 2));
    });
  return audit;
}

/** `lethe certificate issue ID`: the signed certificate of erasure of a completed request (DSSE, in-toto). */
export function certificateCommand(): Command {
  const certificate = new Command('certificate').description('signed certificates of erasure (in-toto Statement in a DSSE envelope)');
  storeOptions(certificate.command('issue').argument('<id>'))
    .description('issue (or fetch) the certificate of a completed request; it signs a fresh audit checkpoint')
    .option('--keys <dir>', 'the signing key\'s folder (default: the data directory\'s keys/)')
    .option('--out <file>', 'write it to this file (default: print it)')
    .action(async (id: string, o: StoreCliOptions & { keys?: string; out?: string }) => {
      const key = loadSigningKey(keysDir(o));
      const envelope = await withEnv(o, (env, _actor, L) => L.issueCertificate(env, id, key));
      const text = JSON.stringify(envelope, null, 2) + '\n';
      if (o.out) {
        const { atomicWrite } = await import('../model/io/atomic-file.ts');
        atomicWrite(o.out, [Buffer.from(text)]);
        console.log(`certificate of ${id} written to ${o.out}`);
      } else process.stdout.write(text);
    });
  return certificate;
}

/** `lethe verify-certificate CERT --key PUB`: checks a certificate offline; exits 1 naming the first thing wrong. */
export function verifyCertificateCommand(): Command {
  return new Command('verify-certificate').argument('<cert>')
    .description('check a certificate of erasure offline: signature, statement, audit inclusion proof, and optionally the model folder')
    .requiredOption('--key <pem>', 'the signer\'s public key (PEM)')
    .option('--name <name>', 'the key\'s name', 'lethe')
    .option('--model <dir>', 'also check that this folder\'s weights are a certified subject')
    .action(async (cert: string, o: { key: string; name: string; model?: string }) => {
      let envelope: unknown;
      try {
        envelope = JSON.parse(readFileSync(cert, 'utf8'));
      } catch {
        throw new RequestInputError(`${cert}: not a certificate (JSON)`);
      }
      const { verifyCertificate } = await lib();
      const r = verifyCertificate(envelope as Parameters<typeof verifyCertificate>[0], o.name, loadPublicKey(o.key), o.model ? { modelDir: o.model } : {});
      if (r.problem) {
        console.log(`certificate NOT verified: ${r.problem}`);
        process.exitCode = 1;
        return;
      }
      const p = r.statement!.predicate;
      console.log(`certificate verified: request ${p.request.id}, completed ${p.request.completedAt}, ${r.statement!.subject.length} model(s), ${p.corpus.recordsFound} matched record(s) across the corpus files (one record in several files counts once per file), verification ${p.verification.result}${o.model ? `; ${o.model} is a certified model` : ''}`);
    });
}

/**
 * Defence in depth for `lethe generate`: when a workflow store exists (the data directory's, or --db / $LETHE_DB),
 * the identifiers of every request covering this model are replaced in the generated text, and each block is written
 * to the audit log. Without a store there are no requests, and the text is left as it is.
 */
export async function filterGenerated<T extends { text: string }>(modelDir: string, results: T[], o: StoreCliOptions): Promise<{ results: T[]; blocked: number }> {
  const hasStore = Boolean(o.db ?? process.env['LETHE_DB']) || existsSync(join(dataDirOf(o.dataDir ? { dataDir: o.dataDir } : {}), 'lethe.db'));
  if (!hasStore) return { results, blocked: 0 };
  return withEnv(o, async (env, _actor, L) => {
    const filter = await L.outputFilterFor(env, modelDir);
    if (filter.size === 0) return { results, blocked: 0 };
    const out = results.map((r) => ({ r, f: filter.apply(r.text) }));
    const blocks = out.flatMap((x) => x.f.blocks);
    await L.logBlocks(env, modelDir, blocks);
    // A filtered result's token ids would spell the identifier out again: they are withheld (an empty list).
    return { results: out.map(({ r, f }) => (f.blocks.length === 0 ? r : { ...r, text: f.text, ...('tokens' in r ? { tokens: [] } : {}) })), blocked: blocks.length };
  });
}

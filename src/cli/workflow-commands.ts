import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { parseDays } from '../workflow/requests/deadlines.ts';
import { RequestInputError } from '../workflow/requests/request-input.ts';
import {
  approveRequest, cancelRequest, createRequest, denyRequest, extendRequest, getRequest, listRequests, pauseRequest,
  requestHistory, resumeRequest, verifyIdentity, type ErasureRequest, type WorkflowEnv,
} from '../workflow/requests/service.ts';
import { CLOSE_REASONS, REQUEST_STATES } from '../workflow/requests/states.ts';
import { openStore } from '../workflow/store/open-store.ts';

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

/** Opens the store, runs `fn`, closes the store whatever happens. */
async function withEnv<T>(o: StoreCliOptions, fn: (env: WorkflowEnv, actor: string) => Promise<T>): Promise<T> {
  const store = await openStore({ ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.db ? { url: o.db } : {}) });
  try {
    return await fn({ store }, o.actor ?? defaultActor());
  } finally {
    await store.close();
  }
}

function storeOptions(c: Command): Command {
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

export function formatRequest(r: ErasureRequest, history: Awaited<ReturnType<typeof requestHistory>>): string {
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

const print = (o: StoreCliOptions, json: unknown, text: string): void => console.log(o.json ? JSON.stringify(json, null, 2) : text);

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
      const r = await withEnv(o, (env, actor) => createRequest(env, requestBody(o), actor));
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
      const rs = await withEnv(o, (env) => listRequests(env, {
        ...(o.state ? { state: o.state } : {}), ...(o.dueWithin ? { dueWithinDays: parseDays(o.dueWithin) } : {}), overdue: o.overdue ?? false,
      }));
      print(o, rs, formatRequestList(rs));
    });

  storeOptions(request.command('show').argument('<id>'))
    .description('one request with its history')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions) => {
      const { r, h } = await withEnv(o, async (env) => ({ r: await getRequest(env, id), h: await requestHistory(env, id) }));
      print(o, { ...r, history: h }, formatRequest(r, h));
    });

  const simple = (name: string, description: string, fn: (env: WorkflowEnv, id: string, actor: string) => Promise<ErasureRequest>) =>
    storeOptions(request.command(name).argument('<id>'))
      .description(description)
      .option('--json', 'print JSON')
      .action(async (id: string, o: StoreCliOptions) => {
        const r = await withEnv(o, (env, actor) => fn(env, id, actor));
        print(o, r, `${r.id}: ${r.state}${r.dueAt ? `, due ${r.dueAt}` : ''}`);
      });
  simple('verify-identity', 'the subject\'s identity is confirmed: the deadline starts if it waited, and the request awaits approval', verifyIdentity);
  simple('approve', 'approve a request whose identity is verified', approveRequest);
  simple('resume', 'resume a paused request', resumeRequest);

  for (const [name, fn, what] of [['deny', denyRequest, 'deny a request'], ['cancel', cancelRequest, 'cancel a request that is not closed']] as const) {
    storeOptions(request.command(name).argument('<id>'))
      .description(`${what}, with a reason`)
      .addOption(new Option('--reason <code>', 'why').choices([...CLOSE_REASONS]).makeOptionMandatory())
      .option('--text <words>', 'details (required with --reason other)')
      .option('--json', 'print JSON')
      .action(async (id: string, o: StoreCliOptions & { reason: string; text?: string }) => {
        const r = await withEnv(o, (env, actor) => fn(env, id, actor, { reason: o.reason, ...(o.text ? { text: o.text } : {}) }));
        print(o, r, `${r.id}: ${r.state} (${o.reason})`);
      });
  }

  storeOptions(request.command('extend').argument('<id>'))
    .description('extend the deadline once, by up to two months, with a reason')
    .requiredOption('--until <date>', 'the new deadline, YYYY-MM-DD')
    .requiredOption('--reason <words>', 'why (told to the subject within the first month)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions & { until: string; reason: string }) => {
      const r = await withEnv(o, (env, actor) => extendRequest(env, id, actor, o.until, o.reason));
      print(o, r, `${r.id}: due ${r.dueAt} (extended)`);
    });

  storeOptions(request.command('pause').argument('<id>'))
    .description('pause an assessing, erasing or verifying request')
    .option('--reason <words>', 'why')
    .option('--json', 'print JSON')
    .action(async (id: string, o: StoreCliOptions & { reason?: string }) => {
      const r = await withEnv(o, (env, actor) => pauseRequest(env, id, actor, o.reason));
      print(o, r, `${r.id}: paused (from ${r.pausedFrom})`);
    });

  return request;
}

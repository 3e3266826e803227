import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LEASE_MS } from '../workflow/defaults.ts';
import { ROLES } from '../workflow/access/roles.ts';
import type { WorkflowEnv } from '../workflow/requests/service.ts';
import { keysDir, print, storeOptions, withEnv, type StoreCliOptions } from './workflow-commands.ts';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

/** `lethe token create|list|revoke`: the API's bearer tokens (stored hashed; a secret is shown once). */
export function tokenCommand(): Command {
  const token = new Command('token').description('bearer tokens of the HTTP API, each with a role');
  storeOptions(token.command('create'))
    .description('make a token; its secret is printed once and stored only as a hash')
    .addOption(new Option('--role <role>', 'requester (files and follows its own requests), operator (approves, runs, retries), auditor (reads everything), admin (manages tokens)').choices([...ROLES]).makeOptionMandatory())
    .requiredOption('--name <name>', 'who holds it; a requester token files its requests under this name')
    .option('--expires-in-days <n>', 'days until it stops working (default: never)', positiveInt('--expires-in-days'))
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions & { role: string; name: string; expiresInDays?: number }) => {
      const { createToken } = await import('../workflow/access/tokens.ts');
      const r = await withEnv(o, (env, actor) => createToken(env, { role: o.role, name: o.name, ...(o.expiresInDays ? { expiresInDays: o.expiresInDays } : {}) }, actor));
      print(o, r, `${r.token}\n(${r.info.role} token ${r.info.id} for ${r.info.name}${r.info.expiresAt ? `, expires ${r.info.expiresAt}` : ''}; the secret is not shown again)`);
    });
  storeOptions(token.command('list'))
    .description('tokens, without their secrets')
    .option('--json', 'print JSON')
    .action(async (o: StoreCliOptions) => {
      const { listTokens } = await import('../workflow/access/tokens.ts');
      const ts = await withEnv(o, (env) => listTokens(env));
      print(o, ts, ts.length === 0 ? 'no tokens' : ts.map((t) => `${t.id}  ${t.role.padEnd(9)}  ${t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt ? `expires ${t.expiresAt}` : 'active'}  ${t.name}`).join('\n'));
    });
  storeOptions(token.command('revoke').argument('<id>'))
    .description('revoke a token at once')
    .action(async (id: string, o: StoreCliOptions) => {
      const { revokeToken } = await import('../workflow/access/tokens.ts');
      const t = await withEnv(o, (env, actor) => revokeToken(env, id, actor));
      console.log(`${t.id}: revoked ${t.revokedAt}`);
    });
  return token;
}

/**
 * What a server's first start on a store needs: the signing key when the folder has none, and an admin token when the
 * store has no token at all (returned once; only its hash is kept). Later starts make neither.
 */
export async function firstStart(env: WorkflowEnv, keys: string): Promise<{ keyMade: string | null; adminToken: string | null }> {
  const [{ createToken, listTokens }, { initKeys }] = await Promise.all([import('../workflow/access/tokens.ts'), import('../workflow/audit/keys.ts')]);
  const keyMade = existsSync(join(keys, 'lethe-ed25519.key')) ? null : initKeys(keys, 'lethe').privatePath;
  const adminToken = (await listTokens(env)).length === 0 ? (await createToken(env, { role: 'admin', name: 'first admin' }, 'lethe serve (first start)')).token : null;
  return { keyMade, adminToken };
}

/**
 * `lethe serve`: the HTTP API with an in-process worker on the store. On first start it makes the signing key (when
 * there is none) and an admin token, printed once.
 */
export function serveCommand(): Command {
  return storeOptions(new Command('serve'))
    .description('serve the HTTP API (OpenAPI at /openapi.json) with an in-process worker')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one, printed)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be an integer in 0…65535');
      return n;
    }, 7170)
    .option('--keys <dir>', 'the signing key\'s folder (default: the data directory\'s keys/)')
    .option('--no-worker', 'do not run jobs in this process (run `lethe worker` elsewhere)')
    .option('--rate-limit <n>', 'requests per client per minute', positiveInt('--rate-limit'), 600)
    .action(async (o: StoreCliOptions & { host: string; port: number; keys?: string; worker: boolean; rateLimit: number }) => {
      const [{ buildApi }, { runWorker }, { openStore }] = await Promise.all([
        import('../api/server.ts'), import('../workflow/jobs/worker.ts'), import('../workflow/store/open-store.ts'),
      ]);
      const store = await openStore({ ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.db ? { url: o.db } : {}) });
      const env = { store, ...(o.dataDir ? { dataDir: o.dataDir } : {}) };
      const keys = keysDir(o);
      const first = await firstStart(env, keys);
      if (first.keyMade) console.log(`signing key made: ${first.keyMade} (keep it secret); public key ${join(keys, 'lethe-ed25519.pub')}`);
      if (first.adminToken) console.log(`first admin token (shown once; make others with POST /api/tokens or lethe token create):\n${first.adminToken}`);
      const app = await buildApi({ env, keysDir: keys, rateLimitPerMinute: o.rateLimit, logger: false });
      const controller = new AbortController();
      // The first signal drains: no new requests or jobs, the running job (if any) finishes. A second one ends the
      // process at once (the handlers are gone); a job cut short resumes from its checkpoint on the next start.
      const stop = async (): Promise<void> => {
        process.stderr.write('stopping: the API closes, a running job finishes first (signal again to stop now; it would resume on the next start)\n');
        controller.abort();
        await app.close();
      };
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          for (const other of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(other);
          void stop();
        });
      }
      const url = await app.listen({ host: o.host, port: o.port });
      console.log(`Lethe API on ${url} (OpenAPI: ${url}/openapi.json)${o.worker ? '; a worker runs jobs in this process' : ''}`);
      const worker = o.worker
        ? runWorker(env, { leaseMs: DEFAULT_LEASE_MS, signal: controller.signal, log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) })
        : Promise.resolve({ jobs: 0 });
      await Promise.all([worker, new Promise<void>((resolve) => app.server.once('close', () => resolve()))]);
      await store.close();
    });
}

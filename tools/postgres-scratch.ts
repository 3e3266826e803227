// Throwaway databases and schemas on a PostgreSQL server, for the tests (test/workflow/stores.ts) and the queue
// bench: each run gets its own, so runs side by side never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database or schema made for a run: the URL that reaches it (from any process), and its removal. */
export interface ScratchPostgres {
  url: string;
  drop(): Promise<void>;
}

/** One statement on its own connection (CREATE DATABASE cannot run inside a transaction or a pool's session). */
async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const freshName = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** Creates an empty database on the server of `url`; `drop` removes it, ending sessions still connected (killed workers'). */
export async function freshPostgresDatabase(url: string, prefix = 'lethe_test'): Promise<ScratchPostgres> {
  const name = freshName(prefix);
  await admin(url, `create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(url, `drop database if exists ${name} with (force)`) };
}

/** Creates an empty schema in the database of `url`; connections made from the returned URL use it (search path). */
export async function freshPostgresSchema(url: string, prefix = 'lethe_test'): Promise<ScratchPostgres> {
  const name = freshName(prefix);
  await admin(url, `create schema ${name}`);
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${name}`);
  return { url: u.toString(), drop: () => admin(url, `drop schema if exists ${name} cascade`) };
}

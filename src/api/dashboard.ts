import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files (web/), each at a fixed URL: a page, its script and its styles; nothing else is served. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/web/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/web/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export const DASHBOARD_ROUTES: readonly string[] = Object.keys(FILES);

const WEB = new URL('../../web/', import.meta.url);

/** Serves the dashboard from this process: no CDN, no build step; the files are read once, at start. */
export function dashboardRoutes(app: FastifyInstance): void {
  for (const [url, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file, WEB));
    app.get(url, { schema: { hide: true } }, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
}

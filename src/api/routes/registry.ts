import { z } from 'zod';
import { METHODS } from '../../unlearn/registry.ts';
import { createToken, listTokens, revokeToken, TokenInputSchema } from '../../workflow/access/tokens.ts';
import { addCorpus, listCorpora } from '../../workflow/assess/corpora.ts';
import { addModel, listModels } from '../../workflow/assess/models.ts';
import { actorOf, caller } from '../auth.ts';
import { EVERYONE, guarded, OPERATORS, READERS, type ApiContext, type ZodApi } from '../context.ts';

/** Corpora, models, methods and tokens: what requests refer to, what erasure can use, who may call. */
export function registryRoutes(app: ZodApi, ctx: ApiContext): void {
  const { env } = ctx;

  app.get('/api/corpora', guarded(READERS, { summary: 'Registered training-data files', tag: 'corpora' }, {}), async () => listCorpora(env));

  app.post('/api/corpora', guarded(OPERATORS, {
    summary: 'Register and index a training-data file (once per content)', tag: 'corpora',
    description: 'Paths are on the server\'s filesystem. `holdout`: records of the same form the model never saw (non-members), which verification compares the subject\'s records with.',
  }, { body: z.strictObject({ path: z.string().trim().min(1).max(4096), holdout: z.string().trim().min(1).max(4096).optional() }) }), async (request, reply) => {
    const r = await addCorpus(env, request.body.path, request.body.holdout ? { holdout: request.body.holdout } : {});
    return reply.code(r.created ? 201 : 200).send(r);
  });

  app.get('/api/models', guarded(EVERYONE, { summary: 'Registered model folders: path, weights digest, shape', tag: 'models' }, {}), async () => listModels(env));

  app.post('/api/models', guarded(OPERATORS, {
    summary: 'Register a model folder (config checked, weights hashed)', tag: 'models',
    description: 'Paths are on the server\'s filesystem. The same folder with the same weights again: 200 with the existing entry.',
  }, { body: z.strictObject({ path: z.string().trim().min(1).max(4096) }) }), async (request, reply) => {
    const r = await addModel(env, request.body.path);
    return reply.code(r.created ? 201 : 200).send(r);
  });

  app.get('/api/methods', guarded(EVERYONE, {
    summary: 'The unlearning methods and their options (JSON Schema, from the same zod schemas the CLI validates with)', tag: 'methods',
  }, {}), async () => METHODS.map((m) => ({ name: m.name, summary: m.summary, retain: m.retain, options: z.toJSONSchema(m.options, { io: 'input', unrepresentable: 'any' }) })));

  app.get('/api/tokens', guarded(['admin'], { summary: 'API tokens (never their secrets)', tag: 'tokens' }, {}), async () => listTokens(env));

  app.post('/api/tokens', guarded(['admin'], {
    summary: 'Make a token; its secret is in this response only', tag: 'tokens',
  }, { body: TokenInputSchema }), async (request, reply) => reply.code(201).send(await createToken(env, request.body, actorOf(caller(request)))));

  app.delete('/api/tokens/:id', guarded(['admin'], { summary: 'Revoke a token at once', tag: 'tokens' }, {
    params: z.object({ id: z.string().min(1).max(100) }),
  }), async (request) => revokeToken(env, request.params.id, actorOf(caller(request))));
}

// The router alone: internal errors hidden behind a request id, and the Lambda proxy adapter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { lambdaHandler } from '../../functions/api/lambda-handler.ts';
import { Router } from '../../functions/api/router.ts';

const token = 't'.repeat(40);
const auth = new TokenAuthenticator({ [token]: { principal: 'p', accounts: ['acc-1'] } });

describe('router', () => {
  it('answers 500 "internal error" with a request id, never the internal message or stack', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const r = new Router(auth, (e) => logged.push(e)).add('GET', '/boom', {
      handler: async () => {
        throw new Error('secret internal detail');
      },
    });
    const res = await r.handle({ method: 'GET', path: '/boom', query: {}, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 500);
    const body = JSON.parse(res.body) as { message: string; requestId: string };
    assert.deepEqual(Object.keys(body).sort(), ['message', 'requestId']);
    assert.equal(body.message, 'internal error');
    assert.equal(res.headers['x-request-id'], body.requestId);
    assert.doesNotMatch(res.body, /secret/);
    assert.equal(logged[0].requestId, body.requestId);
  });

  it('serves API Gateway proxy events through the same routes', async () => {
    const r = new Router(auth).add('GET', '/accounts/{account}/echo', { handler: async ({ params }) => ({ params }) });
    const handler = lambdaHandler(r);
    const event = { httpMethod: 'GET', path: '/accounts/acc-1/echo', headers: { authorization: `Bearer ${token}` }, queryStringParameters: null, body: null, isBase64Encoded: false, requestContext: {} };
    const ok = await handler(event as unknown as APIGatewayProxyEvent);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(JSON.parse(ok.body).params, { account: 'acc-1' });
    const denied = await handler({ ...event, path: '/accounts/acc-2/echo' } as unknown as APIGatewayProxyEvent);
    assert.equal(denied.statusCode, 403);
  });
});

describe('OpenAPI document', () => {
  it('describes every route the API serves', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const doc = parse(await readFile(new URL('../../docs/api/openapi.yaml', import.meta.url), 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`));
    assert.deepEqual(routes.sort(), [
      'GET /accounts',
      'GET /accounts/{account}/policies',
      'GET /accounts/{account}/policies/{policyId}',
      'GET /accounts/{account}/restore-points',
      'GET /accounts/{account}/restores/{id}',
      'GET /accounts/{account}/sessions',
      'GET /accounts/{account}/sessions/{id}',
      'POST /accounts/{account}/policies/validate',
      'POST /accounts/{account}/restores',
      'PUT /accounts/{account}/policies/{policyId}',
    ]);
  });
});

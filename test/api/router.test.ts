// The router alone: internal errors hidden behind a request id, and the Lambda proxy adapter.
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { lambdaHandler, powertoolsLog } from '../../functions/api/lambda-handler.ts';
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

describe('Lambda handler logging', () => {
  it('logs each request through Powertools with the request ids, never the Authorization header', async () => {
    // POWERTOOLS_DEV makes the logger print through the global console, where the test reads it.
    process.env.POWERTOOLS_DEV = 'true';
    const logger = new Logger({ serviceName: 'cloudkeep-api-test' });
    delete process.env.POWERTOOLS_DEV;
    const lines: string[] = [];
    const capture = (text: unknown) => {
      lines.push(String(text));
    };
    const info = mock.method(console, 'info', capture);
    const error = mock.method(console, 'error', capture);
    const r = new Router(auth, powertoolsLog(logger)).add('GET', '/accounts/{account}/boom', {
      handler: async () => {
        throw new Error('internal detail');
      },
    });
    const handler = lambdaHandler(r, { logger });
    const event = { httpMethod: 'GET', path: '/accounts/acc-1/boom', headers: { authorization: `Bearer ${token}` }, queryStringParameters: null, body: null, isBase64Encoded: false, requestContext: { requestId: 'gw-123' } };
    let res: Awaited<ReturnType<typeof handler>>;
    try {
      res = await handler(event as unknown as APIGatewayProxyEvent, { awsRequestId: 'lambda-456', functionName: 'api', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '256' } as unknown as Context);
    } finally {
      info.mock.restore();
      error.mock.restore();
    }
    assert.equal(res.statusCode, 500);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const request = records.find((x) => x.message === 'request');
    assert.ok(request, lines.join(''));
    assert.deepEqual([request.requestId, request.gatewayRequestId, request.function_request_id, request.statusCode, request.path], [res.headers?.['x-request-id'], 'gw-123', 'lambda-456', 500, '/accounts/acc-1/boom']);
    assert.ok(records.some((x) => x.message === 'request failed' && x.requestId === res.headers?.['x-request-id']));
    assert.doesNotMatch(lines.join(''), new RegExp(token));
    assert.doesNotMatch(lines.join(''), /authorization/i);
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
      'GET /accounts/{account}/overview',
      'GET /accounts/{account}/policies',
      'GET /accounts/{account}/policies/{policyId}',
      'GET /accounts/{account}/policies/{policyId}/plan',
      'GET /accounts/{account}/repository',
      'GET /accounts/{account}/resources',
      'GET /accounts/{account}/resources/{resourceId}/timeline',
      'GET /accounts/{account}/restore-points',
      'GET /accounts/{account}/restores',
      'GET /accounts/{account}/restores/{id}',
      'GET /accounts/{account}/sessions',
      'GET /accounts/{account}/sessions/{id}',
      'GET /accounts/{account}/sessions/{id}/log',
      'GET /capabilities',
      'POST /accounts/{account}/policies/plan',
      'POST /accounts/{account}/policies/validate',
      'POST /accounts/{account}/policies/{policyId}/disable',
      'POST /accounts/{account}/policies/{policyId}/enable',
      'POST /accounts/{account}/policies/{policyId}/run',
      'POST /accounts/{account}/restores',
      'POST /accounts/{account}/restores/{id}/cancel',
      'PUT /accounts/{account}/policies/{policyId}',
    ]);
    // The routes buildApi registers are the documented ones.
    const { buildApi } = await import('../../functions/api/routes.ts');
    const { MemoryControlStore } = await import('../../providers/memory/memory-control-store.ts');
    const served = (buildApi({ authenticator: auth, store: new MemoryControlStore() }) as unknown as { routes: Array<{ method: string; pattern: RegExp }> }).routes;
    assert.equal(served.length, routes.length);
    for (const r of served) {
      const documented = routes.filter((d) => d.startsWith(`${r.method} `)).map((d) => d.slice(r.method.length + 1).replace(/\{\w+\}/g, 'x'));
      assert.ok(documented.some((path) => r.pattern.test(path)), `${r.method} ${r.pattern} is served but not documented`);
    }
  });
});

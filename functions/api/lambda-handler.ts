// Adapts API Gateway (REST and HTTP API) Lambda proxy events to the router.
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import type { Router } from './router.ts';

export function lambdaHandler(router: Router): (event: APIGatewayProxyEvent | APIGatewayProxyEventV2) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const v2 = 'requestContext' in event && 'http' in event.requestContext;
    const method = v2 ? (event as APIGatewayProxyEventV2).requestContext.http.method : (event as APIGatewayProxyEvent).httpMethod;
    const path = v2 ? (event as APIGatewayProxyEventV2).rawPath : (event as APIGatewayProxyEvent).path;
    const query = (event.queryStringParameters ?? {}) as Record<string, string | undefined>;
    const raw = event.body ?? undefined;
    const body = raw !== undefined && event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    return router.handle({ method, path, query, headers: (event.headers ?? {}) as Record<string, string | undefined>, body });
  };
}

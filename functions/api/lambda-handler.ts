// Adapts API Gateway (REST and HTTP API) Lambda proxy events to the router, logging each request through Powertools.
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Logger as RouterLog, Router } from './router.ts';
import { awsApiDeps } from './aws-deps.ts';
import { buildApi } from './routes.ts';

export interface LambdaHandlerOptions {
  /** @default a Logger with serviceName cloudkeep-api (level from POWERTOOLS_LOG_LEVEL) */
  logger?: Logger;
}

let defaultLogger: Logger | undefined;
const apiLogger = (): Logger => (defaultLogger ??= new Logger({ serviceName: 'cloudkeep-api' }));

/** The router's log (ApiDeps.log) through a Powertools logger: ERROR entries as errors, others as info. */
export function powertoolsLog(logger: Logger = apiLogger()): RouterLog {
  return ({ level, message, ...rest }) => {
    const text = typeof message === 'string' ? message : 'api';
    if (level === 'ERROR') logger.error(text, rest);
    else logger.info(text, rest);
  };
}

/**
 * The Lambda handler. Each request is logged with its API request id (the x-request-id the caller
 * sees), API Gateway's request id and the Lambda context; headers are never logged, so neither is
 * the Authorization header.
 */
export function lambdaHandler(router: Router, options: LambdaHandlerOptions = {}): (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResult> {
  const logger = options.logger ?? apiLogger();
  return async (event, context) => {
    if (context) logger.addContext(context);
    const started = Date.now();
    const v2 = 'requestContext' in event && 'http' in event.requestContext;
    const method = v2 ? (event as APIGatewayProxyEventV2).requestContext.http.method : (event as APIGatewayProxyEvent).httpMethod;
    const path = v2 ? (event as APIGatewayProxyEventV2).rawPath : (event as APIGatewayProxyEvent).path;
    const query = (event.queryStringParameters ?? {}) as Record<string, string | undefined>;
    const raw = event.body ?? undefined;
    const body = raw !== undefined && event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const out = await router.handle({ method, path, query, headers: (event.headers ?? {}) as Record<string, string | undefined>, body });
    logger.info('request', {
      requestId: out.headers['x-request-id'],
      gatewayRequestId: (event.requestContext as { requestId?: string } | undefined)?.requestId,
      method,
      path,
      statusCode: out.statusCode,
      durationMs: Date.now() - started,
    });
    return out;
  };
}

let deployed: Promise<ReturnType<typeof lambdaHandler>> | undefined;

/** The deployed entry point (infra/console-http-api.ts), built once per container from its environment; a failed start is retried. */
export const handler = async (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyResult> => {
  if (!deployed) {
    deployed = awsApiDeps(process.env, powertoolsLog()).then((deps) => lambdaHandler(buildApi({ ...deps, log: powertoolsLog() })));
    deployed.catch(() => (deployed = undefined));
  }
  return (await deployed)(event, context);
};

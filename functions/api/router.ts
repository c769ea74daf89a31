// A tiny HTTP router shared by the Lambda proxy handler and the local node:http server:
// (method, path template) -> handler, zod-validated params/query/body, request ids, typed errors -> status codes.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, ControlNotFoundError, InvalidTransitionError } from '../../core/control/control-errors.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { ForbiddenError, NotFoundError, UnauthenticatedError, UnavailableError } from './api-errors.ts';
import { requireAccount, type Authenticator, type Principal } from './auth.ts';

export interface ApiRequest {
  method: string;
  /** The path without the query string, e.g. "/accounts/a1/policies". */
  path: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  /** The raw body text, if any. */
  body?: string;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  requestId: string;
}

export interface RouteSpec<P, Q, B> {
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Status of a successful response (default 200). */
  status?: number;
  handler: (ctx: RouteContext<P, Q, B>) => Promise<unknown>;
}

export type Logger = (entry: Record<string, unknown>) => void;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  spec: RouteSpec<unknown, unknown, unknown>;
}

const SEGMENT = '([^/]+)';

export class Router {
  private readonly routes: Route[] = [];
  private readonly authenticator: Authenticator;
  private readonly log: Logger;

  constructor(authenticator: Authenticator, log: Logger = () => {}) {
    this.authenticator = authenticator;
    this.log = log;
  }

  /** Registers a route; template segments like {account} become params. */
  add<P, Q, B>(method: string, template: string, spec: RouteSpec<P, Q, B>): this {
    const names: string[] = [];
    const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return SEGMENT;
    });
    this.routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), names, spec: spec as RouteSpec<unknown, unknown, unknown> });
    return this;
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    const requestId = randomUUID();
    try {
      const { route, raw } = this.match(req);
      const principal = await this.authenticator.authenticate(header(req.headers, 'authorization'));
      if (raw.account !== undefined) requireAccount(principal, raw.account);
      const { spec } = route;
      const params = spec.params ? parse(spec.params, raw, 'path') : raw;
      const query = spec.query ? parse(spec.query, req.query, 'query') : req.query;
      const body = spec.body ? parse(spec.body, parseJson(req.body), 'body') : undefined;
      const result = await spec.handler({ params, query, body, principal, requestId });
      return respond(spec.status ?? 200, { ...(result as object), requestId }, requestId);
    } catch (err) {
      return this.fail(err, requestId, req);
    }
  }

  private match(req: ApiRequest): { route: Route; raw: Record<string, string> } {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method.toUpperCase()) continue;
      const raw: Record<string, string> = {};
      route.names.forEach((name, i) => {
        raw[name] = safeDecode(m[i + 1]);
      });
      return { route, raw };
    }
    throw new NotFoundError(pathMatched ? `method ${req.method} is not supported on ${req.path}` : `no route ${req.method} ${req.path}`);
  }

  private fail(err: unknown, requestId: string, req: ApiRequest): ApiResponse {
    const status = statusOf(err);
    if (status === 500) this.log({ level: 'ERROR', message: 'request failed', requestId, method: req.method, path: req.path, error: String((err as Error)?.stack ?? err) });
    const message = status === 500 ? 'internal error' : (err as Error).message;
    const extra = err instanceof InvalidArgumentError && 'problems' in err ? { problems: (err as { problems: unknown }).problems } : {};
    return respond(status, { message, requestId, ...extra }, requestId);
  }
}

export function statusOf(err: unknown): number {
  if (err instanceof UnauthenticatedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError || err instanceof ControlNotFoundError) return 404;
  if (err instanceof ConflictError || err instanceof InvalidTransitionError) return 409;
  if (err instanceof InvalidArgumentError) return 400;
  if (err instanceof UnavailableError) return 501;
  return 500;
}

function respond(statusCode: number, payload: unknown, requestId: string): ApiResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (statusCode === 401) headers['www-authenticate'] = 'Bearer';
  return { statusCode, headers, body: JSON.stringify(payload) };
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidArgumentError(`invalid path segment ${JSON.stringify(text)}: expected URL-encoded text`);
  }
}

function parseJson(body: string | undefined): unknown {
  if (body === undefined || body === '') throw new InvalidArgumentError('missing request body: expected a JSON object');
  try {
    return JSON.parse(body);
  } catch {
    throw new InvalidArgumentError('invalid request body: expected JSON');
  }
}

function parse<T>(schema: z.ZodType<T> | undefined, input: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : where}: ${i.message}`).join('; ');
  throw new InvalidArgumentError(`invalid ${where}: ${detail}`);
}

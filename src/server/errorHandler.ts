/**
 * Every error becomes the API's JSON error shape in this one place:
 * `{ error: { code, message, details? } }`. Nothing internal (stack traces,
 * SQL) reaches a client; unexpected errors are logged with the request id
 * and answered with a generic 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import {
  AgentNotAllowedError,
  AuthError,
  ConflictError,
  ForbiddenError,
  IllegalTransitionError,
  NotFoundError,
  PayloadTooLargeError,
  StateConflictError,
  SwitchyardError,
  ValidationError,
} from '../core/errors.js';
import type { ErrorBody } from '../core/api.js';
import { PgCode, pgErrorCode } from '../store/db.js';

interface Mapped {
  status: number;
  body: ErrorBody;
}

function body(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function mapError(err: unknown): Mapped | undefined {
  if (err instanceof ValidationError) return { status: 400, body: body(err.code, err.message, err.details) };
  if (err instanceof AuthError) return { status: 401, body: body(err.code, err.message) };
  if (err instanceof ForbiddenError) return { status: 403, body: body(err.code, err.message) };
  if (err instanceof NotFoundError) return { status: 404, body: body(err.code, err.message) };
  if (err instanceof StateConflictError) return { status: 409, body: body(err.code, err.message, { currentStatus: err.currentStatus }) };
  if (err instanceof IllegalTransitionError) return { status: 409, body: body('state_conflict', err.message, { currentStatus: err.from }) };
  if (err instanceof ConflictError) return { status: 409, body: body(err.code, err.message) };
  if (err instanceof PayloadTooLargeError) return { status: 413, body: body(err.code, err.message) };
  if (err instanceof AgentNotAllowedError) return { status: 422, body: body(err.code, err.message, { agent: err.agent, allowed: err.allowed }) };
  if (err instanceof SwitchyardError) return undefined;
  return undefined;
}

function fromFastify(err: FastifyError): Mapped | undefined {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const details = err.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const params = v.params as { issue?: { code?: string; keys?: string[] } };
      const issue = params.issue;
      if (issue?.code === 'unrecognized_keys' && issue.keys) {
        return { path: [where === 'body' ? '' : where, ...issue.keys].filter(Boolean).join('.') || where, message: `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}` };
      }
      return { path: path || where, message: v.message ?? 'invalid' };
    });
    const first = details[0];
    return { status: 400, body: body('validation_failed', first ? `invalid ${where}: ${first.path}: ${first.message}` : `invalid ${where}`, details) };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('invalid_json', err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the request body is empty; send a JSON object' : 'the request body is not valid JSON') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: body('payload_too_large', 'the request body is too large') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: body('unsupported_media_type', 'send the body as application/json') };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: body('invalid_request', 'the Content-Length header does not match the body') };
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return { status: 400, body: body('invalid_request', 'the request URL is malformed') };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: body('invalid_request', 'a path parameter is too long') };
    default:
      break;
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Parser and framework errors that describe the client's mistake.
    return { status: err.statusCode, body: body('invalid_request', err.message) };
  }
  return undefined;
}

/**
 * Errors the router raises before any hook or handler runs (a path that is
 * not valid percent-encoding, a parameter over maxParamLength): Fastify's
 * own body for them is not the API's error shape. Passed as the
 * `frameworkErrors` option of Fastify().
 */
export function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const mapped = fromFastify(err);
  if (mapped) {
    void reply.status(mapped.status).send(mapped.body);
    return;
  }
  req.log.error({ err }, 'request failed');
  void reply.status(500).send(body('internal', `internal error (request ${req.id}); the server log has the details`));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const mapped = mapError(err) ?? fromFastify(err) ?? fromPostgres(err);
    if (mapped) {
      if (mapped.status >= 500) req.log.error({ err }, 'request failed');
      return reply.status(mapped.status).send(mapped.body);
    }
    if (isResponseSerializationError(err)) req.log.error({ err, issues: err.cause.issues }, 'response did not match its schema');
    else req.log.error({ err }, 'request failed');
    return reply.status(500).send(body('internal', `internal error (request ${req.id}); the server log has the details`));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(body('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}

/**
 * Data exceptions (SQLSTATE class 22) that a request's values cause when the
 * schemas let them through: a NUL character in text, a number beyond the
 * column's range, a time PostgreSQL cannot read. The client's mistake, not
 * the server's (test/server/badInput.test.ts).
 */
const PgDataException = {
  characterNotInRepertoire: '22021',
  untranslatableCharacter: '22P05',
  numericValueOutOfRange: '22003',
  invalidDatetimeFormat: '22007',
  datetimeFieldOverflow: '22008',
} as const;
const DATA_EXCEPTIONS = new Set<string>(Object.values(PgDataException));

function fromPostgres(err: unknown): Mapped | undefined {
  const code = pgErrorCode(err);
  if (code && DATA_EXCEPTIONS.has(code)) {
    return { status: 400, body: body('validation_failed', 'a value in the request cannot be stored: text must not contain NUL characters, numbers must fit 32 bits, times must be ISO-8601') };
  }
  switch (code) {
    case PgCode.invalidTextRepresentation:
      return { status: 400, body: body('validation_failed', 'a value in the request has the wrong format') };
    case PgCode.uniqueViolation:
      return { status: 409, body: body('conflict', 'that object already exists') };
    case PgCode.queryCanceled:
      return { status: 503, body: body('timeout', 'the database took too long; try again') };
    default:
      return undefined;
  }
}

/**
 * Bearer-token authentication and the rules of who may see what. The
 * workspace a request acts on comes from its token; only an instance admin
 * may name one (`?workspace=`), and a workspace token naming another is
 * refused.
 */
import type { FastifyRequest } from 'fastify';
import { AuthError, ForbiddenError, NotFoundError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { findToken, hashToken, touchToken, type Role, type TokenRecord } from '../store/tokens.js';

export type Principal = TokenRecord;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const CACHE_MS = 5_000;

export interface Authenticator {
  authenticate(secret: string): Promise<Principal | undefined>;
  /** Forget a token at once in this process (revocation); other processes forget within CACHE_MS. */
  invalidate(tokenId: string): void;
}

export function createAuthenticator(db: Db): Authenticator {
  const cache = new Map<string, { p: Principal; until: number }>();
  return {
    async authenticate(secret) {
      if (!secret || secret.length > 500) return undefined;
      const key = hashToken(secret);
      const hit = cache.get(key);
      const now = Date.now();
      if (hit && hit.until > now) return hit.p;
      const p = await findToken(db, secret);
      if (!p) {
        cache.delete(key);
        return undefined;
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { p, until: now + CACHE_MS });
      void touchToken(db, p.id).catch(() => undefined);
      return p;
    },
    invalidate(tokenId) {
      for (const [k, v] of cache) if (v.p.id === tokenId) cache.delete(k);
    },
  };
}

export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new AuthError();
  return req.principal;
}

const RANK: Record<string, number> = { viewer: 1, member: 2, admin: 3 };

export function isInstanceAdmin(p: Principal): boolean {
  return p.role === 'admin' && p.workspaceId === null;
}

/** People's roles, in order; daemon and task tokens have none of them. */
export function requireRole(p: Principal, min: 'viewer' | 'member' | 'admin'): void {
  const rank = RANK[p.role];
  if (rank === undefined) throw new ForbiddenError(`a ${p.role} token cannot use this endpoint`);
  if (rank < (RANK[min] as number)) throw new ForbiddenError(`this needs the ${min} role; the token has ${p.role}`);
}

export function requireInstanceAdmin(p: Principal): void {
  if (!isInstanceAdmin(p)) throw new ForbiddenError('this needs an instance admin token (the one `switchyard up` prints)');
}

/**
 * The workspace a request acts on. Instance admins may name any (default:
 * the server's default workspace); everyone else acts on their token's.
 */
export function actingWorkspace(p: Principal, requested: string | undefined, defaultWorkspace: string): string {
  if (isInstanceAdmin(p)) return requested ?? defaultWorkspace;
  if (!p.workspaceId) throw new ForbiddenError(`a ${p.role} token cannot act on a workspace here`);
  if (requested !== undefined && requested !== p.workspaceId) {
    throw new ForbiddenError(`this token belongs to workspace ${p.workspaceId} and cannot act on workspace ${requested}`);
  }
  return p.workspaceId;
}

/** For reads of one workspace's own record: others' answer 404, as if they did not exist. */
export function assertCanSeeWorkspace(p: Principal, workspaceId: string): void {
  if (isInstanceAdmin(p)) return;
  if (p.workspaceId !== workspaceId) throw new NotFoundError('workspace', workspaceId);
}

export type { Role };

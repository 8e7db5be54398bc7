/**
 * Hash routes (`#/tasks/<id>`): the server serves web/dist as plain static
 * files with no fallback to index.html, so paths other than `/` would 404 on
 * a reload; the part after `#` never reaches the server.
 */
import { useSyncExternalStore } from 'react';

export type Route =
  | { name: 'board' }
  | { name: 'new' }
  | { name: 'task'; id: string }
  | { name: 'compare'; id?: string }
  | { name: 'runtimes' }
  | { name: 'skills'; q: string }
  | { name: 'failures' }
  | { name: 'settings' }
  | { name: 'notFound'; path: string };

export function parseRoute(hash: string): Route {
  const [rawPath = '', rawQuery = ''] = hash.replace(/^#/, '').split('?');
  const path = rawPath.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(rawQuery);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
    case 'board':
      return { name: 'board' };
    case 'new':
      return { name: 'new' };
    case 'tasks':
      return parts[1] ? { name: 'task', id: parts[1] } : { name: 'board' };
    case 'compare':
      return parts[1] ? { name: 'compare', id: parts[1] } : { name: 'compare' };
    case 'runtimes':
      return { name: 'runtimes' };
    case 'skills':
      return { name: 'skills', q: query.get('q') ?? '' };
    case 'failures':
      return { name: 'failures' };
    case 'settings':
      return { name: 'settings' };
    default:
      return { name: 'notFound', path };
  }
}

const subscribe = (cb: () => void) => {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
};

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}

export function navigate(path: string): void {
  window.location.hash = path.startsWith('#') ? path : `#${path}`;
}

export const taskHref = (id: string) => `#/tasks/${id}`;

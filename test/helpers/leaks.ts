/**
 * Everything a test starts (servers, daemons, child processes, databases)
 * registers here and unregisters when closed; each test file fails if
 * something is still open when it ends (test/setup/leaks.ts).
 */
const open = new Map<object, string>();

export function track(resource: object, what: string): void {
  open.set(resource, what);
}

export function untrack(resource: object): void {
  open.delete(resource);
}

export function leaked(): string[] {
  return [...open.values()];
}

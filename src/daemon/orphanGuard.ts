/**
 * Agents run in process groups of their own, so a cancel stops a whole
 * tree. The price: they outlive a daemon killed with SIGKILL (or by the OOM
 * killer), and such an agent would keep working in the task's directory
 * beside the retry the server hands to another runtime once the lease runs
 * out. A restarted daemon stops what its predecessor left (GroupLedger), but
 * it may come back late or never.
 *
 * So each daemon keeps a guard: a `/bin/sh` process (about 1 MB) that reads
 * the live groups from a pipe. However the daemon ends, the pipe closes;
 * the guard then stops the groups still listed (SIGTERM, then SIGKILL after
 * the grace) and exits. A daemon that stops cleanly has ended its runs
 * first, so its guard finds nothing to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

// "+<pgid>" adds a group, "-<pgid>" removes it; EOF means the daemon is gone.
const SCRIPT = `
trap '' INT HUP
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) p=" \${line#-} "
        case $groups in *"$p"*) groups="\${groups%%"$p"*} \${groups#*"$p"}" ;; esac ;;
  esac
done
[ -z "\${groups# }" ] && exit 0
for p in $groups; do kill -s TERM -- "-$p" 2>/dev/null; done
sleep "$1"
for p in $groups; do kill -s KILL -- "-$p" 2>/dev/null; done
`;

export class OrphanGuard {
  private child: ChildProcess | undefined;

  /** `graceMs`: how long the agents get between SIGTERM and SIGKILL. */
  constructor(private readonly graceMs: number) {}

  start(): void {
    if (process.platform === 'win32' || this.child) return;
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'switchyard-orphan-guard', (this.graceMs / 1000).toFixed(1)], {
      // Its own session: a Ctrl-C or a signal to the daemon's group must not take the guard with it.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => undefined); // no /bin/sh: the restart-time reaping (GroupLedger) still applies
    child.stdin!.on('error', () => undefined);
    // Neither the guard nor its pipe may keep the daemon's event loop alive.
    child.unref();
    (child.stdin as unknown as Socket).unref();
    this.child = child;
  }

  add(pgid: number): void {
    this.child?.stdin?.write(`+${pgid}\n`);
  }

  remove(pgid: number): void {
    this.child?.stdin?.write(`-${pgid}\n`);
  }

  /** A clean stop: the guard exits, stopping whatever is still listed. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

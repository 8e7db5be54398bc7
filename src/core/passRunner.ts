/**
 * Runs a background pass (claim what is due, handle it) never more than once
 * at a time per process, for workers woken by signals and a slow timer: a
 * wake-up during a pass causes exactly one more pass after it, so no signal
 * is lost and wake-ups do not pile up. A failing pass is reported and the
 * next wake-up runs again.
 */
export interface PassRunner {
  kick(): void;
  /** Resolves when no pass is running or pending (tests, shutdown). */
  idle(): Promise<void>;
  /** No pass starts after this; a running one finishes (`idle()` waits for it). */
  stop(): void;
  /** For a pass that loops, to end early once stopped. */
  readonly stopped: boolean;
}

export function createPassRunner(pass: () => Promise<void>, onError: (err: unknown) => void): PassRunner {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (err) {
          onError(err);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
  }

  return {
    kick,
    async idle() {
      while (running) await running;
    },
    stop() {
      stopped = true;
    },
    get stopped() {
      return stopped;
    },
  };
}

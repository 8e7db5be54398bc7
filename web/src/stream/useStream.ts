/** React bindings of the stream client: its status, and a task's live transcript. */
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { applyTaskChange } from '../api/live.js';
import type { TaskEvent } from '../api/types.js';
import { useSession } from '../session.js';
import type { StreamClient, StreamStatus } from './client.js';

export function useStreamStatus(stream: StreamClient): StreamStatus {
  const subscribe = useCallback((cb: () => void) => stream.onStatus(cb), [stream]);
  return useSyncExternalStore(subscribe, stream.status);
}

/** The task's events, live: subscribed after the last seq already held, kept while the page is open. */
export function useTranscript(taskId: string): { events: readonly TaskEvent[]; error: string | undefined } {
  const { stream, transcript, workspace } = useSession();
  const qc = useQueryClient();
  const [store] = useState(() => transcript(taskId));
  const [error, setError] = useState<string>();
  useEffect(
    () =>
      stream.watchTask(taskId, {
        afterSeq: () => store.lastSeq,
        onEvents: (items) => store.add(items),
        onTask: (t) => applyTaskChange(qc, workspace, t),
        onError: (_code, message) => setError(message),
      }),
    [stream, taskId, store, qc, workspace],
  );
  const subscribe = useCallback((cb: () => void) => store.subscribe(cb), [store]);
  const snapshot = useCallback(() => store.events(), [store]);
  const events = useSyncExternalStore(subscribe, snapshot);
  return { events, error };
}

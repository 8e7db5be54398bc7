/**
 * A task's transcript: normalized events (assistant text, collapsible tool
 * calls and results, errors highlighted, the raw line on demand), following
 * the end while the reader is at the end.
 */
import { memo, useLayoutEffect, useRef, useState } from 'react';
import type { TaskEvent } from '../api/types.js';
import { clock } from '../format.js';

const SHOWN = 2000;

export function Transcript({ events, live }: { events: readonly TaskEvent[]; live: boolean }) {
  const [raw, setRaw] = useState(false);
  const [follow, setFollow] = useState(true);
  const [all, setAll] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const shown = all || events.length <= SHOWN ? events : events.slice(events.length - SHOWN);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [shown, follow, raw]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (atEnd !== follow) setFollow(atEnd);
  };

  let lastAttempt = 0;
  return (
    <section className="transcript-panel" aria-labelledby="transcript-title">
      <div className="panel-head">
        <h2 id="transcript-title">
          Transcript <span className="count" data-testid="event-count">{events.length}</span>
        </h2>
        <div className="panel-tools">
          <label className="check">
            <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> Raw lines
          </label>
          <label className="check">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
        </div>
      </div>
      <div className="transcript" ref={box} onScroll={onScroll} tabIndex={0} aria-label="Transcript" data-testid="transcript">
        {events.length > shown.length && (
          <button type="button" className="link small" onClick={() => setAll(true)}>
            Show the {events.length - shown.length} earlier lines
          </button>
        )}
        {events.length === 0 && <p className="muted">{live ? 'Waiting for the agent’s first line…' : 'No output.'}</p>}
        <ol className="events">
          {shown.map((e) => {
            const divider = e.attempt !== lastAttempt && lastAttempt !== 0;
            const first = lastAttempt === 0 && e.attempt > 1;
            lastAttempt = e.attempt;
            return (
              <li key={e.seq} className={`ev kind-${e.kind} stream-${e.stream}`} data-seq={e.seq}>
                {(divider || first) && <div className="attempt-divider">attempt {e.attempt}</div>}
                <EventRow e={e} raw={raw} />
              </li>
            );
          })}
        </ol>
      </div>
    </section>
  );
}

const EventRow = memo(function EventRow({ e, raw }: { e: TaskEvent; raw: boolean }) {
  const [showRaw, setShowRaw] = useState(false);
  const rawShown = raw || showRaw;
  return (
    <>
      <button
        type="button"
        className="seq"
        // One tab stop per line would make the page unusable from the keyboard; "Raw lines" above shows them all.
        tabIndex={-1}
        title={`#${e.seq} · ${clock(e.at)} · ${e.stream} · ${e.kind} — click for the raw line`}
        onClick={() => setShowRaw((v) => !v)}
      >
        {e.seq}
      </button>
      <div className="ev-body">
        <EventContent e={e} />
        {rawShown && <pre className="raw">{e.raw || '(no raw line)'}</pre>}
      </div>
    </>
  );
});

function EventContent({ e }: { e: TaskEvent }) {
  const text = e.text ?? '';
  const data = e.data ?? {};
  switch (e.kind) {
    case 'tool_call':
      return (
        <details className="tool">
          <summary>
            <span className="tag">tool</span> {text || String(data.name ?? 'tool call')}
          </summary>
          <pre>{data.input === undefined ? text : JSON.stringify(data.input, null, 2)}</pre>
        </details>
      );
    case 'tool_result': {
      const isError = data.isError === true;
      const firstLine = text.split('\n', 1)[0] ?? '';
      return (
        <details className={`tool result${isError ? ' is-error' : ''}`}>
          <summary>
            <span className="tag">{isError ? 'tool error' : 'result'}</span> {firstLine.slice(0, 160) || '(empty)'}
            {text.length > firstLine.length && <span className="muted"> · {text.split('\n').length} lines</span>}
          </summary>
          <pre>{text}</pre>
        </details>
      );
    }
    case 'error':
      return (
        <div className="ev-error" role="note">
          <span className="tag">error</span> {text || e.raw}
        </div>
      );
    case 'result':
      return (
        <div className={`ev-result${data.isError === true ? ' is-error' : ''}`}>
          <span className="tag">final answer</span>
          <div className="prose">{text || '(empty)'}</div>
        </div>
      );
    case 'thinking':
      return text.length > 300 ? (
        <details className="thinking">
          <summary>thinking: {text.slice(0, 120)}…</summary>
          <div className="prose">{text}</div>
        </details>
      ) : (
        <div className="thinking prose">{text}</div>
      );
    case 'usage':
      return <div className="muted small">usage: {text || JSON.stringify(data)}</div>;
    case 'status':
      return <div className="muted small">{text || e.raw}</div>;
    case 'text':
      return <div className="prose">{text}</div>;
    default:
      return <div className="prose mono">{text || e.raw}</div>;
  }
}

import { describe, expect, it } from 'vitest';
import { runLeaseMs } from '../../src/core/runLease.js';

describe('runLeaseMs', () => {
  it('is the lease when it spans three heartbeats', () => {
    expect(runLeaseMs({ runtime: { lease: 60_000 }, streaming: { heartbeat_interval: 10_000 } })).toBe(60_000);
  });
  it('never lets fewer than three heartbeats go missing', () => {
    expect(runLeaseMs({ runtime: { lease: 2_000 }, streaming: { heartbeat_interval: 5_000 } })).toBe(15_000);
  });
});

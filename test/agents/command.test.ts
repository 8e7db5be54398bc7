import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCommandAdapter, expandTemplate } from '../../src/agents/command.js';
import { EXIT_0, hostilePrompt, kinds, markerDir, parse, received, spec } from './helpers.js';

const aider = createCommandAdapter({ name: 'aider', binary: '/opt/aider/bin/aider', argsTemplate: ['--yes', '--model={model}', '--message', '{prompt}'] });

describe('command agent invocation', () => {
  it('runs the binary with the prompt as its only argument by default', () => {
    const agent = createCommandAdapter({ name: 'my-agent' });
    expect(agent.defaultBinary).toBe('my-agent');
    expect(agent.buildInvocation(spec())).toEqual({ args: ['Say hi'], env: {} });
  });

  it('fills placeholders inside elements and drops an element whose value is absent', () => {
    expect(aider.defaultBinary).toBe('/opt/aider/bin/aider');
    expect(aider.buildInvocation(spec({ model: 'sonnet' })).args).toEqual(['--yes', '--model=sonnet', '--message', 'Say hi']);
    expect(aider.buildInvocation(spec()).args).toEqual(['--yes', '--message', 'Say hi']);
    expect(expandTemplate(['{workdir}/out', 'id-{session}', '{unknown}'], { workdir: '/w', session: 's1' })).toEqual(['/w/out', 'id-s1', '{unknown}']);
  });

  it('keeps a hostile prompt one argument, byte for byte, never re-substituted or shell-interpreted', () => {
    const dir = markerDir();
    const prompt = hostilePrompt(dir);
    const inv = aider.buildInvocation(spec({ prompt, model: 'sonnet' }));
    const got = received(inv);
    expect(got.argv).toEqual(['--yes', '--model=sonnet', '--message', prompt]);
    expect(prompt).toContain('{model}');
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('substitutes the prompt inside a larger element', () => {
    const agent = createCommandAdapter({ name: 'x', argsTemplate: ['--prompt={prompt}'] });
    expect(agent.buildInvocation(spec({ prompt: 'a "b" $(c)' })).args).toEqual(['--prompt=a "b" $(c)']);
  });

  it('writes the prompt to stdin when the template has no {prompt}', () => {
    const agent = createCommandAdapter({ name: 'reader', argsTemplate: ['--from-stdin', '--cwd', '{workdir}'] });
    expect(agent.buildInvocation(spec())).toEqual({ args: ['--from-stdin', '--cwd', '/work/tree'], stdin: 'Say hi', env: {} });
  });

  it('lets a run override the template', () => {
    expect(aider.buildInvocation(spec({ argsTemplate: ['run', '{prompt}'] })).args).toEqual(['run', 'Say hi']);
  });

  it('is never probed for a version and cannot resume', () => {
    expect(aider.versionArgs).toEqual([]);
    expect(aider.supportsResume).toBe(false);
  });
});

describe('command agent parser', () => {
  it('reads every line as text and completes on exit code 0 with stdout as the answer', () => {
    const { events, facts, outcome } = parse(aider, ['{"type":"result"}', '', 'done'], EXIT_0, ['progress 50%']);
    expect(kinds(events)).toEqual(['text', 'text', 'text', 'text']);
    expect(events.map((e) => e.stream)).toEqual(['stderr', 'stdout', 'stdout', 'stdout']);
    expect(facts).toEqual({ sawFinal: false, resultText: '{"type":"result"}\n\ndone' });
    expect(outcome).toEqual({ status: 'completed', resultText: '{"type":"result"}\n\ndone' });
  });

  it('fails a non-zero exit with the code and the last stderr line', () => {
    const { outcome } = parse(aider, ['partial'], { code: 2, signal: null }, ['Traceback…', 'ValueError: bad model', '']);
    expect(outcome).toEqual({ status: 'failed', reason: 'exit code 2: ValueError: bad model' });
  });

  it('fails a run killed by a signal even with no output', () => {
    expect(parse(aider, [], { code: null, signal: 'SIGTERM' }).outcome).toEqual({ status: 'failed', reason: 'killed by SIGTERM' });
  });
});

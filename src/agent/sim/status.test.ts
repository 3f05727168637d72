import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../client/workqueue.js';
import { defaultPodCidr, hostBitsFor, PodIpAllocator, parseCidr } from './ipam.js';
import { microTime, nodeAddress } from './node.js';
import {
  containersReadyCondition,
  goDuration,
  initializedCondition,
  jsonEqual,
  mergeKubeletConditions,
  podPhaseFor,
  readyCondition,
} from './status.js';
import { TimerQueue } from './timers.js';

const running = (name: string, ready = true) => ({
  name,
  ready,
  started: true,
  state: { running: { startedAt: 't' } },
  lastState: {},
});
const waiting = (name: string, reason = 'ContainerCreating', last?: number) => ({
  name,
  ready: false,
  started: false,
  state: { waiting: { reason } },
  lastState: last === undefined ? {} : { terminated: { exitCode: last } },
});
const terminated = (name: string, exitCode: number) => ({
  name,
  ready: false,
  started: false,
  state: { terminated: { exitCode } },
  lastState: {},
});

describe('podPhaseFor (upstream getPhase)', () => {
  const spec = (restartPolicy: string, extra: Record<string, unknown> = {}) => ({
    restartPolicy,
    containers: [{ name: 'a' }, { name: 'b' }],
    ...extra,
  });

  it('is Pending while any container waits to start, Running once all started', () => {
    expect(podPhaseFor(spec('Always'), [running('a'), waiting('b')], false)).toBe('Pending');
    expect(podPhaseFor(spec('Always'), [running('a'), running('b')], false)).toBe('Running');
    expect(podPhaseFor(spec('Always'), [running('a')], false)).toBe('Pending');
  });

  it('follows the restart policy once every container stopped', () => {
    const done = [terminated('a', 0), terminated('b', 1)];
    expect(podPhaseFor(spec('Always'), done, false)).toBe('Running');
    expect(podPhaseFor(spec('OnFailure'), done, false)).toBe('Running');
    expect(podPhaseFor(spec('Never'), done, false)).toBe('Failed');
    const ok = [terminated('a', 0), terminated('b', 0)];
    expect(podPhaseFor(spec('OnFailure'), ok, false)).toBe('Succeeded');
    expect(podPhaseFor(spec('Always'), ok, false)).toBe('Running');
  });

  it('a crash-looping container counts as stopped, so the pod stays Running', () => {
    expect(podPhaseFor(spec('Always'), [running('a'), waiting('b', 'CrashLoopBackOff', 1)], false)).toBe(
      'Running',
    );
  });

  it('a terminal pod is Succeeded only when every container exited 0, whatever the policy', () => {
    expect(podPhaseFor(spec('Always'), [terminated('a', 0), terminated('b', 0)], true)).toBe('Succeeded');
    expect(podPhaseFor(spec('Always'), [terminated('a', 0), terminated('b', 1)], true)).toBe('Failed');
  });

  it('init containers keep the pod Pending; a failed one fails it under Never', () => {
    const s = spec('Never', { initContainers: [{ name: 'init' }] });
    expect(podPhaseFor(s, [waiting('init', 'PodInitializing'), waiting('a'), waiting('b')], false)).toBe(
      'Pending',
    );
    expect(podPhaseFor(s, [terminated('init', 2), waiting('a'), waiting('b')], false)).toBe('Failed');
    const sidecar = spec('Always', { initContainers: [{ name: 'side', restartPolicy: 'Always' }] });
    expect(podPhaseFor(sidecar, [running('side'), running('a'), running('b')], false)).toBe('Running');
    expect(
      podPhaseFor(sidecar, [{ ...running('side'), started: false }, waiting('a'), waiting('b')], false),
    ).toBe('Pending');
  });
});

describe('kubelet pod conditions', () => {
  const spec = { containers: [{ name: 'web' }, { name: 'side' }] };

  it('ContainersReady and Ready name the unready containers as Go prints a []string', () => {
    const statuses = [running('web', false), running('side', false)];
    expect(containersReadyCondition(spec, statuses, 'Running')).toEqual({
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [web side]',
    });
    expect(readyCondition(spec, [], statuses, 'Running')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [web side]',
    });
    expect(containersReadyCondition(spec, [running('web')], 'Running').message).toBe(
      'containers with unknown status: [side]',
    );
  });

  it('terminal phases report PodCompleted / PodFailed', () => {
    const statuses = [terminated('web', 0), terminated('side', 0)];
    expect(containersReadyCondition(spec, statuses, 'Succeeded')).toEqual({
      type: 'ContainersReady',
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(readyCondition(spec, [], statuses, 'Failed')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'PodFailed',
    });
  });

  it('readiness gates hold Ready back', () => {
    const gated = { ...spec, readinessGates: [{ conditionType: 'example.com/lb' }] };
    const all = [running('web'), running('side')];
    expect(readyCondition(gated, [], all, 'Running')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    });
    expect(readyCondition(gated, [{ type: 'example.com/lb', status: 'False' }], all, 'Running').message).toBe(
      'the status of pod readiness gate "example.com/lb" is not "True", but False',
    );
    expect(readyCondition(gated, [{ type: 'example.com/lb', status: 'True' }], all, 'Running').status).toBe(
      'True',
    );
  });

  it('Initialized waits for init containers', () => {
    const s = { initContainers: [{ name: 'setup' }], containers: [{ name: 'web' }] };
    expect(initializedCondition(s, [waiting('setup', 'PodInitializing'), waiting('web')], 'Pending')).toEqual(
      {
        type: 'Initialized',
        status: 'False',
        reason: 'ContainersNotInitialized',
        message: 'containers with incomplete status: [setup]',
      },
    );
    expect(initializedCondition(s, [terminated('setup', 0), waiting('web')], 'Pending').status).toBe('True');
    expect(initializedCondition({ containers: [{ name: 'web' }] }, [], 'Pending')).toEqual({
      type: 'Initialized',
      status: 'True',
    });
  });

  it('merge keeps foreign conditions first and moves lastTransitionTime only on change', () => {
    const old = [
      { type: 'DisruptionTarget', status: 'True' as const, reason: 'x' },
      { type: 'Ready', status: 'True' as const, lastTransitionTime: 'T0' },
      { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: 'T-1' },
    ];
    const merged = mergeKubeletConditions(
      old,
      [
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
        { type: 'PodScheduled', status: 'True' },
      ],
      'T1',
    );
    expect(merged).toEqual([
      { type: 'DisruptionTarget', status: 'True', reason: 'x' },
      {
        type: 'Ready',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: 'T1',
        reason: 'ContainersNotReady',
      },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: 'T-1' },
    ]);
  });
});

describe('helpers', () => {
  it('formats durations as Go does', () => {
    expect(goDuration(10_000)).toBe('10s');
    expect(goDuration(80_000)).toBe('1m20s');
    expect(goDuration(300_000)).toBe('5m0s');
    expect(goDuration(100)).toBe('100ms');
    expect(goDuration(1_500)).toBe('1.5s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
  });

  it('compares JSON ignoring key order and undefined members', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, x: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, { a: undefined })).toBe(false);
  });
});

describe('pod IPs', () => {
  it('sizes default node CIDRs for the pods capacity, consecutively from 10.244.0.0', () => {
    expect(hostBitsFor(110)).toBe(8);
    expect(defaultPodCidr(0, 110)).toBe('10.244.0.0/24');
    expect(defaultPodCidr(3, 110)).toBe('10.244.3.0/24');
    expect(defaultPodCidr(0, 1000)).toBe('10.244.0.0/22');
    expect(defaultPodCidr(1, 1000)).toBe('10.244.4.0/22');
    expect(parseCidr('10.244.5.7/22')).toEqual({
      base: parseCidr('10.244.4.0/22').base,
      prefix: 22,
      size: 1024,
    });
  });

  it('hands out addresses round-robin, skipping network, gateway and broadcast, reusing after wrap', () => {
    const a = new PodIpAllocator('10.1.0.0/29'); // .2 .. .6
    expect(a.capacity).toBe(5);
    const got = [a.allocate(), a.allocate(), a.allocate()];
    expect(got).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4']);
    a.release('10.1.0.2');
    // A freed address is not handed out again before the range wraps.
    expect(a.allocate()).toBe('10.1.0.5');
    expect(a.allocate()).toBe('10.1.0.6');
    expect(a.allocate()).toBe('10.1.0.2');
    expect(a.allocate()).toBeUndefined();
    expect(a.reserve('10.1.0.3')).toBe(false);
  });

  it('adopted addresses are reserved and allocation continues after them', () => {
    const a = new PodIpAllocator('10.1.0.0/24');
    expect(a.reserve('10.1.0.40')).toBe(true);
    expect(a.reserve('10.9.0.1')).toBe(false);
    expect(a.allocate()).toBe('10.1.0.41');
  });
});

describe('TimerQueue', () => {
  it('fires due keys in time order with one clock timer, honouring reschedule and cancel', async () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    const q = new TimerQueue(clock, (k) => fired.push(k));
    q.schedule('a', 1300);
    q.schedule('b', 1100);
    q.schedule('c', 1200);
    q.schedule('a', 1050); // moved earlier
    q.schedule('d', 1400);
    q.cancel('d');
    expect(clock.pending()).toBe(1);
    await clock.advance(150);
    expect(fired).toEqual(['a', 'b']);
    await clock.advance(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});

describe('node addresses', () => {
  it('are loopback aliases that skip .0 and .255', () => {
    expect(nodeAddress(0)).toBe('127.0.0.1');
    expect(nodeAddress(1)).toBe('127.0.0.2');
    expect(nodeAddress(253)).toBe('127.0.0.254');
    expect(nodeAddress(254)).toBe('127.0.1.1');
    expect(microTime(Date.parse('2025-03-01T10:00:00.123Z'))).toBe('2025-03-01T10:00:00.123000Z');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventsDefinition, type SubscribeResponse } from '../gen/hst/host/v1/events.js';
import { KeyValueDefinition } from '../gen/hst/host/v1/kv.js';
import { Code } from '../rpc/status.js';
import { bytes, failure, streamOutcome, text, until } from '../../test/support/assertions.js';
import { withHarness, type Harness } from '../../test/support/host-harness.js';
import { CLAIMED_CLIENT_ID_HEADER, type Decision } from './dispatch.js';
import { EventBus, patternProblem, topicMatches, topicProblem } from './event-bus.js';
import { eventsService } from './events.js';
import { keyValueService } from './kv.js';

/** A live subscription: resolves once the host has confirmed it. */
async function subscribe(events: { subscribe: (r: { pattern: string }, o?: { signal?: AbortSignal }) => AsyncIterable<SubscribeResponse> }, pattern: string, signal?: AbortSignal) {
  const stream = events.subscribe({ pattern }, signal ? { signal } : {})[Symbol.asyncIterator]();
  const first = await stream.next();
  assert.equal(first.value?.started, true);
  return stream;
}

const busOf = (h: Harness) => h.hostServices.context.shared<EventBus>('events', () => assert.fail('the event bus is not open'));

describe('event topics and patterns', () => {
  it('accepts dotted segments of [A-Za-z0-9_/-] only', () => {
    for (const ok of ['a', 'build.done', 'x/y.z-1_2', 'A.B.C']) assert.equal(topicProblem(ok), undefined, ok);
    for (const bad of ['', '.a', 'a.', 'a..b', 'a b', 'a.*', 'a.>', 'é', 'x'.repeat(257)]) assert.notEqual(topicProblem(bad), undefined, bad);
  });

  it('accepts * anywhere and > only last', () => {
    for (const ok of ['>', '*', 'a.*', '*.b', 'a.>', '*.*.>', 'a.b']) assert.equal(patternProblem(ok), undefined, ok);
    for (const bad of ['', '>.a', 'a.>.b', 'a.**', 'a*', 'a.b*', '.a']) assert.notEqual(patternProblem(bad), undefined, bad);
  });

  it('matches * to exactly one segment and > to one or more', () => {
    const m = (p: string, t: string) => topicMatches(p.split('.'), t.split('.'));
    assert.equal(m('a.*', 'a.b'), true);
    assert.equal(m('a.*', 'a'), false);
    assert.equal(m('a.*', 'a.b.c'), false);
    assert.equal(m('*.b', 'a.b'), true);
    assert.equal(m('a.>', 'a.b'), true);
    assert.equal(m('a.>', 'a.b.c'), true);
    assert.equal(m('a.>', 'a'), false);
    assert.equal(m('>', 'a'), true);
    assert.equal(m('a.b', 'a.b'), true);
    assert.equal(m('a.b', 'a.bc'), false);
    assert.equal(m('a.b', 'a.b.c'), false);
  });
});

describe('Events', () => {
  it('delivers between plugins, stamping the publisher from the connection', () =>
    withHarness({ modules: [eventsService] }, async (h) => {
      const a = await h.plugin('listener');
      const b = await h.plugin('publisher');
      const stream = await subscribe(a.client(EventsDefinition), 'build.*');
      const before = Date.now();
      // b claims to be a in metadata; the event still names b.
      const res = await b
        .client(EventsDefinition)
        .publish({ topic: 'build.done', payload: bytes('{"ok":true}'), contentType: 'application/json' }, { metadata: { [CLAIMED_CLIENT_ID_HEADER]: a.caller.clientId } });
      assert.equal(res.delivered, 1);
      const event = (await stream.next()).value as SubscribeResponse;
      assert.equal(event.started, false);
      assert.equal(event.topic, 'build.done');
      assert.equal(text(event.payload), '{"ok":true}');
      assert.equal(event.contentType, 'application/json');
      assert.deepEqual(event.publisher, { owner: 'publisher', clientId: b.caller.clientId });
      assert.ok(event.sequence > 0);
      assert.ok(event.timestampMs >= before && event.timestampMs <= Date.now());
      assert.equal(event.dropped, 0);

      await b.client(EventsDefinition).publish({ topic: 'build.started' });
      const next = (await stream.next()).value as SubscribeResponse;
      assert.equal(next.topic, 'build.started');
      assert.equal(next.sequence, event.sequence + 1);
      await stream.return?.();
    }));

  it('delivers to each subscription whose pattern matches, and only those', () =>
    withHarness({ modules: [eventsService] }, async (h) => {
      const events = (await h.plugin('a')).client(EventsDefinition);
      const patterns = ['a.*', 'a.>', 'a.b', '>', '*.c'];
      const streams = await Promise.all(patterns.map((p) => subscribe(events, p)));
      const delivered = async (topic: string) => (await events.publish({ topic })).delivered;
      assert.equal(await delivered('a'), 1); // >
      assert.equal(await delivered('a.b'), 4); // a.*, a.>, a.b, >
      assert.equal(await delivered('a.b.c'), 2); // a.>, >
      assert.equal(await delivered('x.c'), 2); // >, *.c
      const received = async (i: number, n: number) => {
        const topics: string[] = [];
        for (let k = 0; k < n; k++) topics.push(((await streams[i]?.next())?.value as SubscribeResponse).topic);
        return topics;
      };
      assert.deepEqual(await received(0, 1), ['a.b']);
      assert.deepEqual(await received(1, 2), ['a.b', 'a.b.c']);
      assert.deepEqual(await received(2, 1), ['a.b']);
      assert.deepEqual(await received(3, 4), ['a', 'a.b', 'a.b.c', 'x.c']);
      assert.deepEqual(await received(4, 1), ['x.c']);
      await Promise.all(streams.map((s) => s.return?.()));
    }));

  it('refuses bad topics, bad patterns and oversized payloads, naming the operation', () =>
    withHarness({ modules: [eventsService], limits: { maxValueBytes: 8 } }, async (h) => {
      const events = (await h.plugin('a')).client(EventsDefinition);
      let err = await failure(events.publish({ topic: 'a..b' }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /Events\/Publish a\.\.b: a topic is segments of/);
      err = await failure(events.publish({ topic: '' }));
      assert.match(err.details, /Events\/Publish : the topic is empty/);
      err = await failure(events.publish({ topic: 'big', payload: new Uint8Array(9) }));
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /Events\/Publish big: the payload is 9 bytes, more than the limit of 8/);
      assert.equal((await events.publish({ topic: 'big', payload: new Uint8Array(8) })).delivered, 0);
      const bad = await streamOutcome(h, events.subscribe({ pattern: 'a.>.b' })[Symbol.asyncIterator](), 'Events/Subscribe');
      assert.equal(bad.code, Code.INVALID_ARGUMENT);
      assert.match(bad.details, /Events\/Subscribe a\.>\.b: a pattern is/);
    }));

  it('drops the oldest events of a slow subscriber and says how many, never blocking the publisher', () =>
    withHarness({ modules: [eventsService] }, async (h) => {
      const stream = await subscribe((await h.plugin('slow')).client(EventsDefinition), 'burst');
      const bus = busOf(h);
      const publisher = { owner: 'test', clientId: 'test' };
      // Published synchronously: the subscriber cannot read a single one in between.
      const delivered = Array.from({ length: 1500 }, (_, i) => bus.publish({ topic: 'burst', payload: bytes(String(i)), contentType: '', publisher }));
      assert.ok(delivered.every((d) => d === 1));
      const first = (await stream.next()).value as SubscribeResponse;
      assert.equal(first.dropped, 1500 - 1024);
      assert.equal(text(first.payload), String(1500 - 1024), 'the oldest were dropped, the newest kept');
      let last = first;
      for (let i = 1; i < 1024; i++) {
        const event = (await stream.next()).value as SubscribeResponse;
        assert.equal(event.dropped, 0);
        assert.equal(event.sequence, last.sequence + 1);
        last = event;
      }
      assert.equal(text(last.payload), '1499');
      // Caught up: the next event arrives with nothing dropped.
      bus.publish({ topic: 'burst', payload: bytes('after'), contentType: '', publisher });
      const after = (await stream.next()).value as SubscribeResponse;
      assert.deepEqual([text(after.payload), after.dropped], ['after', 0]);
      await stream.return?.();
    }));

  it('ends subscriptions when the caller cancels or disconnects, releasing them at once on disconnect', () =>
    withHarness({ modules: [eventsService] }, async (h) => {
      const p = await h.plugin('a');
      const publisher = (await h.plugin('b')).client(EventsDefinition);
      const events = p.client(EventsDefinition);
      const cancel = new AbortController();
      await subscribe(events, 'gone', cancel.signal);
      const kept = await subscribe(events, 'gone');
      assert.equal(p.caller.subscriptions, 2);
      assert.equal((await publisher.publish({ topic: 'gone' })).delivered, 2);
      cancel.abort();
      await until(() => p.caller.subscriptions === 1, 'the cancelled subscription is released');
      assert.equal((await publisher.publish({ topic: 'gone' })).delivered, 1);

      const ended = (async () => {
        for (;;) if ((await kept.next().catch(() => ({ done: true }))).done) return true;
      })();
      await p.disconnect();
      assert.equal(p.caller.subscriptions, 0);
      assert.equal(busOf(h).listTopics().find((t) => t.topic === 'gone')?.subscribers, 0);
      assert.equal((await publisher.publish({ topic: 'gone' })).delivered, 0);
      assert.equal(await ended, true);
    }));

  it('shares the live subscription limit with KV watches', () =>
    withHarness({ modules: [eventsService, keyValueService], limits: { maxSubscriptions: 2 } }, async (h) => {
      const p = await h.plugin('a');
      const watch = p.client(KeyValueDefinition).watch({ prefix: '' })[Symbol.asyncIterator]();
      await watch.next();
      await subscribe(p.client(EventsDefinition), 'one');
      const err = await streamOutcome(h, p.client(EventsDefinition).subscribe({ pattern: 'two' })[Symbol.asyncIterator](), 'Events/Subscribe');
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /Events\/Subscribe two: the plugin already has 2 live subscriptions and watches, the limit/);
      await watch.return?.();
      await until(() => p.caller.subscriptions === 1, 'the watch is released');
      await subscribe(p.client(EventsDefinition), 'two');
    }));

  it('lists topics seen with live subscriber counts and last publish times', () =>
    withHarness({ modules: [eventsService] }, async (h) => {
      const events = (await h.plugin('a')).client(EventsDefinition);
      assert.deepEqual(await events.listTopics({}), { topics: [] });
      const wide = await subscribe(events, 'jobs.>');
      await subscribe(events, 'jobs.waiting');
      const before = Date.now();
      await events.publish({ topic: 'jobs.done' });
      await events.publish({ topic: 'other' });
      const { topics } = await events.listTopics({});
      assert.deepEqual(
        topics.map((t) => [t.topic, t.subscribers, t.lastPublishMs > 0]),
        [
          ['jobs.waiting', 2, false],
          ['jobs.done', 1, true],
          ['other', 0, true],
        ],
      );
      assert.ok((topics[1]?.lastPublishMs ?? 0) >= before);
      await wide.return?.();
      await until(() => busOf(h).listTopics().find((t) => t.topic === 'jobs.done')?.subscribers === 0, 'the wide subscription ends');
      // Publishing again moves a topic to the end.
      await events.publish({ topic: 'jobs.done' });
      assert.deepEqual((await events.listTopics({})).topics.map((t) => [t.topic, t.subscribers]), [
        ['jobs.waiting', 1],
        ['other', 0],
        ['jobs.done', 0],
      ]);
    }));

  it('declares events.publish with the topic and events.subscribe with the pattern, or * to list', async () => {
    const decisions: Decision[] = [];
    await withHarness({ modules: [eventsService], authorize: (d) => void decisions.push(d) }, async (h) => {
      const events = (await h.plugin('a')).client(EventsDefinition);
      await events.publish({ topic: 't.x' });
      const stream = await subscribe(events, 't.*');
      await stream.return?.();
      await events.listTopics({});
      assert.deepEqual(
        decisions.map((d) => [d.operation, d.capability, d.resource]),
        [
          ['Events/Publish', 'events.publish', 't.x'],
          ['Events/Subscribe', 'events.subscribe', 't.*'],
          ['Events/ListTopics', 'events.subscribe', '*'],
        ],
      );
      assert.deepEqual(Object.keys(eventsService.operations).sort(), Object.keys(EventsDefinition.methods).sort());
    });
  });
});

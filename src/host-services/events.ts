/**
 * Events: publish/subscribe between plugins through the host's one in-memory
 * bus. The publisher on every event is the calling plugin as the host knows
 * it; nothing in the request can change it.
 */
import { EventsDefinition, type SubscribeResponse } from '../gen/hst/host/v1/events.js';
import type { DeepPartial } from '../rpc/definition.js';
import { exhausted, invalid } from './errors.js';
import { EventBus, Mailbox, patternProblem, topicProblem, type BusEvent } from './event-bus.js';
import { hostService } from './operation.js';

/** Events a subscriber may fall behind by before the oldest are dropped. */
const SUBSCRIPTION_QUEUE_ITEMS = 1024;
const SUBSCRIPTION_QUEUE_BYTES = 16 * 1024 * 1024;

export const eventsService = hostService({
  definition: EventsDefinition,
  operations: {
    publish: { capability: 'events.publish', resource: (r) => r.topic },
    subscribe: { capability: 'events.subscribe', resource: (r) => r.pattern },
    listTopics: { capability: 'events.subscribe', resource: () => '*' },
  },
  create(caller, host) {
    const bus = host.shared('events', () => new EventBus());
    const publisher = { owner: caller.owner, clientId: caller.clientId };
    return {
      publish({ topic, payload, contentType }) {
        const problem = topicProblem(topic);
        if (problem) throw invalid(`Events/Publish ${topic}: ${problem}`);
        const max = caller.limits.maxValueBytes;
        if (payload.byteLength > max) throw exhausted(`Events/Publish ${topic}: the payload is ${payload.byteLength} bytes, more than the limit of ${max}`);
        return { delivered: bus.publish({ topic, payload, contentType, publisher }) };
      },

      async *subscribe({ pattern }, ctx): AsyncGenerator<DeepPartial<SubscribeResponse>> {
        const what = `Events/Subscribe ${pattern}`;
        const problem = patternProblem(pattern);
        if (problem) throw invalid(`${what}: ${problem}`);
        const release = caller.claimSubscription(what);
        const mailbox = new Mailbox<BusEvent>(
          { maxItems: SUBSCRIPTION_QUEUE_ITEMS, maxBytes: SUBSCRIPTION_QUEUE_BYTES, sizeOf: (e) => e.payload.byteLength + e.topic.length },
          [ctx.signal, caller.signal],
        );
        mailbox.onClose(release);
        bus.subscribe(pattern, mailbox);
        try {
          yield { started: true };
          for await (const { item, dropped } of mailbox.drain()) yield { ...item, dropped };
        } finally {
          mailbox.close();
        }
      },

      listTopics() {
        return { topics: bus.listTopics() };
      },
    };
  },
});

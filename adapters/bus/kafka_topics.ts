/**
 * Reading Kafka topics whole, for operators' tools (the BusBrowser of kafka.ts): the
 * topics there are, and every message a topic keeps. kafkajs has no way to read a
 * partition without a consumer group, so a throwaway group reads each partition up to the
 * end it had when asked, commits nothing and is deleted afterwards.
 * @module
 */
import type { Kafka } from "kafkajs";
import type { BusBrowser, IncomingMessage } from "../../application/ports/bus.ts";

/** `toIncoming` turns a kafkajs message into the port's. */
export const kafkaBrowser = (
  kafka: Kafka,
  toIncoming: (topic: string, partition: number, message: never) => IncomingMessage,
  timeoutMs = 60_000,
): BusBrowser => {
  const withAdmin = async <T>(work: (admin: ReturnType<Kafka["admin"]>) => Promise<T>) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  };

  // Asked only of a topic that exists: a metadata request for another would create it. A
  // topic just made may have no leader yet (NOT_LEADER_FOR_PARTITION, which kafkajs marks
  // retriable but its admin does not retry here): asked again after a moment.
  const ends = async (topic: string) => {
    for (let attempt = 1;; attempt++) {
      try {
        return await withAdmin(async (admin) =>
          (await admin.listTopics()).includes(topic) ? await admin.fetchTopicOffsets(topic) : []
        );
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  };

  return {
    topics: () =>
      withAdmin(async (admin) =>
        (await admin.listTopics()).filter((topic) => !topic.startsWith("__")).sort()
      ),
    read: async (topic) => {
      /** Per partition, the offset of the last message to read. */
      const last = new Map<number, bigint>();
      for (const { partition, low, high } of await ends(topic)) {
        if (BigInt(high) > BigInt(low)) last.set(partition, BigInt(high) - 1n);
      }
      if (last.size === 0) return [];
      const groupId = `nudges.browse.${crypto.randomUUID()}`;
      const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
      const read: IncomingMessage[] = [];
      let done!: () => void;
      const finished = new Promise<void>((resolve) => done = resolve);
      const left = new Set(last.keys());
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            const end = last.get(batch.partition);
            for (const message of batch.messages) {
              if (end === undefined || BigInt(message.offset) > end) break;
              read.push(toIncoming(topic, batch.partition, message as never));
              if (BigInt(message.offset) === end) left.delete(batch.partition);
            }
            if (left.size === 0) done();
            return Promise.resolve();
          },
        });
        const timer = setTimeout(done, timeoutMs);
        await finished;
        clearTimeout(timer);
        if (left.size > 0) {
          throw new Error(`reading ${topic} took more than ${timeoutMs / 1000} s; try again`);
        }
      } finally {
        await consumer.disconnect();
        await withAdmin((admin) => admin.deleteGroups([groupId])).catch(() => {});
      }
      return read.sort((a, b) =>
        a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))
      );
    },
  };
};

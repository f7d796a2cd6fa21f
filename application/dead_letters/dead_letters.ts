/**
 * Dead letters for operators (`deno task dead-letters`): every message a consumer group
 * gave up on, read from the dead-letter topics with the reason it carries, and sending
 * them back to their topic, once. A letter sent back leaves a mark in its dead-letter
 * topic (RETRY_HEADERS.marks), published with it: a second retry finds the mark and
 * sends nothing. The message sent back names the group that gave up on it, and only that
 * group handles it again (the topic's other groups handled it the first time).
 * @module
 */
import {
  type Bus,
  type BusBrowser,
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  type IncomingMessage,
  type OutgoingMessage,
  RETRY_HEADERS,
} from "../ports/bus.ts";

export type DeadLetter = {
  /** `<dead-letter topic>:<partition>:<offset>`: where the letter is kept. */
  id: string;
  /** The topic it came from, and goes back to. */
  topic: string;
  key: string;
  reason: string;
  attempts: number | null;
  /** The consumer group that gave up on it. */
  group: string | null;
  /** When it was dead-lettered (ISO 8601); null for letters written before this was kept. */
  deadLetteredAt: string | null;
  /** When it was sent back; null if it never was. */
  retriedAt: string | null;
  /** False for a note that stands in for a message too large for the bus. */
  retriable: boolean;
  /** PermanentFailure details, parsed, when the handler gave any. */
  details?: unknown;
  letter: IncomingMessage;
};

const SUFFIX = deadLetterTopic("");

/** The dead-letter topic `topic` names: itself if it is one, else its dead-letter topic. */
export const deadLetterTopicOf = (topic: string): string =>
  topic.endsWith(SUFFIX) ? topic : deadLetterTopic(topic);

const idOf = (message: IncomingMessage) =>
  `${message.topic}:${message.partition}:${message.offset}`;

const parsed = (text: string | undefined) => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** The letters of one dead-letter topic, oldest first, with the marks left by retries. */
const lettersOf = async (browser: BusBrowser, topic: string): Promise<DeadLetter[]> => {
  const messages = await browser.read(topic);
  const retried = new Map<string, string>();
  for (const message of messages) {
    const id = message.headers[RETRY_HEADERS.marks];
    if (id !== undefined) retried.set(id, message.headers[RETRY_HEADERS.at] ?? "");
  }
  return messages.filter((message) => message.headers[RETRY_HEADERS.marks] === undefined)
    .map((letter) => {
      const h = letter.headers;
      const attempts = Number(h[DEAD_LETTER_HEADERS.attempts]);
      const details = parsed(h[DEAD_LETTER_HEADERS.details]);
      return {
        id: idOf(letter),
        topic: h[DEAD_LETTER_HEADERS.topic] ?? topic.slice(0, -SUFFIX.length),
        key: letter.key,
        reason: h[DEAD_LETTER_HEADERS.error] ?? "(no reason kept)",
        attempts: Number.isInteger(attempts) ? attempts : null,
        group: h[DEAD_LETTER_HEADERS.group] ?? null,
        deadLetteredAt: h[DEAD_LETTER_HEADERS.at] ?? null,
        retriedAt: retried.get(idOf(letter)) ?? null,
        retriable: h[DEAD_LETTER_HEADERS.value] !== "omitted",
        ...(details === undefined ? {} : { details }),
        letter,
      };
    });
};

/**
 * Every dead letter, oldest first per topic: of `topic` (a topic or its dead-letter
 * topic) when given, else of every dead-letter topic there is.
 */
export const listDeadLetters = async (
  browser: BusBrowser,
  { topic }: { topic?: string } = {},
): Promise<DeadLetter[]> => {
  const topics = topic === undefined
    ? (await browser.topics()).filter((name) => name.endsWith(SUFFIX))
    : [deadLetterTopicOf(topic)];
  const letters: DeadLetter[] = [];
  for (const name of topics) letters.push(...await lettersOf(browser, name));
  return letters;
};

export type RetryResult = {
  /** Sent back to their topic now. */
  sent: DeadLetter[];
  /** Not sent, and why (sent back before; a note with no message to send). */
  skipped: { letter: DeadLetter; why: string }[];
};

export class NoSuchDeadLetter extends Error {
  override name = "NoSuchDeadLetter";
}

/** The message that goes back to the topic: the original, without the dead-letter headers. */
const sentBack = (letter: DeadLetter): OutgoingMessage => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(letter.letter.headers)) {
    if (!name.startsWith("x-dead-letter-") && !name.startsWith("x-retried-")) headers[name] = value;
  }
  headers[RETRY_HEADERS.from] = letter.id;
  if (letter.group !== null) headers[RETRY_HEADERS.group] = letter.group;
  return { topic: letter.topic, key: letter.key, value: letter.letter.value, headers };
};

const mark = (letter: DeadLetter, at: string): OutgoingMessage => ({
  topic: letter.letter.topic,
  key: letter.key,
  value: "",
  headers: { [RETRY_HEADERS.marks]: letter.id, [RETRY_HEADERS.at]: at },
});

/**
 * Sends the dead letters of `topic` (or every dead-letter topic), or the one `id`, back
 * to their topic, each with its mark in one publish. Throws NoSuchDeadLetter for an id
 * no topic keeps.
 */
export const retryDeadLetters = async (
  bus: Bus & BusBrowser,
  { topic, id, now = () => new Date().toISOString() }: {
    topic?: string;
    id?: string;
    now?: () => string;
  } = {},
): Promise<RetryResult> => {
  // An id names its dead-letter topic: only that one is read.
  const from = topic ?? (id === undefined ? undefined : id.split(":")[0]);
  const letters = (await listDeadLetters(bus, { topic: from }))
    .filter((letter) => id === undefined || letter.id === id);
  if (id !== undefined && letters.length === 0) {
    throw new NoSuchDeadLetter(
      `no dead letter ${id}${topic ? ` in ${deadLetterTopicOf(topic)}` : ""}`,
    );
  }
  const result: RetryResult = { sent: [], skipped: [] };
  for (const letter of letters) {
    if (letter.retriedAt !== null) {
      result.skipped.push({ letter, why: `sent back already, at ${letter.retriedAt}` });
    } else if (!letter.retriable) {
      result.skipped.push({
        letter,
        why: "a note of a message too large for the bus: nothing to send",
      });
    } else {
      await bus.publish([sentBack(letter), mark(letter, now())]);
      result.sent.push(letter);
    }
  }
  return result;
};

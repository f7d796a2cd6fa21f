/**
 * What `deno task dead-letters` prints: text for people, JSON for machines.
 * @module
 */
import type { DeadLetter, RetryResult } from "./dead_letters.ts";

/** A letter as JSON: everything but the message itself (its value may be large). */
export const letterJson = ({ letter: _, ...rest }: DeadLetter) => rest;

export const listText = (letters: readonly DeadLetter[]): string => {
  if (letters.length === 0) return "no dead letters\n";
  const retried = letters.filter((l) => l.retriedAt !== null).length;
  const blocks = letters.map((l) =>
    [
      l.id,
      `  topic     ${l.topic}`,
      `  key       ${l.key}`,
      `  reason    ${l.reason}`,
      `  attempts  ${l.attempts ?? "-"}`,
      `  when      ${l.deadLetteredAt ?? "-"}`,
      `  group     ${l.group ?? "-"}`,
      `  retried   ${l.retriedAt ?? (l.retriable ? "no" : "cannot be (no message kept)")}`,
    ].join("\n")
  );
  const count = `${letters.length} dead letter${letters.length === 1 ? "" : "s"}` +
    (retried > 0 ? `, ${retried} sent back already` : "");
  return `${count}\n\n${blocks.join("\n\n")}\n`;
};

export const retryText = ({ sent, skipped }: RetryResult): string => {
  const lines = [
    ...sent.map((l) => `sent back ${l.id} to ${l.topic} (key ${l.key})`),
    ...skipped.map(({ letter, why }) => `not sent ${letter.id}: ${why}`),
  ];
  const summary = sent.length === 0 && skipped.length === 0
    ? "no dead letters to send back"
    : `${sent.length} sent back, ${skipped.length} not sent`;
  return [...lines, summary].join("\n") + "\n";
};

export const retryJson = ({ sent, skipped }: RetryResult) => ({
  sent: sent.map(letterJson),
  skipped: skipped.map(({ letter, why }) => ({ ...letterJson(letter), why })),
});

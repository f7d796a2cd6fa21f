// Given/when/then for deciders, so each test reads as one statement:
//   spec(planDecider).given([created]).when(rename).then([renamed])
// A refusal must be a DomainError with the named code and kind and a message that says
// something; a no-op is a decision of no events.
import assert from "node:assert/strict";
import { type Decider, DomainError, type DomainErrorKind, fold } from "../../domain/decider.ts";

export type Then<E> = {
  /** The command decides exactly these events, and they evolve without error. */
  then(expected: E[]): void;
  /** The command changes nothing: no events. */
  thenNothing(): void;
  /** The command is refused with this DomainError; the message matches `message` if given. */
  thenRefused(code: string, kind: DomainErrorKind, message?: RegExp): void;
};

export type Given<C, E, S> = {
  when(command: C): Then<E>;
  /** The state the given events fold to. */
  thenState(expected: S): void;
};

export const spec = <C, E, S>(decider: Decider<C, E, S>) => ({
  given(history: E[]): Given<C, E, S> {
    const state = () => fold(decider, history);
    return {
      when: (command) => ({
        then(expected) {
          const decided = decider.decide(command, state());
          assert.deepEqual(decided, expected);
          decided.reduce(decider.evolve, state());
        },
        thenNothing() {
          assert.deepEqual(decider.decide(command, state()), []);
        },
        thenRefused(code, kind, message) {
          assert.throws(() => decider.decide(command, state()), (error: unknown) => {
            assert.ok(error instanceof DomainError, `expected a DomainError, got ${error}`);
            assert.equal(error.code, code);
            assert.equal(error.kind, kind);
            assert.notEqual(error.message.trim(), "", "a refusal says what is wrong");
            if (message) assert.match(error.message, message);
            return true;
          });
        },
      }),
      thenState(expected) {
        assert.deepEqual(state(), expected);
      },
    };
  },
});

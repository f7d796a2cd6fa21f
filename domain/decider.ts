/**
 * A decider (Jérémie Chassaing): what an aggregate decides and how its state follows
 * from its events. Pure: time and ids come in with the command.
 * @module
 */

/** A fact that happened, past tense: `{ type: "PlanCreated", data: { … } }`. */
export type DomainEvent<Type extends string = string, Data = unknown> = {
  type: Type;
  data: Data;
};

/** A request to change an aggregate, imperative: `{ type: "CreatePlan", data: { … } }`. */
export type DomainCommand<Type extends string = string, Data = unknown> = {
  type: Type;
  data: Data;
};

export type Decider<Command, Event, State> = {
  /** A fresh state for a stream with no events: a factory, so no fold shares an object. */
  initialState: () => State;
  /** The events a command produces; [] when it changes nothing; throws DomainError when refused. */
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  /**
   * True when the stream has ended: no command changes it any more (decide refuses or
   * answers []), so tools may archive it.
   */
  isTerminal?(state: State): boolean;
};

/** The state after the given events, from the decider's initial state. */
export const fold = <C, E, S>(decider: Decider<C, E, S>, events: readonly E[]): S =>
  events.reduce(decider.evolve, decider.initialState());

/** How a refusal reads to the caller: bad input, a missing object, or a state conflict. */
export type DomainErrorKind = "invalid" | "not_found" | "conflict";

/** A command broke a rule. `code` names the rule; the message says what was wrong. */
export class DomainError extends Error {
  constructor(readonly code: string, readonly kind: DomainErrorKind, message: string) {
    super(message);
    this.name = code;
  }
}

export const invalid = (code: string, message: string): DomainError =>
  new DomainError(code, "invalid", message);
export const notFound = (code: string, message: string): DomainError =>
  new DomainError(code, "not_found", message);
export const conflict = (code: string, message: string): DomainError =>
  new DomainError(code, "conflict", message);

/** Exhaustiveness check for discriminated unions. */
export const unreachable = (value: never): never => {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
};

/**
 * Writing a command's output whole: writeSync may take only part of a large text (a pipe
 * to `less` or `jq`), so it is written until all of it is out.
 * @module
 */

const encoder = new TextEncoder();

const writeAll = (to: typeof Deno.stdout, text: string) => {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) done += to.writeSync(bytes.subarray(done));
};

/** To standard output: what the command answers. */
export const out = (text: string): void => writeAll(Deno.stdout, text);
/** To standard error: progress and errors, kept apart from an answer read by a machine. */
export const err = (text: string): void => writeAll(Deno.stderr, text);

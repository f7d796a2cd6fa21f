// What tests need to run a program in a child process and read what it prints: a free
// port to give it, the environment it inherits, its output line by line.

/** A port nothing listens on right now (the child takes it a moment later). */
export const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
};

/**
 * The few variables of this process's environment a child Deno needs (its cache, the
 * tools on PATH), for children started with `clearEnv` so they see nothing else of it.
 */
export const inheritedEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
};

/**
 * Splits text into lines. A last line without its newline is passed on too, unless
 * `dropUnfinished` (the writer died mid-line: the fragment means nothing).
 */
export const lineSplitter = ({ dropUnfinished = false } = {}) => {
  let rest = "";
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (rest && !dropUnfinished) controller.enqueue(rest);
    },
  });
};

/** A child's output stream as lines of text. */
export const textLines = (
  stream: ReadableStream<Uint8Array>,
  options: { dropUnfinished?: boolean } = {},
): ReadableStream<string> =>
  stream.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter(options));

/** Pushes each line of `stream` onto `into` as it comes, calling `onLine` after each and at the end. */
export const collectLines = async (
  stream: ReadableStream<Uint8Array>,
  into: string[],
  onLine?: () => void,
): Promise<void> => {
  for await (const line of textLines(stream)) {
    into.push(line);
    onLine?.();
  }
  onLine?.();
};

/**
 * Reads lines, keeping each in `seen`, until one `matches` (a "listening" line, say):
 * that line, or undefined when the output ended first.
 */
export const readUntil = async (
  lines: ReadableStreamDefaultReader<string>,
  matches: (line: string) => boolean,
  seen: string[],
): Promise<string | undefined> => {
  for (;;) {
    const { done, value } = await lines.read();
    if (done) return undefined;
    seen.push(value);
    if (matches(value)) return value;
  }
};

/** Sends `signal` to `child` unless it has ended already. */
export const killIfRunning = (child: Deno.ChildProcess, signal: Deno.Signal): void => {
  try {
    child.kill(signal);
  } catch {
    // it has ended already
  }
};

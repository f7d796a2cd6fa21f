/**
 * GraphQL over WebSocket (the graphql-transport-ws protocol) on Deno's own WebSocket,
 * through graphql-ws's makeServer. Deno 2.9 reports `socket.protocol` as "" even after
 * agreeing on one, so the protocol negotiated here is what makeServer is told; a client
 * that offers no graphql-transport-ws is closed by makeServer with 4406, as the protocol says.
 *
 * Backpressure: Deno's `send` queues without limit, so each message waits until the
 * socket's unsent bytes (`bufferedAmount`) are below a cap. graphql-ws awaits every send
 * before it takes the next result, so a slow reader slows its subscriptions down, and
 * onPlanUpdated then keeps only each plan's latest state (plan_updates.ts). A client that
 * stays above the cap for too long is closed with 4413. The sockets a process holds are
 * capped too, so the unsent bytes are bounded by sockets × (cap + one message).
 * @module
 */
import { handleProtocols, type Server } from "graphql-ws";

/** What an operation on this socket knows of its connection. */
export type SocketExtra = { authorization: string | null };

// graphql-ws's close codes (CloseCode): a bad message, an internal error.
const BAD_REQUEST = 4400;
const INTERNAL_ERROR = 4500;
/** Ours: the client does not read what it is sent (as HTTP 413: too much waiting for it). */
export const TOO_SLOW = 4413;

export type SocketOptions = {
  /** Longest message accepted, in UTF-16 code units (about bytes for JSON). */
  maxMessageLength: number;
  /** Most sockets open at once in this process; the next upgrade gets 503. */
  maxSockets: number;
  /** Unsent bytes a socket may hold before the next message waits for it to drain. */
  maxBufferedBytes: number;
  /** How long a message may wait for the client to read before the socket is closed (4413). */
  slowClientMs: number;
  onError: (error: unknown) => void;
  /** Told when a socket is closed for not reading. */
  onTooSlow?: (bufferedBytes: number) => void;
};

const tooManySockets = (max: number) =>
  new Response(
    JSON.stringify({
      errors: [{
        message: `too many WebSocket connections (at most ${max}); try again later`,
        extensions: { code: "SERVICE_UNAVAILABLE" },
      }],
    }),
    {
      status: 503,
      headers: { "content-type": "application/json; charset=utf-8", "retry-after": "5" },
    },
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const webSocketSessions = (server: Server<SocketExtra>, options: SocketOptions) => {
  // Every socket from its upgrade until it is gone: a socket told to close still holds
  // its unsent bytes until the client reads them or drops the connection.
  const sockets = new Set<WebSocket>();

  const accept = (request: Request): Response => {
    if (sockets.size >= options.maxSockets) return tooManySockets(options.maxSockets);
    const protocol = handleProtocols(request.headers.get("sec-websocket-protocol") ?? "") || "";
    // Read now: the request is closed once upgraded.
    const extra: SocketExtra = { authorization: request.headers.get("authorization") };
    const { socket, response } = Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    sockets.add(socket);
    const close = (code: number, reason: string) => {
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
    };

    /** True once the unsent bytes are under the cap; false if the socket closed meanwhile. */
    const drained = async () => {
      const since = Date.now();
      for (
        let wait = 2;
        socket.bufferedAmount > options.maxBufferedBytes;
        wait = Math.min(wait * 2, 50)
      ) {
        if (socket.readyState !== WebSocket.OPEN) return false;
        if (Date.now() - since > options.slowClientMs) {
          options.onTooSlow?.(socket.bufferedAmount);
          close(
            TOO_SLOW,
            `Too slow: the client did not read its messages for ${options.slowClientMs} ms`,
          );
          return false;
        }
        await sleep(wait);
      }
      return socket.readyState === WebSocket.OPEN;
    };
    // One message at a time, in order: the cap holds however many operations send.
    let sending = Promise.resolve();
    const send = (message: string) =>
      sending = sending.then(async () => {
        if (await drained()) socket.send(message);
      }).catch(options.onError);

    let closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
    socket.onopen = () => {
      closed = server.opened({
        protocol,
        send,
        close,
        onMessage: (handle) => {
          socket.onmessage = async ({ data }) => {
            if (typeof data !== "string" || data.length > options.maxMessageLength) {
              return close(BAD_REQUEST, "Message too large or not text");
            }
            try {
              await handle(data);
            } catch (error) {
              options.onError(error);
              close(INTERNAL_ERROR, "Internal server error");
            }
          };
        },
      }, extra);
    };
    socket.onclose = ({ code, reason }) => {
      sockets.delete(socket);
      closed?.(code, reason).catch(options.onError);
    };
    socket.onerror = () => close(INTERNAL_ERROR, "Internal server error");
    return response;
  };

  /** Closes every open socket ("going away"), for a shutdown. */
  const closeAll = () => {
    for (const socket of sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.close(1001, "Server shutting down");
    }
  };

  /** The sockets held and the bytes they have not sent yet (Deno reports 0 once closing). */
  const stats = () => ({
    open: sockets.size,
    bufferedBytes: [...sockets].reduce((sum, socket) => sum + socket.bufferedAmount, 0),
  });

  return { accept, closeAll, stats };
};

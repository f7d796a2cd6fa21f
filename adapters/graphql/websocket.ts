/**
 * GraphQL over WebSocket (the graphql-transport-ws protocol) on Deno's own WebSocket,
 * through graphql-ws's makeServer. Deno 2.9 reports `socket.protocol` as "" even after
 * agreeing on one, so the protocol negotiated here is what makeServer is told; a client
 * that offers no graphql-transport-ws is closed by makeServer with 4406, as the protocol says.
 * @module
 */
import { handleProtocols, type Server } from "graphql-ws";

/** What an operation on this socket knows of its connection. */
export type SocketExtra = { authorization: string | null };

// graphql-ws's close codes (CloseCode): a bad message, an internal error.
const BAD_REQUEST = 4400;
const INTERNAL_ERROR = 4500;

export type SocketOptions = {
  /** Longest message accepted, in UTF-16 code units (about bytes for JSON). */
  maxMessageLength: number;
  onError: (error: unknown) => void;
};

export const webSocketSessions = (server: Server<SocketExtra>, options: SocketOptions) => {
  const open = new Set<WebSocket>();

  const accept = (request: Request): Response => {
    const protocol = handleProtocols(request.headers.get("sec-websocket-protocol") ?? "") || "";
    // Read now: the request is closed once upgraded.
    const extra: SocketExtra = { authorization: request.headers.get("authorization") };
    const { socket, response } = Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    const close = (code: number, reason: string) => {
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
    };
    let closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
    socket.onopen = () => {
      open.add(socket);
      closed = server.opened({
        protocol,
        send: (message) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(message);
        },
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
      open.delete(socket);
      closed?.(code, reason).catch(options.onError);
    };
    socket.onerror = () => close(INTERNAL_ERROR, "Internal server error");
    return response;
  };

  /** Closes every open socket ("going away"), for a shutdown. */
  const closeAll = () => {
    for (const socket of open) socket.close(1001, "Server shutting down");
  };

  return { accept, closeAll };
};

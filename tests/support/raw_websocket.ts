// Test support: a WebSocket client on a bare TCP connection that reads only when told to,
// for tests of a client that stops reading (Deno's WebSocket always reads). Text frames
// out (masked, as a client must), whole frames in; nothing else of RFC 6455 is needed.

export type Frame = { opcode: number; payload: Uint8Array };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client frame: FIN, the opcode, the mask bit and a length of up to 64 bits. */
const frame = (opcode: number, payload: Uint8Array): Uint8Array => {
  const length = payload.length;
  const head = length < 126
    ? [0x80 | opcode, 0x80 | length]
    : length < 65536
    ? [0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]
    : [0x80 | opcode, 0x80 | 127, 0, 0, 0, 0, ...[24, 16, 8, 0].map((s) => (length >>> s) & 0xff)];
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return new Uint8Array([...head, ...mask, ...masked]);
};

/** Splits server frames (unmasked) off the front of `bytes`; returns them and the rest. */
export const parseFrames = (bytes: Uint8Array): { frames: Frame[]; rest: Uint8Array } => {
  const frames: Frame[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (bytes.length - at < 4) break;
      length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
      start = at + 4;
    } else if (length === 127) {
      if (bytes.length - at < 10) break;
      length = new DataView(bytes.buffer, bytes.byteOffset + at + 2, 8).getUint32(4);
      start = at + 10;
    }
    if (bytes.length < start + length) break;
    frames.push({ opcode: bytes[at]! & 0x0f, payload: bytes.slice(start, start + length) });
    at = start + length;
  }
  return { frames, rest: bytes.slice(at) };
};

export const textOf = (frame: Frame) => decoder.decode(frame.payload);
/** The code and reason of a close frame. */
export const closeOf = (frame: Frame) => ({
  code: (frame.payload[0]! << 8) | frame.payload[1]!,
  reason: decoder.decode(frame.payload.slice(2)),
});

/** Connects and upgrades to `protocol`; reads nothing more until `read` is called. */
export const rawWebSocket = async (url: string, protocol: string) => {
  const { hostname, port, pathname } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(encoder.encode(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  ));
  let pending: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(1 << 16);
  /** Reads once from the connection; false at its end. Frames are parsed off as they come. */
  const readSome = async () => {
    const n = await conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(pending.length + n);
    joined.set(pending);
    joined.set(chunk.subarray(0, n), pending.length);
    pending = joined;
    return true;
  };
  // The handshake answer, up to its blank line.
  for (;;) {
    const end = decoder.decode(pending).indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = decoder.decode(pending.slice(0, end));
      if (!head.startsWith("HTTP/1.1 101")) throw new Error(`no upgrade: ${head}`);
      pending = pending.slice(end + 4);
      break;
    }
    if (!(await readSome())) throw new Error("closed during the handshake");
  }
  return {
    send: (text: string) => conn.write(frame(0x1, encoder.encode(text))),
    /** Reads frames until `until` holds of one (or the connection ends); returns all read. */
    async read(until: (frame: Frame) => boolean): Promise<Frame[]> {
      const read: Frame[] = [];
      for (;;) {
        const { frames, rest } = parseFrames(pending);
        pending = rest;
        read.push(...frames);
        if (frames.some(until)) return read;
        if (!(await readSome())) return read;
      }
    },
    close: () => conn.close(),
  };
};

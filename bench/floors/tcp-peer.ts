// The far end of the TCP floors, run as its own Bun process so that loopback figures include
// a real process boundary, as a broker would have. Modes:
//   sink       the first 8 bytes say how many bytes follow; reply one byte once all arrived.
//   echo       send back every byte received (one-in-flight round trips).
//   frame-ack  read Kafka-style size-prefixed frames; answer each with an 8-byte frame
//              [int32 size = 4][int32 correlation id] — the "raw TCP sink of the same bytes"
//              that a Kafka-protocol producer is compared with (no parsing, no storage).
// Prints "listening <port>" when ready.

import type { Socket } from "bun";

type Mode = "sink" | "echo" | "frame-ack";
const mode = (process.argv[2] ?? "sink") as Mode;
if (!["sink", "echo", "frame-ack"].includes(mode)) {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

interface State {
  // sink
  expected: number;
  received: number;
  header: number[];
  // frame-ack
  frameRemaining: number;
  frameHeader: Uint8Array;
  frameHeaderFill: number;
  pending: Uint8Array[];
  pendingOffset: number;
}

const frameHeaderBytes = 12; // size, api key, api version, correlation id

function write(socket: Socket<State>, bytes: Uint8Array): void {
  const state = socket.data;
  if (state.pending.length > 0) {
    state.pending.push(bytes);
    return;
  }
  const written = socket.write(bytes, 0, bytes.length);
  if (written < bytes.length) state.pending.push(bytes.subarray(Math.max(0, written)));
}

function onSink(socket: Socket<State>, chunk: Buffer): void {
  const state = socket.data;
  let offset = 0;
  while (state.header.length < 8 && offset < chunk.length) state.header.push(chunk[offset++]!);
  if (state.header.length === 8 && state.expected < 0) {
    state.expected = Number(Buffer.from(state.header).readBigUInt64BE(0));
  }
  state.received += chunk.length - offset;
  if (state.expected >= 0 && state.received >= state.expected) {
    write(socket, new Uint8Array([1]));
    state.expected = -1;
    state.received = 0;
    state.header = [];
  }
}

function onFrames(socket: Socket<State>, chunk: Buffer): void {
  const state = socket.data;
  let offset = 0;
  const acks: number[] = [];
  while (offset < chunk.length) {
    if (state.frameRemaining > 0) {
      const skip = Math.min(state.frameRemaining, chunk.length - offset);
      state.frameRemaining -= skip;
      offset += skip;
      continue;
    }
    const take = Math.min(frameHeaderBytes - state.frameHeaderFill, chunk.length - offset);
    state.frameHeader.set(chunk.subarray(offset, offset + take), state.frameHeaderFill);
    state.frameHeaderFill += take;
    offset += take;
    if (state.frameHeaderFill < frameHeaderBytes) break;
    const view = new DataView(state.frameHeader.buffer);
    const size = view.getInt32(0);
    acks.push(view.getInt32(8));
    state.frameRemaining = size - (frameHeaderBytes - 4);
    state.frameHeaderFill = 0;
  }
  if (acks.length > 0) {
    const out = new Uint8Array(acks.length * 8);
    const view = new DataView(out.buffer);
    acks.forEach((correlationId, index) => {
      view.setInt32(index * 8, 4);
      view.setInt32(index * 8 + 4, correlationId);
    });
    write(socket, out);
  }
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(socket) {
      // Small answers must leave at once (Nagle + delayed ACK would add up to 40 ms).
      socket.setNoDelay(true);
      socket.data = {
        expected: -1,
        received: 0,
        header: [],
        frameRemaining: 0,
        frameHeader: new Uint8Array(frameHeaderBytes),
        frameHeaderFill: 0,
        pending: [],
        pendingOffset: 0,
      };
    },
    data(socket, chunk) {
      if (mode === "sink") onSink(socket, chunk);
      else if (mode === "echo") write(socket, new Uint8Array(chunk));
      else onFrames(socket, chunk);
    },
    drain(socket) {
      const state = socket.data;
      while (state.pending.length > 0) {
        const head = state.pending[0]!;
        const written = socket.write(head, 0, head.length);
        if (written < head.length) {
          state.pending[0] = head.subarray(Math.max(0, written));
          return;
        }
        state.pending.shift();
      }
    },
  },
});
console.log(`listening ${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});

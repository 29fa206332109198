// The recording proxy (src/testing/recording-proxy.ts) forwards bytes unchanged both ways and cuts
// the client→broker stream into request frames wherever the TCP writes happen to split it.

import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { ApiVersionsApi, MetadataApi } from "../../src/protocol/generated/index.ts";
import { encodeRequestFrame } from "../../src/protocol/headers.ts";
import { startRecordingProxy } from "../../src/testing/recording-proxy.ts";

/** A stand-in upstream that answers every received chunk with "ack:<n bytes>" (enough to see bytes flow back). */
function startUpstream() {
  const received: Uint8Array[] = [];
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, bytes) {
        received.push(new Uint8Array(bytes));
        const answer = new TextEncoder().encode(`ack:${bytes.length};`);
        socket.write(answer, 0, answer.length);
      },
    },
  });
  return { listener, received };
}

async function connectClient(port: number) {
  let answers = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const socket: Socket<undefined> = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_, bytes) {
        answers += new TextDecoder().decode(bytes);
        for (const waiter of waiters.splice(0)) {
          if (answers.includes(waiter.text)) waiter.resolve();
          else waiters.push(waiter);
        }
      },
    },
  });
  return {
    socket,
    get answers() {
      return answers;
    },
    until(text: string): Promise<void> {
      if (answers.includes(text)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ text, resolve }));
    },
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await Bun.sleep(1);
}

test("frames split byte by byte and frames sharing one write are all recorded, and bytes flow both ways", async () => {
  const upstream = startUpstream();
  await using proxy = startRecordingProxy();
  proxy.setTarget({ host: "127.0.0.1", port: upstream.listener.port });
  const client = await connectClient(proxy.port);

  const first = encodeRequestFrame(ApiVersionsApi, 3, 7, "fixture-client", { clientSoftwareName: "test", clientSoftwareVersion: "1" });
  const second = encodeRequestFrame(MetadataApi, 12, 8, null, { topics: null });
  const third = encodeRequestFrame(MetadataApi, 1, 9, "", { topics: [] });
  // The first frame one byte per write; the other two in one write.
  for (let index = 0; index < first.length; index++) {
    client.socket.write(first.subarray(index, index + 1));
    client.socket.flush();
    await Bun.sleep(0);
  }
  const both = new Uint8Array(second.length + third.length);
  both.set(second, 0);
  both.set(third, second.length);
  client.socket.write(both);

  await waitFor(() => proxy.requests.length === 3);
  const total = first.length + both.length;
  await waitFor(() => upstream.received.reduce((sum, chunk) => sum + chunk.length, 0) === total);
  const forwarded = Buffer.concat(upstream.received);
  expect(forwarded.equals(Buffer.concat([first, both]))).toBe(true);

  expect(proxy.requests.map((request) => [request.apiKey, request.apiVersion, request.correlationId, request.clientId])).toEqual([
    [18, 3, 7, "fixture-client"],
    [3, 12, 8, null],
    [3, 1, 9, ""],
  ]);
  // Frames are kept without their int32 size prefix.
  expect(Buffer.from(proxy.requests[0]!.frame).equals(Buffer.from(first.subarray(4)))).toBe(true);
  expect(proxy.requests[1]!.indexInConnection).toBe(1);
  expect(proxy.unparsed).toEqual([]);

  await client.until("ack:");
  expect(client.answers).toContain("ack:");
  client.socket.end();
  upstream.listener.stop(true);
});

test("a stream that is not Kafka frames is still forwarded, but not recorded", async () => {
  const upstream = startUpstream();
  await using proxy = startRecordingProxy({ frameBytesMax: 1024 });
  proxy.setTarget({ host: "127.0.0.1", port: upstream.listener.port });
  const client = await connectClient(proxy.port);
  const junk = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
  client.socket.write(junk);
  await waitFor(() => upstream.received.reduce((sum, chunk) => sum + chunk.length, 0) === junk.length);
  expect(proxy.requests).toEqual([]);
  expect(proxy.unparsed.length).toBe(1);
  expect(proxy.unparsed[0]!.reason).toContain("out of range");
  client.socket.end();
  upstream.listener.stop(true);
});

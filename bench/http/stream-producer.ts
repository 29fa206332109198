// The bench's streaming-produce client: one HTTP/2 request (node:http2, h2c) whose body is
// newline-delimited JSON records sent as fast as the stream's flow control allows, while the
// answers (one line per record, in order) are read back. Latency of a record: from the moment its
// chunk was written to the moment its answer line arrived.

import { connect } from "node:http2";
import { performance } from "node:perf_hooks";

export interface StreamProduceResult {
  records: number;
  seconds: number;
  recordsPerSecond: number;
  latenciesUs: number[];
  errors: number;
}

export async function streamProduce(url: string, path: string, recordLine: string, durationMs: number, chunkRecords = 64): Promise<StreamProduceResult> {
  const session = connect(url);
  session.on("error", () => {});
  const request = session.request({ ":method": "POST", ":path": path, "content-type": "application/x-ndjson" });
  const chunk = Buffer.from((recordLine + "\n").repeat(chunkRecords));
  const sentAt: number[] = [];
  const latenciesUs: number[] = [];
  let answered = 0;
  let errors = 0;
  let partial = "";
  const start = performance.now();
  const finished = new Promise<void>((resolve, reject) => {
    request.setEncoding("utf8");
    request.on("data", (text: string) => {
      const now = performance.now();
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{"error_code":200')) errors++;
        const chunkIndex = Math.floor(answered / chunkRecords);
        latenciesUs.push(Math.round((now - sentAt[chunkIndex]!) * 1000));
        answered++;
      }
    });
    request.on("end", resolve);
    request.on("error", reject);
  });
  // Write until the duration is over, respecting the stream's flow control.
  while (performance.now() - start < durationMs) {
    sentAt.push(performance.now());
    if (!request.write(chunk)) await new Promise<void>((resolve) => request.once("drain", resolve));
  }
  request.end();
  await finished;
  const seconds = (performance.now() - start) / 1000;
  session.close();
  return { records: answered, seconds, recordsPerSecond: answered / seconds, latenciesUs, errors };
}

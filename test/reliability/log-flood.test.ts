// Item 10 of issue 8, the log side: a client that sends bad frames, or a flood of them, must not be
// able to flood the broker's log. A bad connection's close is logged at DEBUG (it was INFO, one line
// per connection); refusals by the connection limits once per state change.

import { expect, test } from "bun:test";
import { RawConnection } from "../helpers/raw-wire.ts";
import { startBroker } from "../helpers/broker.ts";

test("100 connections with bad frames: closed, and not one log line each at INFO", async () => {
  const broker = await startBroker({ env: { RUNNEL_LOG_LEVEL: "info" }, set: { "max.connections.per.ip": 60 } });
  try {
    const bad = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]); // a 2 GiB frame size
    const attempts = await Promise.allSettled(Array.from({ length: 100 }, () => RawConnection.connect(broker.bootstrap)));
    const opened = attempts.flatMap((attempt) => (attempt.status === "fulfilled" ? [attempt.value] : []));
    for (const connection of opened) void connection.send(bad).catch(() => {}); // refused ones are closed already
    // Every one is closed by the broker (the bad frame, or the per-IP limit of 60).
    expect(await Promise.all(opened.map((connection) => connection.waitClosed()))).toEqual(opened.map(() => true));
    expect(opened.every((connection) => connection.isClosed)).toBe(true);
    expect(await broker.shutdown()).toBe(0);
    const lines = broker.lastStderr.split("\n");
    expect(lines.filter((line) => line.includes("closing connection"))).toEqual([]);
    // The 40 refused by max.connections.per.ip: one line when the limit is reached, one when it clears.
    expect(lines.filter((line) => line.includes("max.connections.per.ip (60)")).length).toBe(1);
    expect(lines.length).toBeLessThan(30);
  } finally {
    await broker.stop();
  }
}, 30_000);

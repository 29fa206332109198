// What the figures were measured on: they mean nothing without the machine and the date.

import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface MachineInfo {
  cpus: number;
  model: string;
  memoryGiB: number;
  kernel: string;
  bun: string;
  date: string;
  loadAverage: string;
}

export function machineInfo(): MachineInfo {
  let kernel = "unknown";
  let loadAverage = "unknown";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    loadAverage = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    // Not Linux: leave unknown.
  }
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    bun: Bun.version,
    date: new Date().toISOString(),
    loadAverage,
  };
}

export function machineMarkdown(info: MachineInfo): string {
  return [
    `- Date: ${info.date}`,
    `- Machine: ${info.cpus} CPUs (nproc), ${info.model}, ${info.memoryGiB} GiB memory, Linux ${info.kernel}`,
    `- Bun ${info.bun}; load average at start ${info.loadAverage}`,
  ].join("\n") + "\n";
}

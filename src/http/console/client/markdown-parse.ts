// The subset of Markdown the benchmark reports use (bench/results/*.md, written by bench/): headings,
// paragraphs, bullet lists, pipe tables, images and inline code, bold and links, parsed into blocks
// and spans. Pure (tested under Bun); markdown.ts draws them.

export type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "table"; header: string[]; rows: string[][] }
  | { kind: "image"; alt: string; src: string };

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

export function parseMarkdown(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const image = /^!\[([^\]]*)\]\(([^)\s]+)\)\s*$/.exec(line.trim());
    if (line.trim() === "") {
      index++;
    } else if (heading) {
      blocks.push({ kind: "heading", level: heading[1]!.length, text: heading[2]! });
      index++;
    } else if (image) {
      blocks.push({ kind: "image", alt: image[1]!, src: image[2]! });
      index++;
    } else if (line.trimStart().startsWith("|") && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[index + 1] ?? "")) {
      const header = cells(line);
      const rows: string[][] = [];
      index += 2;
      while (index < lines.length && lines[index]!.trimStart().startsWith("|")) rows.push(cells(lines[index++]!));
      blocks.push({ kind: "table", header, rows });
    } else if (/^\s*[-*]\s+/.test(line)) {
      const items: string[] = [];
      while (index < lines.length && /^\s*[-*]\s+/.test(lines[index]!)) {
        let item = lines[index++]!.replace(/^\s*[-*]\s+/, "");
        while (index < lines.length && /^\s{2,}\S/.test(lines[index]!) && !/^\s*[-*]\s+/.test(lines[index]!)) item += ` ${lines[index++]!.trim()}`;
        items.push(item);
      }
      blocks.push({ kind: "list", items });
    } else {
      const parts: string[] = [];
      while (index < lines.length && lines[index]!.trim() !== "" && !/^(#{1,6}\s|\s*[-*]\s|\s*\||!\[)/.test(lines[index]!)) parts.push(lines[index++]!.trim());
      if (parts.length === 0) parts.push(lines[index++]!.trim());
      blocks.push({ kind: "paragraph", text: parts.join(" ") });
    }
  }
  return blocks;
}

/** Inline spans: `code`, **bold**, [text](link); the rest is text. */
export function parseInline(text: string): ({ kind: "text" | "code" | "bold"; text: string } | { kind: "link"; text: string; href: string })[] {
  const spans: ReturnType<typeof parseInline> = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index! > last) spans.push({ kind: "text", text: text.slice(last, match.index) });
    if (match[1] !== undefined) spans.push({ kind: "code", text: match[1] });
    else if (match[2] !== undefined) spans.push({ kind: "bold", text: match[2] });
    else spans.push({ kind: "link", text: match[3]!, href: match[4]! });
    last = match.index! + match[0].length;
  }
  if (last < text.length) spans.push({ kind: "text", text: text.slice(last) });
  return spans;
}


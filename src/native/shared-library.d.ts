// `import path from "./x.so" with { type: "file" }` yields the file's path (see embedded.ts).
declare module "*.so" {
  const path: string;
  export default path;
}

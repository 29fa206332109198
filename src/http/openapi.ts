// The OpenAPI 3.1 description of the HTTP API, built from the same route list that registers the
// routes (routing.ts), so that it cannot omit or invent a route. Served at GET /openapi.json.
// Bodies are described by media type with the error shape shared by every route; the field-level
// shapes are documented in docs/http-api.md.

import type { RouteSpec } from "./routing.ts";

const errorSchema = {
  type: "object",
  required: ["error_code", "message"],
  properties: { error_code: { type: "integer" }, message: { type: "string" } },
};

function operation(spec: RouteSpec) {
  const pathParameters = [...spec.path.matchAll(/\{([a-z_]+)\}/g)].map((match) => ({
    name: match[1]!, in: "path", required: true, schema: { type: /_id$/.test(match[1]!) && match[1] !== "cluster_id" && match[1] !== "consumer_group_id" ? "integer" : "string" },
  }));
  const queryParameters = (spec.query ?? []).map((parameter) => ({
    name: parameter.name, in: "query", required: false, description: parameter.description, schema: { type: parameter.type ?? "string" },
  }));
  const responseTypes = spec.responseTypes ?? ["application/json", "application/cbor"];
  const status = String(spec.status ?? 200);
  const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } }, "application/cbor": { schema: { $ref: "#/components/schemas/Error" } } };
  return {
    summary: spec.summary,
    tags: [spec.tag],
    operationId: `${spec.method.toLowerCase()}${spec.path.replace(/[{}:]/g, "").replace(/[^a-zA-Z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? "").toUpperCase())}`,
    parameters: [...pathParameters, ...queryParameters],
    ...(spec.requestTypes ? { requestBody: { required: true, content: Object.fromEntries(spec.requestTypes.map((type) => [type, {}])) } } : {}),
    responses: {
      [status]: status === "204" ? { description: "Done, no content." } : { description: "Success.", content: Object.fromEntries(responseTypes.map((type) => [type, {}])) },
      "4XX": { description: "Bad input: REST Proxy-style error.", content: errorContent },
      "5XX": { description: "Broker error.", content: errorContent },
    },
  };
}

export function openApiDocument(specs: readonly RouteSpec[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    if (spec.hidden) continue;
    paths[spec.path] ??= {};
    paths[spec.path]![spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Runnel HTTP API",
      version,
      description: "Produce, consume, stream and administer a Runnel broker over HTTP/1.1 and HTTP/2, shaped on Confluent REST Proxy (v3 admin and produce, v2 consumer instances). See docs/http-api.md.",
    },
    paths,
    components: { schemas: { Error: errorSchema } },
  };
}

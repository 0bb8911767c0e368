// An MCP client written by someone else: the official TypeScript SDK drives article-mcp
// through one article's whole life and prints what it saw as one JSON object on stdout.
//
//   node client.mjs stdio <command> [args...]      (environment passed through)
//   node client.mjs http <url> [token]
//   node client.mjs sse <url> [token]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

function transportFor(kind, rest) {
  if (kind === "stdio") {
    const [command, ...args] = rest;
    return new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
  }
  const [url, token] = rest;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (kind === "http") {
    return new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  }
  return new SSEClientTransport(new URL(url), {
    requestInit: { headers },
    eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) },
  });
}

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) {
    return { isError: true, text: result.content.map((c) => c.text).join("\n") };
  }
  return result.structuredContent;
}

async function main() {
  const [kind, ...rest] = process.argv.slice(2);
  const client = new Client({ name: "typescript-sdk-e2e", version: "1.0.0" });
  await client.connect(transportFor(kind, rest));
  const seen = { server: client.getServerVersion(), protocol: client.transport?.protocolVersion ?? null };

  const tools = await client.listTools();
  seen.tools = tools.tools.map((t) => ({
    name: t.name,
    hasOutputSchema: Boolean(t.outputSchema),
    annotations: t.annotations ?? null,
  }));

  const title = `TypeScript client ${kind} Überblick`;
  seen.created = await call(client, "create_article", {
    title,
    content: "# Intro\n\nWritten by the TypeScript SDK about zebras and quokkas.",
    folder: "e2e/ts",
    tags: ["typescript", kind],
  });
  const slug = seen.created.slug;
  seen.read = await call(client, "get_article", { slug });
  seen.updated = await call(client, "update_article", {
    slug,
    content: "# Intro\n\nRewritten by the TypeScript SDK: now about narwhals.",
  });
  seen.listed = await call(client, "list_articles", { folder: "e2e" });
  seen.searched = await call(client, "search_articles", { query: "narwhals" });
  seen.badInput = await call(client, "create_article", { title: "", content: "x" });
  seen.resources = (await client.listResources()).resources.map((r) => r.uri);
  const resource = await client.readResource({ uri: seen.resources[0] });
  seen.resourceText = resource.contents[0].text;
  seen.deleted = await call(client, "delete_article", { slug });
  seen.afterDelete = await call(client, "get_article", { slug });

  await client.close();
  process.stdout.write(JSON.stringify(seen) + "\n");
}

main().catch((error) => {
  process.stderr.write(`client failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});

// The anchor of bench/panels.py: an atlassian-connect-express app whose panel route answers a
// fixed string after ACE's own Connect JWT check (addon.authenticate()), one process per CPU
// as `okrlink web` runs one worker per CPU. Tenants live in memory: the bench installs one.
// Usage: node app.js PORT CLIENT_KEY SHARED_SECRET PATH WORKERS
"use strict";
const cluster = require("node:cluster");
const [port, clientKey, sharedSecret, path, workers] = process.argv.slice(2);

if (cluster.isPrimary) {
  for (let n = 0; n < Number(workers || 2); n += 1) cluster.fork();
  cluster.on("exit", () => process.exit(1));
} else {
  const express = require("express");
  const ace = require("atlassian-connect-express");

  class MemoryStore {
    constructor() {
      this.data = new Map();
    }
    async get(key, client) {
      return this.data.get(`${client}/${key}`) ?? null;
    }
    async set(key, value, client) {
      this.data.set(`${client}/${key}`, value);
      return value;
    }
    async del(key, client) {
      this.data.delete(`${client}/${key}`);
    }
    async getAllClientInfos() {
      return [...this.data.entries()].filter(([k]) => k.endsWith("/clientInfo")).map(([, v]) => v);
    }
    isMemoryStore() {
      return true;
    }
  }
  ace.store.register("bench-memory", () => new MemoryStore());

  const app = express();
  app.set("env", "production");
  // As ACE's template app: it reads the token from the query or from a parsed form body.
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  const addon = ace(app, {
    config: {
      production: {
        port: Number(port),
        localBaseUrl: "https://okrlink.bench",
        store: { adapter: "bench-memory" },
        expressErrorHandling: false,
        errorTemplate: false,
        whitelist: ["*.atlassian.net"],
        product: "confluence",
      },
    },
  });
  addon.settings.set(
    "clientInfo",
    { key: "okrlink-bench", clientKey, sharedSecret, baseUrl: "https://bench.atlassian.net/wiki", productType: "confluence" },
    clientKey,
  );
  app.get(path, addon.authenticate(), (_req, res) => res.type("text/plain").send("ok"));
  app.listen(Number(port), "127.0.0.1");
}

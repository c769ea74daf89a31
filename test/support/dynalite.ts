// Runs dynalite (a DynamoDB-compatible server) in-process on a free loopback port, for DynamoDB adapter tests.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Dynalite {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** A client for the server with dummy credentials and no SDK retries (tests see every failure). */
  client(): DynamoDBClient;
  /** A fresh table name, unique within the server (dynalite needs at least 3 characters). */
  tableName(prefix?: string): string;
  /** Closes the server and every client made by client(); safe to call twice. */
  stop(): Promise<void>;
}

type DynaliteFactory = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

const require = createRequire(import.meta.url);

export async function startDynalite(): Promise<Dynalite> {
  // dynalite ships no types; its module exports the factory.
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  let tables = 0;
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    client() {
      const client = new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    tableName(prefix = 'control') {
      return `${prefix}-${++tables}-${randomBytes(3).toString('hex')}`;
    },
    stop() {
      stopped ??= (async () => {
        for (const client of clients) client.destroy();
        server.closeAllConnections?.();
        await new Promise<void>((done) => server.close(() => done()));
      })();
      return stopped;
    },
  };
}

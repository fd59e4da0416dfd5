// The bench's HTTP clients, in a process of their own so that their work (building requests, reading
// bodies) does not share an event loop with the server they measure. Input on stdin (it holds bearer
// tokens, which do not belong in a command line), result on stdout, both JSON. Each client sends the next
// request of the mix as soon as its last one has been answered, for the whole duration.

import { text } from 'node:stream/consumers';

export interface ClientRequest {
  name: string;
  path: string;
  token: string;
  body?: string;
}

export interface ClientsInput {
  base: string;
  clients: number;
  durationMs: number;
  mix: ClientRequest[];
}

export interface ClientsOutput {
  /** Per request name: latencies in ms. */
  latencies: Record<string, number[]>;
  failures: Record<string, number>;
}

async function run(input: ClientsInput): Promise<ClientsOutput> {
  const latencies: Record<string, number[]> = {};
  const failures: Record<string, number> = {};
  const until = performance.now() + input.durationMs;
  await Promise.all(
    Array.from({ length: input.clients }, async (_, client) => {
      for (let i = client; performance.now() < until; i++) {
        const request = input.mix[i % input.mix.length]!;
        const started = performance.now();
        const response = await fetch(`${input.base}${request.path}`, {
          method: request.body ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${request.token}`, ...(request.body ? { 'content-type': 'application/json' } : {}) },
          ...(request.body ? { body: request.body } : {}),
        });
        await response.arrayBuffer();
        const ms = performance.now() - started;
        if (response.status !== 200) failures[request.name] = (failures[request.name] ?? 0) + 1;
        else (latencies[request.name] ??= []).push(ms);
      }
    }),
  );
  return { latencies, failures };
}

process.stdout.write(JSON.stringify(await run(JSON.parse(await text(process.stdin)) as ClientsInput)));

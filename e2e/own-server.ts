/**
 * This tree's e2e/serve.mjs on a port of the spec's own (its /isolated/ paths included): Playwright's shared
 * webServer may be one it reused (reuseExistingServer), started from an older checkout.
 */
import { spawn } from 'node:child_process';

export async function ownServer(port: number): Promise<{ origin: string; close: () => void }> {
  const child = spawn(process.execPath, ['e2e/serve.mjs', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((listening, failed) => {
    child.stdout!.once('data', listening);
    child.once('exit', (code) => failed(new Error(`e2e/serve.mjs ${port} exited with ${code}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

// Starts `rathaus demo` on free ports with a fresh data directory, reads the printed URLs, and
// stops it again. The binary comes from RATHAUS_BIN (default target/debug/rathaus, relative to the
// repository root) and runs with the repository root as its working directory, so it finds web/.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const START_TIMEOUT_MS = 60_000;

/**
 * @returns {Promise<{portal: string, nodes: Record<string, string>, stop: () => Promise<void>}>}
 *   portal and node URLs without a trailing slash.
 */
export async function startDemo() {
  const bin = path.resolve(REPO_ROOT, process.env.RATHAUS_BIN || path.join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'rathaus'));
  if (!existsSync(bin)) {
    throw new Error(`rathaus binary not found at ${bin} (build it with 'cargo build -p rathaus' or set RATHAUS_BIN)`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rathaus-browser-'));
  const args = ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  const catalogue = '../shared/fixtures/leika/leistungen.csv';
  if (existsSync(path.resolve(REPO_ROOT, catalogue))) args.push('--catalogue', catalogue);

  const child = spawn(bin, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, RATHAUS_LOG: process.env.RATHAUS_LOG || 'warn', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // Never leave the demo behind, even when the test process ends abruptly.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (err) {
      console.error(`could not remove ${dataDir}: ${err.message}`);
    }
  };

  exited.then(({ code, signal }) => {
    if (!stopped) console.error(`rathaus demo ended unexpectedly (code ${code}, signal ${signal})\n${stderr}`);
  });

  try {
    const urls = await readUrls(child, exited, () => stderr);
    return { ...urls, dataDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readUrls(child, exited, stderr) {
  return new Promise((resolve, reject) => {
    let portal = null;
    const nodes = {};
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`rathaus demo printed no URLs within ${START_TIMEOUT_MS / 1000} s\n${stderr()}`)),
      START_TIMEOUT_MS,
    );
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`rathaus demo ended early (code ${code}, signal ${signal})\n${stderr()}`));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        let m;
        if ((m = /^Portal:\s+(http\S+?)\/?$/.exec(line))) {
          portal = m[1];
        } else if ((m = /^Authority node (\S+):\s+(http\S+?)\/?$/.exec(line))) {
          nodes[m[1]] = m[2];
        } else if (/^API:/.test(line)) {
          clearTimeout(timer);
          if (!portal || Object.keys(nodes).length === 0) {
            reject(new Error(`could not read the portal and node URLs from rathaus demo's output`));
          } else {
            resolve({ portal, nodes });
          }
        }
      }
    });
    // The handler above stays attached, so stdout is drained and the child never blocks on it.
  });
}

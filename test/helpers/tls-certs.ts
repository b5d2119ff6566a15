import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a server certificate it signed, as files in one temp dir. */
export interface TlsFiles {
  readonly dir: string;
  /** The CA certificate (PEM): what a client must trust. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA certificate's text, for ioredis `tls: { ca }`. */
  readonly ca: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync(process.env.OPENSSL || 'openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates, with `openssl`, a CA and a server certificate for 127.0.0.1 and localhost
 * (SAN IP and DNS: Node checks the name against the SAN, not the CN). A fresh CA per
 * call, so a test can make a second, untrusted one. removeTls() deletes the dir.
 */
export function makeTlsFiles(name = 'verk-test'): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'verk-tls-'));
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth, clientAuth\n');
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  const caFile = join(dir, 'ca.crt');
  return { dir, caFile, certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), ca: readFileSync(caFile, 'utf8') };
}

export function removeTls(files: TlsFiles | undefined): void {
  if (files) rmSync(files.dir, { recursive: true, force: true });
}

/** redis-server's arguments for a TLS-only server (no plain port): a client that drops TLS cannot connect. */
export function tlsServerArgs(files: TlsFiles, port: number): string[] {
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--tls-ca-cert-file', files.caFile, '--tls-auth-clients', 'no'];
}

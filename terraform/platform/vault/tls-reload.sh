#!/bin/sh
# tls-reload.sh: make Vault pick up its renewed listener certificate.
#
# Vault reads tls_cert_file/tls_key_file when it starts and again only on SIGHUP (Vault docs,
# configuration/listener/tcp marks both "reloads-on-SIGHUP"; OpenBao alike, which
# tools/wd-secrets/tests/vault_tls.rs checks on a real server). cert-manager renews the
# certificate into a Secret; kubelet updates the Secret volume by writing a new timestamped
# directory and swapping the `..data` symlink (tls.crt -> ..data/tls.crt). This loop hashes
# tls.crt + tls.key read through one `..data` target (one consistent snapshot) and, when the hash
# changes, sends SIGHUP to the process named `vault`, found the way the vault-helm chart's own
# preStop finds it (`pidof vault`).
#
# Runs as a sidecar in the Vault pod from the vault image (alpine: busybox sh, sha256sum, pidof),
# with shareProcessNamespace: true, as Vault's uid (signalling a process of one's own uid needs no
# capability), on a read-only root filesystem (it writes nothing).
#
# Environment:
#   TLS_RELOAD_DIR       the mounted Secret (default /vault/tls)
#   TLS_RELOAD_INTERVAL  seconds between checks (default 30: kubelet refreshes a Secret volume
#                        only every sync period, 1 min by default, plus its cache TTL, and
#                        cert-manager renews at 2/3 of a certificate's life, so 30 s adds little
#                        delay for two small reads per check)
#   TLS_RELOAD_PROCESS   the process to signal (default vault)
# Logs one line per reload (the certificate's sha256, never key material). A file missing during
# a swap, or no Vault process (it restarts), is retried at the next check; only a bad
# TLS_RELOAD_INTERVAL makes it exit (2).

dir=${TLS_RELOAD_DIR:-/vault/tls}
interval=${TLS_RELOAD_INTERVAL:-30}
name=${TLS_RELOAD_PROCESS:-vault}

case $interval in
  '' | *[!0-9]* | 0)
    echo "tls-reload: TLS_RELOAD_INTERVAL=$interval: want whole seconds, at least 1" >&2
    exit 2
    ;;
esac

log() { echo "tls-reload: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }

# "<sha256>  tls.crt" and "<sha256>  tls.key", read through the current `..data` target when
# kubelet laid the directory out (else the files themselves); fails while a file is missing.
digest() (
  cd "$dir" || exit 1
  if target=$(readlink ..data 2>/dev/null); then
    cd "$target" || exit 1
  fi
  sha256sum tls.crt tls.key 2>/dev/null
)

last=$(digest) || last=
log "watching $dir/tls.crt and tls.key every ${interval}s; SIGHUP to '$name' on a change"
while :; do
  sleep "$interval"
  current=$(digest) || continue
  [ "$current" = "$last" ] && continue
  if ! pids=$(pidof "$name"); then
    log "certificate changed but no process '$name' runs; retrying"
    continue
  fi
  # shellcheck disable=SC2086 # one word per pid
  if kill -HUP $pids; then
    last=$current
    log "reloaded: SIGHUP to '$name' (pid $pids); tls.crt sha256 ${current%% *}"
  else
    log "certificate changed but '$name' (pid $pids) could not be signalled; retrying"
  fi
done

#!/usr/bin/env bash
# Extra engines on this machine's loopback, for connection tests and manual tries:
#
#   scripts/test-engines.sh up DIR        # TLS dockerd + sshd; writes DIR/env
#   scripts/test-engines.sh restart DIR   # restart the TLS dockerd (same port, same certs)
#   scripts/test-engines.sh down DIR      # stop both, remove the bridge and DIR
#
# What `up` makes (DIR should be short: a unix socket path must fit in 108 bytes):
#   DIR/certs/      ca.pem, cert.pem, key.pem (a client's DOCKER_CERT_PATH) + server-*.pem
#   DIR/wrong-ca/   the right client cert but a CA that did not sign the server
#   DIR/other-client/  the right CA but a client cert from another CA
#   DIR/tls/        a second dockerd: its own data/exec root, pidfile, daemon.json, and
#                   -H unix://DIR/tls/docker.sock -H tcp://127.0.0.1:$TLS_PORT --tlsverify,
#                   on its own bridge dockui-tls0 (never --bridge=none: that deletes the
#                   main engine's docker0), with no iptables/masquerade changes
#   DIR/ssh/        an sshd on 127.0.0.1:$SSH_PORT (own host key, config, pidfile, no
#                   PAM) letting `root` in with DIR/ssh/client_key, plus bad_key
#   DIR/bin/ssh     `ssh -F DIR/ssh/ssh_config "$@"`: put DIR/bin first on PATH and
#                   ssh://root@127.0.0.1:$SSH_PORT works with the generated keys
#   DIR/bin-badkey/ssh  the same with a key the server does not know
#   DIR/bin-second/ssh  the same with a key whose sessions get DOCKER_HOST=the TLS
#                   engine's unix socket: ssh:// to an engine that `restart` restarts
#   DIR/env         KEY=VALUE lines describing all of the above
# The ssh side runs `docker system dial-stdio` as root, i.e. it reaches the main engine
# (/var/run/docker.sock), or the TLS engine through bin-second. Missing tools (openssl,
# sshd, ssh, ip) are installed with apt-get.
set -euo pipefail

cmd="${1:-}"
DIR="${2:-}"
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: $0 up|restart|down DIR" >&2; exit 2; }
BRIDGE="${DOCKUI_TLS_BRIDGE:-dockui-tls0}"
BRIDGE_CIDR="${DOCKUI_TLS_BRIDGE_CIDR:-172.31.251.1/24}"
DOCKER_BIN=/usr/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker || true)

say() { printf 'test-engines: %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

need_tools() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  command -v ip >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

make_certs() {
  local c="$DIR/certs" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$c" "$DIR/wrong-ca" "$DIR/other-client"
  (
    cd "$c"
    openssl req -x509 "${ec[@]}" -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=dockui-test-ca
    openssl req "${ec[@]}" -keyout server-key.pem -out server.csr -subj /CN=localhost
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -out server-cert.pem -days 2 -extfile server.ext
    openssl req "${ec[@]}" -keyout key.pem -out client.csr -subj /CN=dockui-client
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -out cert.pem -days 2 -extfile client.ext
    # A second CA: signs nothing the engine knows.
    openssl req -x509 "${ec[@]}" -keyout other-ca-key.pem -out other-ca.pem -days 2 \
      -subj /CN=dockui-other-ca
    openssl req "${ec[@]}" -keyout other-key.pem -out other.csr -subj /CN=dockui-stranger
    openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca-key.pem \
      -CAcreateserial -out other-cert.pem -days 2 -extfile client.ext
  ) >/dev/null 2>&1
  cp "$c/other-ca.pem" "$DIR/wrong-ca/ca.pem"
  cp "$c/cert.pem" "$c/key.pem" "$DIR/wrong-ca/"
  cp "$c/ca.pem" "$DIR/other-client/ca.pem"
  cp "$c/other-cert.pem" "$DIR/other-client/cert.pem"
  cp "$c/other-key.pem" "$DIR/other-client/key.pem"
}

tls_answers() {
  DOCKER_API_VERSION=1.41 timeout 5 "$DOCKER_BIN" -H "unix://$DIR/tls/docker.sock" \
    version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_dockerd() {
  local t="$DIR/tls" port
  port=$(sed -n 's/^TLS_PORT=//p' "$DIR/env")
  mkdir -p "$t/data" "$t/exec"
  [ -f "$t/daemon.json" ] || echo '{}' >"$t/daemon.json"  # never /etc/docker/daemon.json
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  case "$(ip -o addr show dev "$BRIDGE")" in
    *" ${BRIDGE_CIDR%/*}/"*) ;;
    *) ip addr add "$BRIDGE_CIDR" dev "$BRIDGE" ;;
  esac
  ip link set "$BRIDGE" up
  nohup /usr/sbin/dockerd \
    --config-file "$t/daemon.json" \
    --data-root "$t/data" --exec-root "$t/exec" --pidfile "$t/docker.pid" \
    -H "unix://$t/docker.sock" -H "tcp://127.0.0.1:$port" \
    --tlsverify --tlscacert "$DIR/certs/ca.pem" \
    --tlscert "$DIR/certs/server-cert.pem" --tlskey "$DIR/certs/server-key.pem" \
    --bridge="$BRIDGE" --iptables=false --ip-masq=false --ip-forward=false \
    --shutdown-timeout 2 --log-level warn \
    >>"$t/dockerd.log" 2>&1 &
  echo $! >"$t/dockerd.launch.pid"
  for _ in $(seq 1 150); do
    tls_answers && return 0
    if ! kill -0 "$(cat "$t/dockerd.launch.pid")" 2>/dev/null; then
      say "the TLS dockerd exited; its log:"; tail -20 "$t/dockerd.log" >&2; return 1
    fi
    sleep 0.2
  done
  say "the TLS dockerd did not answer within 30 s"; return 1
}

stop_dockerd() {
  local t="$DIR/tls" pid="" cpid=""
  [ -d "$t" ] || return 0
  if tls_answers; then  # remove its containers first: a clean stop is then instant
    local ids
    ids=$(DOCKER_API_VERSION=1.41 "$DOCKER_BIN" -H "unix://$t/docker.sock" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || DOCKER_API_VERSION=1.41 "$DOCKER_BIN" -H "unix://$t/docker.sock" \
      rm -f $ids >/dev/null 2>&1 || true
  fi
  [ -f "$t/dockerd.launch.pid" ] && pid=$(cat "$t/dockerd.launch.pid")
  [ -f "$t/exec/containerd/containerd.pid" ] && cpid=$(cat "$t/exec/containerd/containerd.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # dockerd stops the containerd it started; if dockerd died hard, end that one too.
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
    kill "$cpid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$cpid" 2>/dev/null || true
  fi
  rm -f "$t/dockerd.launch.pid"
}

start_sshd() {
  local s="$DIR/ssh" port
  port=$(sed -n 's/^SSH_PORT=//p' "$DIR/env")
  mkdir -p "$s" "$DIR/bin" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -C dockui-test-host -f "$s/host_key"
  ssh-keygen -q -t ed25519 -N '' -C dockui-test-client -f "$s/client_key"
  ssh-keygen -q -t ed25519 -N '' -C dockui-test-stranger -f "$s/bad_key"
  ssh-keygen -q -t ed25519 -N '' -C dockui-test-second -f "$s/second_key"
  # client_key: root's own environment (the main engine). second_key: the same root, but
  # its `docker` talks to the TLS engine's unix socket (an engine tests may restart).
  {
    cat "$s/client_key.pub"
    printf 'environment="DOCKER_HOST=unix://%s/tls/docker.sock" %s\n' "$DIR" "$(cat "$s/second_key.pub")"
  } >"$s/authorized_keys"
  cat >"$s/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $s/host_key
PidFile $s/sshd.pid
AuthorizedKeysFile $s/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PermitUserEnvironment DOCKER_HOST
PrintLastLog no
UseDNS no
MaxStartups 100
MaxSessions 100
EOF
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$s/host_key.pub")" >"$s/known_hosts"
  local ssh_bin
  ssh_bin=$(command -v ssh)
  for name in ssh_config:client_key ssh_config_badkey:bad_key ssh_config_second:second_key; do
    cat >"$s/${name%%:*}" <<EOF
Host *
  IdentityFile $s/${name##*:}
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $s/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
  done
  local pair
  for pair in bin:ssh_config bin-badkey:ssh_config_badkey bin-second:ssh_config_second; do
    mkdir -p "$DIR/${pair%%:*}"
    printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$ssh_bin" "$s/${pair##*:}" >"$DIR/${pair%%:*}/ssh"
    chmod +x "$DIR/${pair%%:*}/ssh"
  done
  /usr/sbin/sshd -f "$s/sshd_config" -E "$s/sshd.log"
  for _ in $(seq 1 100); do
    python3 - "$port" <<'PY' 2>/dev/null && return 0
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
PY
    sleep 0.05
  done
  say "sshd did not listen; its log:"; cat "$s/sshd.log" >&2 || true; return 1
}

stop_sshd() {
  local pidf="$DIR/ssh/sshd.pid" pid
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidf"
}

case "$cmd" in
  up)
    need_tools
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    [ ${#DIR} -le 60 ] || { say "DIR is too long for a unix socket path: $DIR"; exit 2; }
    make_certs
    cat >"$DIR/env" <<EOF
DIR=$DIR
TLS_PORT=$(free_port)
TLS_SOCK=unix://$DIR/tls/docker.sock
CERTS=$DIR/certs
WRONG_CA=$DIR/wrong-ca
OTHER_CLIENT=$DIR/other-client
SSH_PORT=$(free_port)
SSH_BIN=$DIR/bin
SSH_BIN_BADKEY=$DIR/bin-badkey
SSH_BIN_SECOND=$DIR/bin-second
BRIDGE=$BRIDGE
EOF
    start_dockerd
    start_sshd
    cat "$DIR/env"
    ;;
  restart)
    stop_dockerd
    start_dockerd
    ;;
  down)
    [ -d "$DIR" ] || exit 0
    DIR=$(cd "$DIR" && pwd)
    stop_sshd
    stop_dockerd
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" || true; fi
    # Anything the engine left mounted under DIR goes before DIR does.
    { grep -o " $DIR/[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 up|restart|down DIR" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Run the stress checker against a private Dovecot instance: the reference that must
# give 0 violations. Installs Debian's dovecot-imapd when missing (needs root), starts
# Dovecot on 127.0.0.1 with a temporary config (maildir in a temp dir, passwd-file
# users u1..uN with password "pw", plaintext LOGIN allowed, a plain and an implicit-TLS
# listener with the test certificate), runs imapstress.py, stops Dovecot.
#
#   tests/stress/dovecot.sh                 # plaintext, 50 clients, 5 users, 20 s
#   tests/stress/dovecot.sh --tls           # the same over implicit TLS
#   tests/stress/dovecot.sh -- --seconds 60 --clients 80 --seed 7   # checker options
#   KEEP=1 tests/stress/dovecot.sh          # keep the temp dir (config, log, maildirs)
#
# The exit status is the checker's (1 when it found violations).
#
# NOTIFY stays off here (--notify-share 0, unless given after --): the checker's NOTIFY
# clients ask for events of other mailboxes only, and Dovecot, reading RFC 5465 §3.1
# literally, then stops telling them anything about the selected mailbox (no EXISTS even
# at NOOP), which the RFC 3501 model reports. uimapd keeps those updates (see
# docs/extensions.md, NOTIFY).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TLS=""
USERS=5
while [ $# -gt 0 ]; do
	case "$1" in
	--tls) TLS=--tls; shift ;;
	--users) USERS=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 [--tls] [--users N] [-- imapstress options]" >&2; exit 2 ;;
	esac
done

if ! command -v dovecot >/dev/null 2>&1 || [ ! -e /usr/lib/dovecot/imap ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "dovecot-imapd is not installed and we are not root" >&2
		exit 2
	fi
	echo "== installing dovecot-imapd"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends dovecot-imapd >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends dovecot-imapd >/dev/null; }
fi

DIR="$(mktemp -d /tmp/imapstress-dovecot.XXXXXX)"
chmod 755 "$DIR"   # the auth process runs as the dovecot user
CONF="$DIR/dovecot.conf"
cleanup() {
	if [ -f "$DIR/run/master.pid" ]; then
		pid="$(cat "$DIR/run/master.pid")"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

read -r PORT TLSPORT < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

mkdir -p "$DIR/run" "$DIR/state" "$DIR/mail" "$DIR/home"
# Dovecot refuses mail access as root: the mail belongs to "nobody"
MAILUID="$(id -u nobody)"
MAILGID="$(id -g nobody)"
chown "$MAILUID:$MAILGID" "$DIR/mail" "$DIR/home"
for i in $(seq 1 "$USERS"); do echo "u$i:{PLAIN}pw"; done >"$DIR/passwd"
chmod 644 "$DIR/passwd"
DH=""
[ -f /usr/share/dovecot/dh.pem ] && DH="ssl_dh = </usr/share/dovecot/dh.pem"

cat >"$CONF" <<EOF
# private instance for the stress checker
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
info_log_path = $DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$REPO/tests/protocol/tls/cert-a.pem
ssl_key = <$REPO/tests/protocol/tls/key-a.pem
$DH
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:$DIR/mail/%u
mail_max_userip_connections = 1000
default_process_limit = 1000
default_client_limit = 4000
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DIR/passwd
}
userdb {
  driver = static
  args = uid=$MAILUID gid=$MAILGID home=$DIR/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $TLSPORT
    ssl = yes
  }
}
protocol imap {
  mail_max_userip_connections = 1000
}
EOF

dovecot -c "$CONF"
for _ in $(seq 100); do
	python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
	sleep 0.1
done
echo "== dovecot $(dovecot --version) on 127.0.0.1:$PORT (tls $TLSPORT), log $DIR/dovecot.log"

P=$PORT
[ -n "$TLS" ] && P=$TLSPORT
set +e
python3 "$HERE/imapstress.py" --host 127.0.0.1 --port "$P" $TLS --user-prefix u \
	--password pw --users "$USERS" --notify-share 0 "$@"
st=$?
set -e
if grep -qiE 'panic|fatal' "$DIR/dovecot.log"; then
	echo "== dovecot log has errors:"; grep -iE 'panic|fatal|error' "$DIR/dovecot.log" | tail -20
fi
exit $st

# Shared helpers for the perf/ scripts (sourced, not run).
# Every server started here is recorded in PERF_PIDS and stopped by perf_cleanup,
# which the calling script installs as its EXIT trap.

PERF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERF_BUILD=${PERF_BUILD:-$PERF_ROOT/build}
# PERF_BENCH: another uimap-bench binary (e.g. build-accel/perf/uimap-bench, whose
# wolfSSL client is cheaper, so that TLS runs load the server rather than the client)
BENCH=${PERF_BENCH:-$PERF_BUILD/perf/uimap-bench}
ECHO_SERVER=$PERF_BUILD/perf/echo-server
UIMAPD=${UIMAPD:-$PERF_BUILD/uimapd}
PERF_USER=${PERF_USER:-bench}
PERF_PASS=${PERF_PASS:-bench}
PERF_PIDS=()
PERF_TMP=""
# set by perf_make_cert: servers started afterwards also listen with TLS
PERF_TLS_CERT=""
PERF_TLS_KEY=""

perf_log() { echo "== $*" >&2; }

perf_die() { echo "error: $*" >&2; exit 1; }

# apt-get install the packages that are missing (quietly)
perf_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	perf_log "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null 2>&1 || perf_die "apt-get install ${missing[*]} failed"
	# Debian may start the system-wide service; we run our own private instances only
	if printf '%s\n' "${missing[@]}" | grep -q '^dovecot'; then
		systemctl stop dovecot >/dev/null 2>&1 || service dovecot stop >/dev/null 2>&1 || true
	fi
}

# build uimapd and the perf tools (configuring the build dir when needed)
perf_build() {
	if [ ! -f "$PERF_BUILD/build.ninja" ]; then
		perf_log "meson setup $PERF_BUILD"
		(cd "$PERF_ROOT" && meson setup "$PERF_BUILD" --buildtype=debugoptimized >/dev/null) || perf_die "meson setup failed"
	fi
	# perf/meson.build is picked up at configure time
	if [ ! -f "$PERF_BUILD/perf/uimap-bench" ] && ! grep -q uimap-bench "$PERF_BUILD/build.ninja"; then
		(cd "$PERF_ROOT" && meson setup --reconfigure "$PERF_BUILD" >/dev/null) || perf_die "meson reconfigure failed"
	fi
	ninja -C "$PERF_BUILD" uimapd perf/uimap-bench perf/echo-server >/dev/null ||
		perf_die "build failed (ninja -C $PERF_BUILD)"
}

# build BINARY (a path inside a meson build directory) when it is out of date
perf_build_bin() { # path
	local p d
	p=$(realpath -m "$1")
	d=$(dirname "$p")
	while [ "$d" != / ] && [ ! -f "$d/build.ninja" ]; do d=$(dirname "$d"); done
	if [ -f "$d/build.ninja" ]; then
		ninja -C "$d" "${p#"$d"/}" >/dev/null || perf_die "build failed (ninja -C $d ${p#"$d"/})"
	fi
	[ -x "$p" ] || perf_die "$1: not found"
}

perf_tmpdir() {
	PERF_TMP=$(mktemp -d /tmp/uimap-perf.XXXXXX)
	chmod 755 "$PERF_TMP"
}

PERF_INOTIFY_OLD=""
perf_raise_inotify() { # minimum fs.inotify.max_user_instances
	local cur
	cur=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null) || return 0
	if [ "$cur" -lt "$1" ] && echo "$1" >/proc/sys/fs/inotify/max_user_instances 2>/dev/null; then
		PERF_INOTIFY_OLD=$cur
		perf_log "fs.inotify.max_user_instances: $cur -> $1 (restored at exit)"
	fi
}

# stop one server started here (TERM, then KILL after 5 s) and forget it
perf_stop_pid() { # pid
	local pid=$1 p keep=()
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${PERF_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	PERF_PIDS=("${keep[@]}")
}

# a self-signed P-256 certificate for localhost in $PERF_TMP/tls: sets
# PERF_TLS_CERT and PERF_TLS_KEY (perf_start_uimapd/dovecot then add TLS)
perf_make_cert() {
	command -v openssl >/dev/null || perf_need_pkgs openssl
	mkdir -p "$PERF_TMP/tls"
	timeout 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PERF_TMP/tls/key.pem" -out "$PERF_TMP/tls/cert.pem" -days 30 \
		-subj /CN=localhost >/dev/null 2>&1 || perf_die "openssl req failed"
	chmod 644 "$PERF_TMP/tls/key.pem"
	PERF_TLS_CERT=$PERF_TMP/tls/cert.pem
	PERF_TLS_KEY=$PERF_TMP/tls/key.pem
}

perf_cleanup() {
	local pid
	for pid in "${PERF_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PERF_PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	PERF_PIDS=()
	if [ -n "$PERF_INOTIFY_OLD" ]; then
		echo "$PERF_INOTIFY_OLD" >/proc/sys/fs/inotify/max_user_instances 2>/dev/null || true
		PERF_INOTIFY_OLD=""
	fi
	if [ -n "$PERF_TMP" ] && [ -z "${PERF_KEEP_TMP:-}" ]; then
		rm -rf "$PERF_TMP"
	fi
}

# a free TCP port on 127.0.0.1
perf_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait until something accepts on 127.0.0.1:PORT (max SECS)
perf_wait_port() { # port secs
	local port=$1 secs=${2:-20} i
	for i in $(seq $((secs * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start uimapd on a free port: sets UIMAP_PORT, UIMAP_PID, and UIMAP_TLS_PORT
# (an implicit-TLS listener; STARTTLS on UIMAP_PORT too) after perf_make_cert.
# UIMAP_NAME (default uimap) names the data dir $PERF_TMP/NAME-data and the log
# $PERF_TMP/NAMEd.log, UIMAP_BIN the binary (default $UIMAPD).
perf_start_uimapd() { # extra args...
	local name=${UIMAP_NAME:-uimap} bin=${UIMAP_BIN:-$UIMAPD} tls=()
	local log=$PERF_TMP/${name}d.log
	UIMAP_PORT=$(perf_free_port)
	UIMAP_TLS_PORT=""
	if [ -n "$PERF_TLS_CERT" ]; then
		UIMAP_TLS_PORT=$(perf_free_port)
		tls=(--tls-listen "127.0.0.1:$UIMAP_TLS_PORT" --cert "$PERF_TLS_CERT" --key "$PERF_TLS_KEY")
	fi
	mkdir -p "$PERF_TMP/$name-data"
	echo "$PERF_USER:{PLAIN}$PERF_PASS" >"$PERF_TMP/uimap-passwd"
	# every bench connection comes from 127.0.0.1: no per-address login cap
	# (binaries from before the option have none)
	local cap=()
	# the help read whole first: "| grep -q" may close the pipe before uimapd wrote all
	# of it (over 4 KiB), and with pipefail its SIGPIPE would read as "no such option"
	local help
	help=$("$bin" --help 2>/dev/null || true)
	[[ $help == *--max-unauth-connections-per-ip* ]] &&
		cap=(--max-unauth-connections-per-ip 0)
	# benchmarks run as root here: say so (binaries from before the option do not ask)
	[ "$(id -u)" = 0 ] && [[ $help == *--allow-root* ]] && cap+=(--allow-root)
	${UIMAP_WRAPPER:-} "$bin" --listen "127.0.0.1:$UIMAP_PORT" "${tls[@]}" --passwd "$PERF_TMP/uimap-passwd" \
		--data-dir "$PERF_TMP/$name-data" --allow-plaintext-auth --login-delay 0 \
		--max-connections 0 --unauth-commands 0 --log-level warn "${cap[@]}" ${UIMAP_EXTRA_ARGS:-} "$@" \
		2>>"$log" &
	UIMAP_PID=$!
	PERF_PIDS+=("$UIMAP_PID")
	perf_wait_port "$UIMAP_PORT" "${UIMAP_START_SECS:-20}" ||
		{ cat "$log" >&2; perf_die "uimapd ($bin) did not start"; }
	if [ -n "$UIMAP_TLS_PORT" ]; then
		perf_wait_port "$UIMAP_TLS_PORT" 10 || { cat "$log" >&2; perf_die "uimapd: no TLS listener"; }
	fi
}

# start the io_uring echo baseline: sets ECHO_PORT, ECHO_PID
perf_start_echo() {
	ECHO_PORT=$(perf_free_port)
	"$ECHO_SERVER" --listen "127.0.0.1:$ECHO_PORT" 2>>"$PERF_TMP/echo.log" &
	ECHO_PID=$!
	PERF_PIDS+=("$ECHO_PID")
	perf_wait_port "$ECHO_PORT" 10 || { cat "$PERF_TMP/echo.log" >&2; perf_die "echo-server did not start"; }
}

# start a private Dovecot (Debian's dovecot-imapd) in the foreground of a
# background job: sets DOVECOT_PORT, DOVECOT_PID, and after perf_make_cert
# DOVECOT_TLS_PORT (imaps; ssl = required, so STARTTLS before LOGIN on DOVECOT_PORT)
perf_start_dovecot() {
	local d=$PERF_TMP/dovecot ssl="ssl = no" imaps="port = 0"
	DOVECOT_PORT=$(perf_free_port)
	DOVECOT_TLS_PORT=""
	if [ -n "$PERF_TLS_CERT" ]; then
		DOVECOT_TLS_PORT=$(perf_free_port)
		ssl="ssl = required
ssl_cert = <$PERF_TLS_CERT
ssl_key = <$PERF_TLS_KEY
ssl_min_protocol = TLSv1.2"
		imaps="address = 127.0.0.1
    port = $DOVECOT_TLS_PORT
    ssl = yes"
	fi
	mkdir -p "$d/run" "$d/state" "$d/home" "$d/mail"
	chown nobody:nogroup "$d/home" "$d/mail"
	echo "$PERF_USER:{PLAIN}$PERF_PASS" >"$d/passwd"
	cat >"$d/dovecot.conf" <<EOF
# private benchmark instance made by perf/lib.sh
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log
protocols = imap
listen = 127.0.0.1
$ssl
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
default_client_limit = 40000
default_process_limit = 20000
default_vsz_limit = 0
mail_location = maildir:$d/mail/%u
passdb {
  driver = passwd-file
  args = $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/home/%u
}
protocol imap {
  mail_max_userip_connections = 100000
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    $imaps
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 40000
}
service imap {
  process_limit = ${DOVECOT_IMAP_PROCESS_LIMIT:-10000}
}
service auth {
  client_limit = 100000
}
service anvil {
  client_limit = 100000
}
service stats {
  client_limit = 100000
}
EOF
	dovecot -F -c "$d/dovecot.conf" 2>>"$d/dovecot.log" &
	DOVECOT_PID=$!
	PERF_PIDS+=("$DOVECOT_PID")
	perf_wait_port "$DOVECOT_PORT" 30 || { cat "$d/dovecot.log" >&2; perf_die "dovecot did not start"; }
	if [ -n "$DOVECOT_TLS_PORT" ]; then
		perf_wait_port "$DOVECOT_TLS_PORT" 10 || { cat "$d/dovecot.log" >&2; perf_die "dovecot: no imaps listener"; }
	fi
}

# per-scenario defaults: sets ARGS (uimap-bench args), POP (populate args, may
# be empty) and SCENARIO_NO_ECHO (1 when the echo baseline cannot run it)
perf_scenario_args() { # scenario
	POP=()
	SCENARIO_NO_ECHO=1
	case $1 in
	noop) ARGS=(-c 16 -d 1); SCENARIO_NO_ECHO=0 ;;
	login) ARGS=(-c 16); SCENARIO_NO_ECHO=0 ;;
	idle-hold) ARGS=(-c "${IDLERS:-500}" --round-timeout 5 --idle-gap 0.05) ;;
	append) ARGS=(-c 4 -m bench-append --msg-size 2048) ;;
	fetch-small) ARGS=(-c 16 -m fetch); POP=(-m fetch --populate 1000 --msg-size 2048) ;;
	fetch-body) ARGS=(-c 16 -m "body${SIZE:-10240}" --msg-size "${SIZE:-10240}")
		POP=(-m "body${SIZE:-10240}" --populate "${POPULATE:-500}" --msg-size "${SIZE:-10240}") ;;
	select-large) ARGS=(-c 4 -m large); POP=(-m large --populate 10000 --msg-size 512) ;;
	search) ARGS=(-c 8 -m fetch); POP=(-m fetch --populate 1000 --msg-size 2048) ;;
	mixed) ARGS=(-c 16 -m fetch); POP=(-m fetch --populate 1000 --msg-size 2048) ;;
	*) perf_die "unknown scenario $1 (noop login idle-hold append fetch-small fetch-body select-large search mixed)" ;;
	esac
}

# populate the mailbox a scenario needs on the server at PORT
perf_populate() { # port [more uimap-bench args, e.g. --tls]
	[ ${#POP[@]} -gt 0 ] || return 0
	timeout 600 "$BENCH" -p "$1" "${@:2}" -s populate "${POP[@]}" >&2 || perf_die "populating port $1 failed"
}

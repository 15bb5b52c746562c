#!/usr/bin/env bash
# Quick start: install what is missing, build, create a demo account and run uimapd
# in the foreground on 127.0.0.1:1430.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
uimap_install $UIMAP_BUILD_PKGS openssl

# wolfSSL: by default the accelerated build (Debian's wolfSSL source with AES-NI and
# the SP assembly, scripts/wolfssl-accel.sh, about 100 s once) when the CPU has AES-NI
# and the source package can be fetched, else the system library; it costs 3-4x less
# CPU per handshake and per byte (docs/performance.md, "TLS results").
# UIMAP_WOLFSSL=system: the system library; =accelerated: that build or fail.
WOLFSSL=${UIMAP_WOLFSSL:-auto}
case $WOLFSSL in
auto|system|accelerated) ;;
*) echo "UIMAP_WOLFSSL must be system or accelerated (or unset)" >&2; exit 2 ;;
esac
if [ "$WOLFSSL" = auto ]; then
	if grep -qw aes /proc/cpuinfo; then
		WOLFSSL=accelerated
		if [ ! -f build-accel/build.ninja ]; then
			echo "== building the accelerated wolfSSL (AES-NI; once, about 100 s)"
			if ! meson setup build-accel --buildtype=release -Dtests=false \
				-Dwolfssl=accelerated >build-accel.setup.log 2>&1; then
				echo "== the accelerated wolfSSL could not be built (source package not" \
					"reachable? see build-accel.setup.log): using the system library"
				rm -rf build-accel
				WOLFSSL=system
			fi
		fi
	else
		echo "== this CPU has no AES-NI: using the system wolfSSL"
		WOLFSSL=system
	fi
fi
BUILD=build
[ "$WOLFSSL" = accelerated ] && BUILD=build-accel
[ -f $BUILD/build.ninja ] || meson setup $BUILD --buildtype=release -Dtests=false -Dwolfssl="$WOLFSSL" >/dev/null
ninja -C $BUILD >/dev/null
echo "== wolfSSL: $WOLFSSL ($BUILD/uimapd: $($BUILD/uimapd --version 2>/dev/null | head -1))"

mkdir -p .demo/data
if [ ! -f .demo/passwd ]; then
	# a SHA512-CRYPT hash of "demo" (glibc crypt through perl, present on every Debian)
	salt=$(perl -e 'print join("", map { ("a".."z","A".."Z",0..9)[rand 62] } 1..16)')
	hash=$(perl -e "print crypt('demo', '\$6\$$salt\$')")
	echo "demo:{SHA512-CRYPT}$hash" > .demo/passwd
fi

if [ ! -f .demo/cert.pem ]; then
	# a self-signed certificate for the demo
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout .demo/key.pem -out .demo/cert.pem 2>/dev/null
fi

cat <<MSG
uimapd is starting: STARTTLS on 127.0.0.1:1430, implicit TLS on 127.0.0.1:9930 (Ctrl-C stops it).
  user: demo   password: demo   (self-signed certificate in .demo/cert.pem)
  try:  python3 -c "import imaplib,ssl; m=imaplib.IMAP4_SSL('127.0.0.1',9930,ssl_context=ssl._create_unverified_context()); print(m.login('demo','demo')); m.logout()"
   or:  curl -k --ssl-reqd --url 'imap://127.0.0.1:1430/' --user demo:demo
   or:  openssl s_client -starttls imap -connect 127.0.0.1:1430
Add --allow-plaintext-auth to allow logins without TLS.
MSG
# uimapd refuses to serve as root unless told: the demo says so when run as root (a real
# installation drops to its own user with --user; README, "Running it for real")
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root)
exec $BUILD/uimapd "${root[@]}" --listen 127.0.0.1:1430 --tls-listen 127.0.0.1:9930 \
	--cert .demo/cert.pem --key .demo/key.pem \
	--passwd .demo/passwd --data-dir .demo/data "$@"

#!/usr/bin/env bash
# Quick start: install what is missing, build, create a demo account and run uimapd
# in the foreground on 127.0.0.1:1430.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
uimap_install $UIMAP_BUILD_PKGS

[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

mkdir -p .demo/data
if [ ! -f .demo/passwd ]; then
	# a SHA512-CRYPT hash of "demo" (glibc crypt through perl, present on every Debian)
	salt=$(perl -e 'print join("", map { ("a".."z","A".."Z",0..9)[rand 62] } 1..16)')
	hash=$(perl -e "print crypt('demo', '\$6\$$salt\$')")
	echo "demo:{SHA512-CRYPT}$hash" > .demo/passwd
fi

cat <<MSG
uimapd is starting on 127.0.0.1:1430 (Ctrl-C stops it).
  user: demo   password: demo
  try:  python3 -c "import imaplib; m=imaplib.IMAP4('127.0.0.1',1430); print(m.login('demo','demo')); m.logout()"
   or:  curl -v --url 'imap://127.0.0.1:1430/' --user demo:demo
Plaintext logins are allowed for this loopback demo (--allow-plaintext-auth).
MSG
exec build/uimapd --listen 127.0.0.1:1430 --passwd .demo/passwd --data-dir .demo/data \
	--allow-plaintext-auth "$@"

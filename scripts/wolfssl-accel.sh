#!/usr/bin/env bash
# Build Debian's wolfSSL source with AES-NI / AVX / SP assembly into BUILD_DIR/wolfssl-prefix.
#
#   scripts/wolfssl-accel.sh BUILD_DIR [--bench]
#
# Fetches the source of the installed libwolfssl (apt-get source; a deb-src entry for
# bookworm is added if missing), configures it with the flags of debian/rules plus
#   --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm
# (and Debian's dpkg-buildflags) and installs it into BUILD_DIR/wolfssl-prefix: a static
# PIC libwolfssl.a and a shared libwolfssl.so that keeps the system soname
# libwolfssl.so.35, so link statically or with an rpath.
# The last line of output is the PKG_CONFIG_PATH to use. Reruns reuse what is built.
# With --bench, wolfcrypt's benchmark is run for AES-GCM and ChaCha20-Poly1305.
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [--bench]" >&2
	exit 2
fi
mkdir -p "$1"
BUILD_DIR=$(cd "$1" && pwd)
BENCH=0
[ "${2:-}" = "--bench" ] && BENCH=1
SRC="$BUILD_DIR/wolfssl-src"
PREFIX="$BUILD_DIR/wolfssl-prefix"
# --disable-postauth: no TLS 1.3 post-handshake client authentication (uimapd never
# asks for a client certificate); without it wolfSSL frees the handshake hashes
# (1.2 KiB per connection) when a TLS 1.3 handshake is done
EXTRA_FLAGS="--enable-aesni --enable-intelasm --enable-sp --enable-sp-asm --disable-postauth"
# Defines taken out of the configured build (Makefile and options.h) after configure:
# --enable-distro turns them on through several other options (nginx, openvpn, qt,
# lighty, ...), so no configure flag can. SESSION_CERTS + WOLFSSL_ALT_CERT_CHAINS put
# two buffers for the *peer's* certificate chain into every WOLFSSL_SESSION (37.5 KiB
# instead of 0.6 KiB, allocated by wolfSSL_new()); a server that asks for no client
# certificate never fills them.
DROP_DEFINES="SESSION_CERTS WOLFSSL_ALT_CERT_CHAINS"
# position-independent objects in libwolfssl.a too, so it links into libuimap.so
BUILD_FLAGS="--enable-static --enable-shared --with-pic"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

log() { echo "== $*" >&2; }

# 1. tools and a deb-src entry
need=()
for p in dpkg-dev autoconf automake libtool make gcc; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
added_src=0
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	log "adding a deb-src entry for bookworm"
	$SUDO tee /etc/apt/sources.list.d/uimap-deb-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	added_src=1
fi
if [ ${#need[@]} -gt 0 ] || [ $added_src -eq 1 ] || [ ! -d "$SRC" ]; then
	$SUDO apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
	log "installing: ${need[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${need[@]}" >/dev/null
fi

# 2. the source of the installed version (falls back to the candidate)
if [ ! -f "$SRC/configure.ac" ]; then
	ver=$(dpkg-query -W -f='${Version}' libwolfssl-dev 2>/dev/null || true)
	tmp="$BUILD_DIR/wolfssl-src.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "apt-get source wolfssl${ver:+=$ver}"
	(cd "$tmp" && { apt-get source -qq "wolfssl${ver:+=$ver}" 2>/dev/null ||
			apt-get source -qq wolfssl; }) >&2
	dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'wolfssl-*' | head -n 1)
	[ -n "$dir" ] || { echo "apt-get source wolfssl produced no directory" >&2; exit 1; }
	rm -rf "$SRC"
	mv "$dir" "$SRC"
	rm -rf "$tmp"
fi

# 3. Debian's configure flags, read from debian/rules (override_dh_auto_configure)
rules_flags=$(awk '
	/dh_auto_configure/ { grab = 1 }
	grab {
		line = $0
		sub(/^[ \t]*/, "", line)
		cont = (line ~ /\\$/)
		sub(/\\$/, "", line)
		printf "%s ", line
		if (!cont) grab = 0
	}' "$SRC/debian/rules" |
	tr ' \t' '\n\n' | grep -E '^--(enable|disable|with|without)-' | sort -u | tr '\n' ' ')
# debian/rules also appends CPPFLAGS/CFLAGS defines; keep those too
rules_cppflags=$(grep -oE '\-D[A-Z0-9_]+(=[^ "'\'']*)?' "$SRC/debian/rules" | sort -u | tr '\n' ' ' || true)
log "debian/rules flags: $rules_flags"
[ -n "$rules_cppflags" ] && log "debian/rules defines: $rules_cppflags"

# Debian's compiler flags (dh builds with hardening=+all)
# (from the source directory: -ffile-prefix-map names the current one)
eval "$(cd "$SRC" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
CPPFLAGS="$CPPFLAGS $rules_cppflags"
export CFLAGS CPPFLAGS LDFLAGS

# 4. configure + build + install (skipped when the prefix is up to date)
stamp="$PREFIX/.uimap-flags"
want="$rules_flags $EXTRA_FLAGS $BUILD_FLAGS | $CPPFLAGS | $CFLAGS | -$DROP_DEFINES"
drop_re=$(echo "$DROP_DEFINES" | tr -s ' ' '|')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$PREFIX/include/wolfssl/options.h" ]; then
	cd "$SRC"
	[ -x configure ] || { log "autogen.sh"; ./autogen.sh >/dev/null 2>&1; }
	[ -f Makefile ] && make distclean >/dev/null 2>&1 || true
	log "configure $EXTRA_FLAGS"
	# shellcheck disable=SC2086
	./configure -q --prefix="$PREFIX" $BUILD_FLAGS $rules_flags $EXTRA_FLAGS >&2
	log "leaving out: $DROP_DEFINES"
	# the library's compile flags (AM_CFLAGS in every Makefile) ...
	find . -name Makefile -exec sed -i -E "/^AM_CFLAGS *=/s/-D($drop_re)([[:space:]]|\$)/\2/g" {} +
	# ... and the header applications build with, so both agree on the structs
	sed -i -E "/^#(undef|define) +($drop_re)\$/d" wolfssl/options.h
	! grep -qE -- "-D($drop_re)([[:space:]]|\$)" Makefile ||
		{ echo "Makefile still defines one of: $DROP_DEFINES" >&2; exit 1; }
	log "make -j$(nproc)"
	make -s -j"$(nproc)" >/dev/null
	make -s install >/dev/null
	# with --enable-distro, make install leaves out options.h (the build's configuration)
	install -m 644 wolfssl/options.h "$PREFIX/include/wolfssl/options.h"
	echo "$want" > "$stamp"
fi
# wolfssl.pc lacks what a static link needs (-lm for dh.c, ...): take it from libtool
libs_private=$(sed -n "s/^dependency_libs=' *\(.*\)'$/\1/p" "$PREFIX/lib/libwolfssl.la")
pc="$PREFIX/lib/pkgconfig/wolfssl.pc"
grep -q '^Libs.private:' "$pc" || echo "Libs.private: $libs_private" >> "$pc"
grep -qE 'define (WOLFSSL_AESNI|HAVE_INTEL_AVX1)' "$PREFIX/include/wolfssl/options.h" ||
	{ echo "the built options.h lacks WOLFSSL_AESNI" >&2; exit 1; }
! grep -qE "^#define ($drop_re)\$" "$PREFIX/include/wolfssl/options.h" ||
	{ echo "the built options.h still defines one of: $DROP_DEFINES" >&2; exit 1; }

# 5. optional benchmark
if [ $BENCH -eq 1 ]; then
	bench="$SRC/wolfcrypt/benchmark/benchmark"
	[ -x "$bench" ] || (cd "$SRC" && make -s wolfcrypt/benchmark/benchmark >/dev/null)
	log "benchmark (accelerated build)"
	"$bench" -aes-gcm -chacha20-poly1305 >&2 || "$bench" >&2
fi

echo "PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig"

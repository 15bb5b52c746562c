#!/usr/bin/env bash
# Install the Debian 12 packages uimap needs (only those missing). Sourced by run.sh / test.sh.
# sourced: the caller sets its own shell options

UIMAP_BUILD_PKGS="gcc pkg-config meson ninja-build liburing-dev libwolfssl-dev zlib1g-dev libcrypt-dev libcriterion-dev systemtap-sdt-dev libsystemd-dev libunistring-dev scdoc"
UIMAP_TEST_PKGS="python3 clang libclang-rt-14-dev isync openssl curl interimap abigail-tools systemd haproxy dovecot-imapd"

uimap_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing: ${missing[*]}"
		local sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

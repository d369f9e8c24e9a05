#!/bin/bash
# Issue 17's CPU comparison on an idle machine: agentrt's CPU backend (cpu_engine_bench, exact
# avx512 and opt-in avx512bf16 paths) against llama.cpp's CPU build (llama-bench, GGML_NATIVE)
# on the same bf16 weights (tiny-calc converted by llama.cpp's own convert_hf_to_gguf.py; the
# Qwen2.5-0.5B shape with random weights on both sides), 1 and 2 threads, both pinned to the
# same two physical cores. Runs on the GPU machine's CPU, which nothing else uses. Built here:
#   ../shared/tools/bundle-with-libs .bundle build-dev/bench/cpu_engine_bench; strip, then
#   (cd .bundle && tar cf - bin lib | xz > b.tar.xz), plus .bundle/llama_src.tar.xz (llama.cpp
#   from node-llama-cpp@3.21.1, ../shared/NOTES.md), .bundle/qwen_tok.json.xz (a Qwen
#   tokenizer.json) and .bundle/random-gguf.py (../shared/tools); run from the repository
#   root with $OUT set: bash bench/cpu_llama_device_run.sh
set -u
R=$(cd "$(dirname "$0")/.." && pwd)
cd "$R"
mkdir -p /work && ln -sfn "$R" /work/main
(cd .bundle && tar xJf b.tar.xz)
export LD_LIBRARY_PATH=$R/.bundle/lib
L=$OUT/cpu.log
t0=$(date +%s)
step() { echo "=== $* ($(($(date +%s) - t0))s)" | tee -a "$L"; }
lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Flags' >>"$L"
# Two CPUs on different physical cores.
cpus=$(lscpu -p=CPU,CORE | grep -v '^#' | awk -F, '!seen[$2]++ {print $1}' | sed -n 2,3p | paste -sd,)
echo "pinned to CPUs $cpus" | tee -a "$L"
step llama.cpp build
mkdir -p /tmp/ll && tar xJf .bundle/llama_src.tar.xz -C /tmp/ll
LL=/tmp/ll/llama.cpp
(cd $LL && cmake -S . -B b -G Ninja -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >"$OUT/llcfg.log" 2>&1 &&
  timeout 400 cmake --build b -j16 --target llama-bench >"$OUT/llbuild.log" 2>&1)
tail -1 "$OUT/llbuild.log" | tee -a "$L"
LB=$LL/b/bin/llama-bench
step gguf
# tiny-calc's BPE pre-tokenizer hash is unknown to the script; the tokenizer plays no part in
# llama-bench, so it is told qwen2 (as in run C).
python3 - "$LL/conversion/base.py" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("        if res is None:\n", "        res = res or 'qwen2'\n        if res is None:\n", 1)
open(p, "w").write(s)
PY
PYTHONPATH=$LL/gguf-py timeout 300 python3 $LL/convert_hf_to_gguf.py models/tiny-calc --outtype bf16 \
  --outfile /tmp/tiny.gguf >"$OUT/convert.log" 2>&1 || tail -5 "$OUT/convert.log" | tee -a "$L"
xz -dc .bundle/qwen_tok.json.xz >/tmp/qtok.json
PYTHONPATH=$LL/gguf-py timeout 300 python3 .bundle/random-gguf.py qwen05b /tmp/qtok.json /tmp/q05.gguf \
  >>"$L" 2>&1
ls -la /tmp/tiny.gguf /tmp/q05.gguf | tee -a "$L"
run() { echo "--- $*" | tee -a "$L"; timeout 300 taskset -c "$cpus" "$@" 2>&1 | tee -a "$L"; }
for t in 1 2; do
  step threads $t
  for isa in avx512 avx512bf16; do
    AGENTRT_CPU_ISA=$isa run .bundle/bin/cpu_engine_bench --model models/tiny-calc --steps 64 \
      --prompt 512 --context 512 --batch 1 --threads $t
    AGENTRT_CPU_ISA=$isa run .bundle/bin/cpu_engine_bench --shape qwen2.5-0.5b --steps 16 \
      --prompt 512 --context 512 --batch 1 --threads $t
  done
  run $LB -m /tmp/tiny.gguf -t $t -p 512 -n 0 -r 3
  run $LB -m /tmp/tiny.gguf -t $t -p 0 -n 128 -d 512 -r 3
  run $LB -m /tmp/q05.gguf -t $t -p 512 -n 0 -r 2
  run $LB -m /tmp/q05.gguf -t $t -p 0 -n 128 -d 512 -r 2
done
step done

#!/bin/bash
# Issue 17's CPU comparison on this machine (the 2-core build VM): agentrt's CPU backend
# (cpu_engine_bench; --cpu-precision exact, the default, and bf16) against llama.cpp's CPU
# build (llama-bench, GGML_NATIVE) on the same bf16 weights, 1 and 2 threads, each pair back to
# back so a ratio comes from one moment of the machine. Weights: tiny-calc itself, converted by
# bench/qwen2_to_gguf.py, and the Qwen2.5-0.5B shape with random bf16 weights on both sides
# (../shared/tools/random-gguf.py; bench/synthetic_model.h for agentrt).
# Setup (once; the llama.cpp build takes about 30 minutes on 2 cores):
#   llama.cpp from node-llama-cpp@3.21.1 (../shared/NOTES.md), then in its tree
#     cmake -S . -B b -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
#       -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
#       -DLLAMA_BUILD_SERVER=OFF && cmake --build b -j2 --target llama-bench
#   apt-get install python3-numpy; with PYTHONPATH=LLAMA/gguf-py and /usr/bin/python3:
#     bench/qwen2_to_gguf.py models/tiny-calc DIR/tiny.gguf
#     ../shared/tools/random-gguf.py qwen05b SOME_QWEN/tokenizer.json DIR/q05.gguf
# llama-bench runs with flash attention off and on (-fa 0,1); compare with the faster.
# usage: bench/cpu_llama_local_run.sh LLAMA_BENCH GGUF_DIR [AGENTRT_BUILD_DIR] > LOG
set -u
LB=$1
G=$2
B=${3:-build-dev}
cd "$(dirname "$0")/.."
E=$B/bench/cpu_engine_bench
uptime
"$B/cli/agentrt" info 2>/dev/null | grep -iE 'openblas|cpu' || true
git log --oneline -1
run() {
  echo "--- $*"
  "$@" 2>&1 | grep -E 'prefill|decode|ceilings|^\| (qwen2|model)|pp512|pp2048|tg128' || echo "(failed)"
}
for t in 1 2; do
  for isa in avx512 avx512bf16; do
    AGENTRT_CPU_ISA=$isa run "$E" --model models/tiny-calc --steps 64 --prompt 512 --context 512 \
      --batch 1 --threads "$t"
  done
  run "$LB" -m "$G/tiny.gguf" -t "$t" -p 512 -n 0 -fa 0,1 -r 3
  run "$LB" -m "$G/tiny.gguf" -t "$t" -p 0 -n 128 -d 512 -fa 0,1 -r 3
  # A longer agent context: prefill 2048 and decode at 2048 (exact path only).
  AGENTRT_CPU_ISA=avx512 run "$E" --model models/tiny-calc --steps 64 --prompt 2048 \
    --context 2048 --batch 1 --threads "$t"
  run "$LB" -m "$G/tiny.gguf" -t "$t" -p 2048 -n 0 -fa 0,1 -r 2
  run "$LB" -m "$G/tiny.gguf" -t "$t" -p 0 -n 128 -d 2048 -fa 0,1 -r 2
  for isa in avx512 avx512bf16; do
    AGENTRT_CPU_ISA=$isa run "$E" --shape qwen2.5-0.5b --steps 16 --prompt 512 --context 512 \
      --batch 1 --threads "$t"
  done
  run "$LB" -m "$G/q05.gguf" -t "$t" -p 512 -n 0 -fa 0,1 -r 2
  run "$LB" -m "$G/q05.gguf" -t "$t" -p 0 -n 128 -d 512 -fa 0,1 -r 2
done
uptime

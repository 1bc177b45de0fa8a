#!/usr/bin/env bash
# The command line as a new user meets it: exit codes (0 / 1 / 2), the checkpoint folder
# contract, --set, predict on a .npy batch, and paths relative to the config's folder.
# usage: cli_contract_test.sh XLAX_BINARY EXAMPLES_DIR
set -u
X=$1
EXAMPLES=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/configs" "$WORK/elsewhere"
cp "$EXAMPLES/synthetic_conv1d.json" "$WORK/configs/c.json"
fail() { echo "FAILED: $*"; exit 1; }
expect() {  # expect CODE PATTERN command...
  local code=$1 pattern=$2
  shift 2
  local out
  out=$("$@" 2>&1)
  local rc=$?
  [ "$rc" = "$code" ] || fail "exit $rc (want $code): $* -> $out"
  echo "$out" | grep -q -- "$pattern" || fail "no '$pattern' in: $out"
}
cd "$WORK/elsewhere"
SET=(--set checkpoint.dir=ck --set training.epochs=1 --set training.output_dir=out)
expect 0 "^test_acc" "$X" train ../configs/c.json "${SET[@]}"
# relative paths in the config resolved from its folder, not the current directory
[ -f "$WORK/configs/ck/ckpt_epoch_0001.safetensors" ] || fail "checkpoint not in the config's folder"
[ -f "$WORK/configs/out/learning_curves.png" ] || fail "no learning_curves.png"
[ -f "$WORK/configs/out/confusion_matrix.png" ] || fail "no confusion_matrix.png"
expect 2 "already holds checkpoints (ckpt_epoch_0001.safetensors)" "$X" train ../configs/c.json "${SET[@]}"
expect 2 "holds no ckpt_epoch" "$X" train ../configs/c.json --set checkpoint.dir=empty --resume
expect 0 "^test_acc" "$X" train ../configs/c.json "${SET[@]}" --overwrite
expect 0 "resumed from" "$X" train ../configs/c.json "${SET[@]}" --set training.epochs=2 --auto-resume
expect 2 "training.batch_size: must be >= 1" "$X" summary ../configs/c.json --set training.batch_size=0
expect 2 "not expected" "$X" train ../configs/c.json --bogus
expect 2 "excludes" "$X" train ../configs/c.json --resume --overwrite
expect 1 "gradient mismatch" "$X" gradcheck ../configs/c.json --atol 0 --rtol 0
expect 2 "cannot open" "$X" gradcheck missing.json
expect 0 "^xlax " "$X" --version
# predict: a .npy batch of 3 examples gives 3 lines of top classes; --output writes .npy
/usr/bin/python3 -c "import numpy as np; np.save('batch.npy', np.random.RandomState(0).randn(3, 32, 1).astype(np.float32))" || fail "writing batch.npy needs /usr/bin/python3 with numpy (python3-numpy)"
expect 0 "batch.npy\[2\]: " "$X" predict ../configs/c.json --checkpoint ../configs/ck/ckpt_epoch_0002.safetensors batch.npy
expect 0 "wrote probs.npy" "$X" predict ../configs/c.json --checkpoint ../configs/ck/ckpt_epoch_0002.safetensors batch.npy --output probs.npy
/usr/bin/python3 -c "import numpy as np; p = np.load('probs.npy'); assert p.shape[0] == 3 and abs(p.sum(1) - 1).max() < 1e-5" || fail "probs.npy"
# a data error under --overwrite is found before the old checkpoints are removed
/usr/bin/python3 -c "import numpy as np; np.save('ybad.npy', np.full(3, 9))" || fail "writing ybad.npy"
expect 2 "label 9" "$X" train ../configs/c.json "${SET[@]}" --overwrite --set data.source=npy --set data.x=$PWD/batch.npy --set data.y=$PWD/ybad.npy --set data.test_x=$PWD/batch.npy --set data.test_y=$PWD/ybad.npy
[ -f "$WORK/configs/ck/ckpt_epoch_0002.safetensors" ] || fail "--overwrite with bad data removed the checkpoints"
echo "cli contract: all checks passed"

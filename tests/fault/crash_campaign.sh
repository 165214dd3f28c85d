#!/usr/bin/env bash
# Crash campaign: kill -9 a shard writer at random moments, many times, and check after each kill
# that every committed record is intact, nothing uncommitted is visible, and the writer resumes.
#
# Usage: tests/fault/crash_campaign.sh BUILD ROUNDS
#
# Each round starts `crashee write` on the current run folder (resuming what the previous rounds
# left), sleeps a random 0..MAXDELAY, sends SIGKILL, and runs `crashee check --reported K` where K
# is the last count the writer printed as durable (its "resumed K" or "committed K" line). A
# folder is done when a writer finishes before the kill, or after CRASH_PER_FOLDER (default 12)
# kills, when one uninterrupted writer completes it; it then gets `check --final` and the next
# round starts a fresh folder with the next configuration. Configurations rotate between small
# count-rolled shards (frequent seals), self-committing writers with a metadata dictionary,
# byte-rolled shards and shards whose map fills mid-batch (the writer's replay path). MAXDELAY
# is a third of an uninterrupted run of the configuration, measured at the start, so a folder
# sees several kills, spread from process start (open/recovery) to the last seal.
#
# Before recovery, `crashee check` describes the folder ("pre tmp= open= unlisted= stale_open="):
# a .tmp, an unlisted shard file or a listed shard with its .open twin means the kill landed
# inside a seal. At the end, the last folder is completed by one uninterrupted writer and checked
# with --final. VERBOSE=1 prints one line per round. Exit status 0 if every check passed; 1 at
# the first failure, keeping the work folder (its path is printed) with the writer's and
# checker's output; 2 on bad arguments.
set -u
BUILD=${1:?usage: crash_campaign.sh BUILD ROUNDS}
ROUNDS=${2:?usage: crash_campaign.sh BUILD ROUNDS}
CRASHEE=$BUILD/tools/crashee
[ -x "$CRASHEE" ] || { echo "crash_campaign: $CRASHEE missing (run make all)" >&2; exit 2; }
# Kill rounds per folder before one uninterrupted writer completes it (so that every
# configuration gets its turn in short campaigns).
PER_FOLDER=${CRASH_PER_FOLDER:-12}
case $ROUNDS$PER_FOLDER in
  *[!0-9]*) echo "crash_campaign: ROUNDS and CRASH_PER_FOLDER must be numbers" >&2; exit 2 ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cc-crash-XXXXXX") || exit 2

CONFIGS=(
  "--total 1500 --max-pairs 40 --batch 7 --img-bytes 3000"
  "--total 1500 --max-pairs 40 --batch 7 --img-bytes 3000 --auto --dict-samples 30"
  "--total 500 --max-pairs 100000 --max-bytes 1048576 --batch 5 --img-bytes 20000"
  "--total 800 --max-pairs 64 --batch 64 --img-bytes 6000 --dict-samples 50"
  # Shards roll only on MDB_MAP_FULL: the map fills mid-batch and the writer replays the batch
  # record by record into a new shard. 2030-byte values sit at LMDB's overflow threshold.
  "--total 1500 --max-pairs 100000 --max-bytes 1048576 --batch 300 --value-bytes 2030 --map-full-only"
)

now_us() { local t; t=$(date +%s%N); echo $((t / 1000)); }
# A random integer in 0..$1 (30 bits from two $RANDOMs).
rand_upto() { echo $(((RANDOM << 15 | RANDOM) % ($1 + 1))); }
last_count() { # file: the last "resumed K" / "committed K" number, or empty
  awk '$1 == "resumed" || $1 == "committed" { n = $2 } END { print n }' "$1"
}

fail() {
  echo "crash_campaign: FAIL: $*" >&2
  echo "crash_campaign: round $round, folder $dir (config: ${CONFIGS[$cfg]})" >&2
  for f in write.out write.err pre.txt check.out check.err; do
    [ -s "$WORK/$f" ] && { echo "--- $f" >&2; tail -n 20 "$WORK/$f" >&2; }
  done
  echo "crash_campaign: work folder kept: $WORK" >&2
  exit 1
}

# check DIR CFG ARGS...: runs crashee check, keeps its output in $WORK, sets $checked.
run_check() {
  local d=$1 c=$2; shift 2
  # shellcheck disable=SC2086  # CONFIGS entries are word lists
  if ! "$CRASHEE" check --dir "$d" ${CONFIGS[$c]} "$@" >"$WORK/check.out" 2>"$WORK/check.err"; then
    fail "check $* failed: $(tail -n 3 "$WORK/check.err")"
  fi
  checked=$(awk '$1 == "ok" { sub("committed=", "", $2); print $2 }' "$WORK/check.out")
  [ -n "$checked" ] || fail "check printed no result"
}

# ---- calibration: one uninterrupted run per configuration ----------------------------------
round=0 cfg=0 dir=""
declare -a MAXDELAY
for cfg in "${!CONFIGS[@]}"; do
  dir=$WORK/calib-$cfg
  t0=$(now_us)
  # shellcheck disable=SC2086
  "$CRASHEE" write --dir "$dir" ${CONFIGS[$cfg]} >"$WORK/write.out" 2>"$WORK/write.err" \
    || fail "uninterrupted writer failed: $(tail -n 3 "$WORK/write.err")"
  t=$(($(now_us) - t0))
  grep -qx "done" "$WORK/write.out" || fail "uninterrupted writer did not finish"
  total=$(last_count "$WORK/write.out")
  run_check "$dir" "$cfg" --reported "$total" --final
  MAXDELAY[cfg]=$((t / 3 > 2000 ? t / 3 : 2000))
  printf 'calibration: config %d runs %d ms uninterrupted; kills within 0..%d ms\n' \
    "$cfg" $((t / 1000)) $((MAXDELAY[cfg] / 1000))
  rm -rf "$dir"
done

# complete_folder: one uninterrupted writer finishes $dir, then the full check.
complete_folder() {
  # shellcheck disable=SC2086
  "$CRASHEE" write --dir "$dir" ${CONFIGS[$cfg]} >"$WORK/write.out" 2>"$WORK/write.err" \
    || fail "completing writer failed: $(tail -n 3 "$WORK/write.err")"
  if grep -q '^resumed [1-9]' "$WORK/write.out"; then resumes=$((resumes + 1)); fi
  run_check "$dir" "$cfg" --reported "$(last_count "$WORK/write.out")" --final
  finished=$((finished + 1))
}

# ---- the campaign -------------------------------------------------------------------------
kills=0 early=0 seal=0 seal_copy=0 seal_renamed=0 seal_listed=0 with_open=0 torn=0
finished=0 resumes=0 folders=0 verified=0 in_folder=0
reported=0 fresh=1 cfg=-1
t_start=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
  if [ "$fresh" = 1 ]; then
    [ -n "$dir" ] && rm -rf "$dir"
    cfg=$(((cfg + 1) % ${#CONFIGS[@]}))
    folders=$((folders + 1))
    dir=$WORK/run-$folders
    reported=0 fresh=0 in_folder=0
  fi
  # One round in four kills within the first 2 ms (process start, lock, recovery, the first
  # records), half of those without sleeping at all.
  if ((RANDOM % 4 == 0)); then
    delay=$(rand_upto 2000)
  else
    delay=$(rand_upto "${MAXDELAY[$cfg]}")
  fi
  # Emptied here: a kill may land before the child has opened its redirections.
  : >"$WORK/write.out"
  : >"$WORK/write.err"
  # shellcheck disable=SC2086
  "$CRASHEE" write --dir "$dir" ${CONFIGS[$cfg]} >"$WORK/write.out" 2>"$WORK/write.err" &
  pid=$!
  if ((delay >= 1000)); then
    sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null # no "Killed" job notice
  rc=$?
  k=$(last_count "$WORK/write.out")
  if grep -q '^resumed [1-9]' "$WORK/write.out"; then resumes=$((resumes + 1)); fi
  if [ "$rc" = 137 ]; then
    kills=$((kills + 1))
    grep -q '^resumed ' "$WORK/write.out" || early=$((early + 1))
  elif [ "$rc" = 0 ] && grep -qx "done" "$WORK/write.out"; then
    finished=$((finished + 1))
  else
    fail "writer exited with status $rc by itself: $(tail -n 3 "$WORK/write.err")"
  fi
  [ -n "$k" ] && reported=$k
  # What the kill left, before recovery touches it.
  { ls -l "$dir"; cat "$dir/manifest.tsv" 2>/dev/null; } >"$WORK/pre.txt" 2>&1
  run_check "$dir" "$cfg" --reported "$reported"
  pre=$(grep '^pre ' "$WORK/check.out")
  case $pre in *" tmp=0 "*"unlisted=0 stale_open=0 "*) ;; *) seal=$((seal + 1)) ;; esac
  case $pre in *" tmp=0 "*) ;; *) seal_copy=$((seal_copy + 1)) ;; esac
  case $pre in *" unlisted=0 "*) ;; *) seal_renamed=$((seal_renamed + 1)) ;; esac
  case $pre in *" stale_open=0 "*) ;; *) seal_listed=$((seal_listed + 1)) ;; esac
  case $pre in *" open=0 "*) ;; *) with_open=$((with_open + 1)) ;; esac
  case $pre in *"torn_manifest=1"*) torn=$((torn + 1)) ;; esac
  verified=$((verified + checked))
  reported=$checked
  if [ "$rc" = 0 ]; then
    run_check "$dir" "$cfg" --reported "$reported" --final
    fresh=1
  elif ((++in_folder >= PER_FOLDER)); then
    complete_folder
    fresh=1
  fi
  if [ "${VERBOSE:-0}" = 1 ]; then
    printf 'round %d: config %d, delay %d us, rc %d, durable %d, %s\n' \
      "$round" "$cfg" "$delay" "$rc" "$checked" "$pre"
  elif ((round % 50 == 0)); then
    printf 'round %d/%d: %d kills (%d inside a seal), %d finished runs\n' \
      "$round" "$ROUNDS" "$kills" "$seal" "$finished"
  fi
done

# ---- one uninterrupted completion of the last folder, then the full check ------------------
[ "$fresh" = 0 ] && complete_folder

echo "crash campaign: $ROUNDS rounds in $((SECONDS - t_start)) s, $folders folders, 0 failures"
echo "  kills:    $kills ($early before the writer had opened the folder," \
  "$with_open with an unsealed shard, $torn with a torn manifest line)"
echo "  in seals: $seal ($seal_copy while copying (.tmp), $seal_renamed renamed but not listed," \
  "$seal_listed listed with the .open still there)"
echo "  resumes:  $resumes writers continued a folder;" \
  "$finished runs completed, all --final checked"
echo "  re-read:  $verified committed records compared field by field after kills"
rm -rf "$WORK"

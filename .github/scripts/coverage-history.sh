#!/usr/bin/env bash
# Carry the coverage history between CI runs on a branch of its own, `coverage-history`,
# holding history.jsonl (docs/history.md), the latest badges of main, badges/ (the
# shields.io endpoint files a README links to, docs/reports.md), and trend.svg, main's
# coverage over its recent snapshots (a README can show it too). The branch holds no code.
#
#   coverage-history.sh restore   import the branch's history, if the branch exists
#   coverage-history.sh save      export the local history and push it as a new commit, with
#                                 $KIT_DIR/reports/badges/ and $KIT_DIR/reports/trend.svg (the baseline
#                                 session's picture of main) when present, else the branch's ones
#                                 kept (needs `contents: write`); several runs may save at once:
#                                 a run whose push comes second merges the branch and pushes again
#
# Run from the repository's top. KIT_DIR is where the kit lives ("." in the kit's own
# repository, the workflows' env: sets it); history.jsonl stays at the top, and the baseline
# session gets its absolute path, because the kit's process runs in the kit's folder.
set -euo pipefail

KIT_DIR=${KIT_DIR:-.}
branch=coverage-history
# The branch's commit whose history the local history holds (restore's, then each save's),
# kept in this clone only: save merges the branch into the local history only when the
# branch has moved past it, so that what was deleted here on purpose (maintenance thins the
# history) is not imported back from the very commit it was deleted from.
merged_ref=refs/coverage-history/merged
attempts=5

# The branch's commit on the origin, or nothing when there is none (or it cannot be fetched:
# then the push that follows fails too, and says why).
fetch_tip() {
  if git fetch --quiet --depth=1 origin "$branch"; then
    git rev-parse FETCH_HEAD
  fi
}

import_history_of() {
  git show "$1:history.jsonl" > history.jsonl
  nox -s baseline -- --import "$PWD/history.jsonl"
  git update-ref "$merged_ref" "$1"
}

# A commit of the exported history, the badges and the trend picture, on top of $1 (none:
# the branch's first).
history_commit_on() {
  local parent=() badges="" trend="" entries listing file
  if [ -n "$1" ]; then
    parent=(-p "$1")
    badges=$(git rev-parse --quiet --verify "$1:badges" || true)
    trend=$(git rev-parse --quiet --verify "$1:trend.svg" || true)
  fi
  entries=$(printf '100644 blob %s\thistory.jsonl' "$(git hash-object -w history.jsonl)")
  if [ -f "$KIT_DIR/reports/trend.svg" ]; then
    trend=$(git hash-object -w "$KIT_DIR/reports/trend.svg")
  fi
  if [ -n "$trend" ]; then
    entries+=$'\n'$(printf '100644 blob %s\ttrend.svg' "$trend")
  fi
  if [ -d "$KIT_DIR/reports/badges" ]; then
    listing=""
    for file in "$KIT_DIR"/reports/badges/*; do
      listing+=$(printf '100644 blob %s\t%s' "$(git hash-object -w "$file")" "$(basename "$file")")$'\n'
    done
    badges=$(printf '%s' "$listing" | git mktree)
  fi
  if [ -n "$badges" ]; then
    entries+=$'\n'$(printf '040000 tree %s\tbadges' "$badges")
  fi
  git -c user.name=ci -c user.email=ci@localhost \
    commit-tree "$(printf '%s\n' "$entries" | git mktree)" "${parent[@]}" -m "coverage history"
}

case "${1:-}" in
  restore)
    tip=$(fetch_tip)
    if [ -n "$tip" ]; then
      import_history_of "$tip"
    else
      git update-ref -d "$merged_ref"
      echo "no $branch branch yet: starting without a history"
    fi
    ;;
  save)
    # Other runs of main may push the branch between this run's restore and its push. Each
    # attempt merges what the branch holds by then (a union of snapshots; of two baselines of
    # a branch the newer stands) and pushes on top of it. A run that pushed meanwhile may so
    # bring back snapshots maintenance thinned: nothing is lost, and the next thinning takes them.
    merged=$(git rev-parse --quiet --verify "$merged_ref" || true)
    tip=$(fetch_tip)
    attempt=1
    while :; do
      if [ -n "$tip" ] && [ "$tip" != "$merged" ]; then
        import_history_of "$tip"
        merged=$tip
      fi
      nox -s baseline -- --export "$PWD/history.jsonl"
      commit=$(history_commit_on "$tip")
      # A plain push, not a forced one (nor --force-with-lease): git takes it only as a
      # fast-forward of the origin's branch, so it is refused when another run pushed after
      # `tip` was fetched, or created the branch when there was no `tip`; and no mistake here
      # can overwrite another run's commit.
      if git push --quiet origin "$commit:refs/heads/$branch"; then
        git update-ref "$merged_ref" "$commit"
        exit 0
      fi
      built_on=$tip
      tip=$(fetch_tip)
      if [ "$tip" = "$built_on" ]; then
        echo "error: could not push $branch, and it has not moved since this run fetched it, so" \
          "no other run was in the way: git says why above. Is the origin reachable, and may this" \
          "token push (contents: write)? This run's history is not on the branch; run the job" \
          "again once that is fixed." >&2
        exit 1
      fi
      if [ "$attempt" -ge "$attempts" ]; then
        echo "error: $branch: gave up after $attempts attempts: each time another run pushed to" \
          "it first. What the branch holds is kept, but this run's snapshot is not on it: run" \
          "this job again (its restore and save merge what the branch holds by then)." >&2
        exit 1
      fi
      attempt=$((attempt + 1))
      echo "$branch moved: another run pushed to it since this run fetched it; merging its" \
        "history and pushing again (attempt $attempt of $attempts)" >&2
    done
    ;;
  *)
    echo "usage: $0 restore|save" >&2
    exit 2
    ;;
esac

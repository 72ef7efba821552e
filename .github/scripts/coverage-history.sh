#!/usr/bin/env bash
# Carry the coverage history between CI runs on a branch of its own, `coverage-history`,
# holding history.jsonl (docs/history.md) and the latest badges of main, badges/ (the
# shields.io endpoint files a README links to, docs/reports.md). The branch holds no code.
#
#   coverage-history.sh restore   import the branch's history, if the branch exists
#   coverage-history.sh save      export the local history and push it as a new commit, with
#                                 $KIT_DIR/reports/badges/ when present, else the branch's badges
#                                 kept (needs `contents: write`; run one writer at a time)
#
# Run from the repository's top. KIT_DIR is where the kit lives ("." in the kit's own
# repository, the workflows' env: sets it); history.jsonl stays at the top, and the baseline
# session gets its absolute path, because the kit's process runs in the kit's folder.
set -euo pipefail

KIT_DIR=${KIT_DIR:-.}
branch=coverage-history
case "${1:-}" in
  restore)
    if git fetch --quiet --depth=1 origin "$branch"; then
      git show FETCH_HEAD:history.jsonl > history.jsonl
      nox -s baseline -- --import "$PWD/history.jsonl"
    else
      echo "no $branch branch yet: starting without a history"
    fi
    ;;
  save)
    parent=()
    badges=""
    if git fetch --quiet --depth=1 origin "$branch"; then
      parent=(-p "$(git rev-parse FETCH_HEAD)")
      badges=$(git rev-parse --quiet --verify "FETCH_HEAD:badges" || true)
    fi
    nox -s baseline -- --export "$PWD/history.jsonl"
    entries=$(printf '100644 blob %s\thistory.jsonl' "$(git hash-object -w history.jsonl)")
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
    tree=$(printf '%s\n' "$entries" | git mktree)
    commit=$(git -c user.name=ci -c user.email=ci@localhost commit-tree "$tree" "${parent[@]}" -m "coverage history")
    git push --quiet origin "$commit:refs/heads/$branch"
    ;;
  *)
    echo "usage: $0 restore|save" >&2
    exit 2
    ;;
esac

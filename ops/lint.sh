#!/usr/bin/env bash
# make lint: clang-format must leave every C file unchanged, and the banned functions of
# STYLE.md (unbounded or unchecked string and number handling) must not appear.
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h')
files=$(printf '%s\n' $files | sort -u)
status=0

if ! clang-format --dry-run -Werror $files 2>/tmp/cc-lint.$$; then
  head -n 40 /tmp/cc-lint.$$
  echo "lint: clang-format would change the files above (run: make format)"
  status=1
fi
rm -f /tmp/cc-lint.$$

# Calls of banned functions (word boundary, followed by '('), outside comments' own lines.
banned='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|strtok)[[:space:]]*\('
if hits=$(grep -nE "$banned" $files | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)'); then
  echo "$hits"
  echo "lint: banned functions used (see STYLE.md: use snprintf, strtol/strtoull with checks)"
  status=1
fi

[ $status -eq 0 ] && echo "lint: $(echo "$files" | wc -w) files clean"
exit $status

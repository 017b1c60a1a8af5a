#!/usr/bin/env bash
# Every C/C++ source of the repository formatted as its .clang-format says (clang-format
# --dry-run -Werror). Build directories (any directory holding a CMakeCache.txt) and generated
# skeletons are not sources and are skipped.
#   check_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format="$1"
cd "$2"

files=()
while IFS= read -r -d '' f; do
    files+=("$f")
done < <(find bpf maps include loader tests bench \
    -type d -exec test -e '{}/CMakeCache.txt' ';' -prune -o \
    -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) \
    ! -name '*.skel.h' -print0 | sort -z)
# An empty list would pass for the wrong reason (a moved tree, a wrong directory).
if [ "${#files[@]}" -eq 0 ]; then
    echo "check_format: no C/C++ sources found under $(pwd)" >&2
    exit 1
fi

# One run over all files; clang-format names each file that differs in its diagnostics.
if report="$("$clang_format" --dry-run -Werror "${files[@]}" 2>&1)"; then
    echo "check_format: ${#files[@]} files formatted"
    exit 0
fi
bad="$(printf '%s\n' "$report" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)"
if [ -z "$bad" ]; then # clang-format failed for another reason: show it
    printf '%s\n' "$report" >&2
    exit 1
fi
printf 'not formatted: %s\n' $bad >&2
echo "check_format: $(printf '%s\n' "$bad" | wc -l) of ${#files[@]} files differ; fix with:" \
    "$clang_format -i" $bad >&2
exit 1

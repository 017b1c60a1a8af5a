#!/usr/bin/env bash
# The tree compiles without a warning (-Werror) in a Release configuration with the compiler
# the main build does not use: the two compilers warn about different things, and Release
# builds inline differently from the main build. A packager who picks the other compiler or
# build type must not be stopped by a warning.
#   other_compiler.sh clang|gcc SOURCE_DIR CHECK_BUILD_DIR MAIN_BUILD_DIR [DIR...]
# DIRs (relative to SOURCE_DIR) limit the check to the translation units under them.
#
# Cost: the project is configured (for its compile commands; make builds nothing) and each
# translation unit is compiled once. Clang's warnings all come from its front end, so
# for Clang -fsyntax-only is enough; GCC's -Wrestrict, -Warray-bounds, -Wstringop-* and
# -Wmaybe-uninitialized need the optimizer, so for GCC each unit is compiled in full (to
# /dev/null). The BPF skeletons the units include are copied from the main build: bpftool
# generates them from BPF objects, which neither the host compiler nor the build type changes.
set -euo pipefail
compiler="$1"
src="$2"
build="$3"
main="$4"
shift 4
case "$compiler" in
clang) cc=clang cxx=clang++ mode=syntax ;;
gcc) cc=gcc cxx=g++ mode=object ;;
*)
    echo "other_compiler: clang or gcc, not '$compiler'" >&2
    exit 2
    ;;
esac

mkdir -p "$build"
if ! cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    exit 1
fi

find "$main" -path "$build" -prune -o -name '*.skel.h' -print | while read -r skel; do
    rel="${skel#"$main"/}"
    mkdir -p "$build/$(dirname "$rel")"
    cp "$skel" "$build/$rel"
done

exec python3 - "$build/compile_commands.json" "$mode" "$(nproc)" "$src" "$@" <<'PY'
import concurrent.futures, json, os, shlex, subprocess, sys

db_path, mode, jobs, src = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
dirs = [os.path.join(os.path.realpath(src), d) + os.sep for d in sys.argv[5:]]
units = [u for u in json.load(open(db_path))
         if not dirs or any(os.path.realpath(u["file"]).startswith(d) for d in dirs)]
# None would pass for the wrong reason (a moved folder, a wrong directory).
if not units:
    sys.exit("other_compiler: no translation units under " + " ".join(dirs or [src]))

def compile_unit(unit):
    args = shlex.split(unit["command"]) if "command" in unit else list(unit["arguments"])
    out = args.index("-o")
    del args[out:out + 2]
    args += ["-fsyntax-only"] if mode == "syntax" else ["-o", "/dev/null"]
    if mode == "syntax":
        args.remove("-c")
    r = subprocess.run(args, cwd=unit["directory"], capture_output=True, text=True)
    return unit["file"], r.returncode, r.stdout + r.stderr

failed = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for name, rc, text in pool.map(compile_unit, units):
        if rc != 0 or text.strip():
            failed += 1
            print(f"--- {name}\n{text}", end="")
print(f"other_compiler: {len(units)} translation units, {failed} with warnings or errors")
sys.exit(1 if failed else 0)
PY

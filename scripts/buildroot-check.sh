#!/usr/bin/env bash
# Validates the Buildroot external tree in buildroot/ without Buildroot:
#   - external.desc names the tree; Config.in and external.mk exist;
#   - every `source` in a Config.in resolves to a file;
#   - each package/<pkg>/ has Config.in (sourced) and <pkg>.mk; its config
#     symbols are BR2_PACKAGE_<PKG>*; every variable and define in the .mk
#     is <PKG>_*; every hook it registers is defined; it ends with an
#     $(eval $(...-package)); every file it installs or references exists;
#     a golang package's _GOMOD and _BUILD_TARGETS match the Go module,
#     every command under the module's cmd/ is a build target (facegate
#     ships the daemon and its capture helper side by side), every binary
#     built is installed (whatever the Buildroot version: see facegate.mk)
#     and checked by a post-build script that checks the package's files;
#   - defconfigs contain only BR2_ assignments, no duplicates, select
#     systemd and the package, and every $(BR2_EXTERNAL_..._PATH) path in
#     them exists (post-build scripts executable).
# Usage: scripts/buildroot-check.sh [TREE [MODULE]]
#          TREE default buildroot/, MODULE (the Go module the package builds,
#          what $(@D) stands for) default TREE/..
#        scripts/buildroot-check.sh --self-test (breaks copies; must fail)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = --self-test ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  n=0 bad=0
  # The copies are checked against this checkout's module: on their own in
  # $tmp they would lack go.mod, cmd/ and the installed files, and fail
  # whatever the break.
  n=$((n + 1))
  cp -a "$root/buildroot" "$tmp/t"
  if "$0" "$tmp/t" "$root" >"$tmp/out" 2>&1; then
    echo "buildroot-check self-test: ok   an unbroken copy passes"
  else
    echo "buildroot-check self-test: FAIL: an unbroken copy fails:" >&2; cat "$tmp/out" >&2; bad=$((bad + 1))
  fi
  try() { # try NAME SED-SCRIPT FILE
    n=$((n + 1))
    rm -rf "$tmp/t" && cp -a "$root/buildroot" "$tmp/t"
    sed -i "$2" "$tmp/t/$3"
    if cmp -s "$root/buildroot/$3" "$tmp/t/$3"; then
      echo "buildroot-check self-test: FAIL: the sed script changed nothing: $1" >&2; bad=$((bad + 1))
    elif "$0" "$tmp/t" "$root" >/dev/null 2>&1; then
      echo "buildroot-check self-test: FAIL: not caught: $1" >&2; bad=$((bad + 1))
    else
      echo "buildroot-check self-test: ok   caught: $1"
    fi
  }
  try "badly named variable" 's/^FACEGATE_TAGS =/FG_TAGS =/' package/facegate/facegate.mk
  try "missing installed file" 's|80-facegate.preset|81-missing.preset|' package/facegate/facegate.mk
  try "undefined hook" 's/^FACEGATE_POST_RSYNC_HOOKS += FACEGATE_VENDOR_MODULES/FACEGATE_POST_RSYNC_HOOKS += FACEGATE_NOPE/' package/facegate/facegate.mk
  try "no eval line" '/^\$(eval/d' package/facegate/facegate.mk
  try "wrong Go module" 's/^FACEGATE_GOMOD = facegate/FACEGATE_GOMOD = example.com\/x/' package/facegate/facegate.mk
  try "foreign config symbol" 's/^config BR2_PACKAGE_FACEGATE$/config BR2_PACKAGE_OTHER/' package/facegate/Config.in
  try "missing overlay" 's|board/common/rootfs-overlay|board/common/nowhere|' configs/facegate_raspberrypi5_defconfig
  try "duplicate symbol" '$a BR2_INIT_SYSTEMD=y' configs/facegate_raspberrypi4_64_defconfig
  try "garbage line" '$a this is not kconfig' configs/facegate_raspberrypi4_64_defconfig
  try "dangling source" '$a source "$BR2_EXTERNAL_FACEGATE_PATH/package/none/Config.in"' Config.in
  try "capture helper not built" 's| cmd/facegate-capture||' package/facegate/facegate.mk
  try "binary name with two targets" '/^FACEGATE_BUILD_TARGETS/a FACEGATE_BIN_NAME = facegate' package/facegate/facegate.mk
  try "_INSTALL_BINS (refused by Buildroot 2025.11)" '/^FACEGATE_BUILD_TARGETS/a FACEGATE_INSTALL_BINS = facegate facegate-capture' package/facegate/facegate.mk
  try "install step dropped (older Buildroot installs one binary)" '/^define FACEGATE_INSTALL_TARGET_CMDS/,/^endef/d' package/facegate/facegate.mk
  try "install step misses the helper" 's|\$(notdir \$(FACEGATE_BUILD_TARGETS))|facegate|' package/facegate/facegate.mk
  try "post-build does not check the helper" 's| usr/bin/facegate-capture||' board/common/post-build.sh
  echo "buildroot-check self-test: $((n - bad)) passed, $bad failed"
  [ "$bad" -eq 0 ]
  exit
fi

tree=$(cd "${1:-$root/buildroot}" && pwd)
modroot=$(cd "${2:-$tree/..}" && pwd)
errors=0
err() { echo "buildroot-check: $*" >&2; errors=$((errors + 1)); }

[ -f "$tree/external.desc" ] || { err "no external.desc"; exit 1; }
name=$(sed -n 's/^name:[[:space:]]*//p' "$tree/external.desc")
[[ $name =~ ^[A-Za-z0-9_]+$ ]] || err "external.desc: bad or missing name '$name'"
grep -q '^desc:' "$tree/external.desc" || err "external.desc: no desc"
for f in Config.in external.mk; do [ -f "$tree/$f" ] || err "no $f"; done
extvar="BR2_EXTERNAL_${name}_PATH"

# resolve PATH-WITH-VARIABLES: expand the external path variable.
resolve() {
  local p=$1
  p=${p//\$$extvar/$tree}
  p=${p//\$($extvar)/$tree}
  printf '%s' "$p"
}

# Config.in sources, recursively from the top.
check_sources() {
  local f=$1 s
  while IFS= read -r s; do
    local p
    p=$(resolve "$s")
    if [ ! -f "$p" ]; then err "$f: sources missing $s"; continue; fi
    check_sources "$p"
  done < <(sed -n 's/^[[:space:]]*source[[:space:]]*"\(.*\)"/\1/p' "$f")
}
[ -f "$tree/Config.in" ] && check_sources "$tree/Config.in"
grep -q "include.*\$($extvar)/package/\*/\*.mk" "$tree/external.mk" ||
  err "external.mk does not include \$($extvar)/package/*/*.mk"

pkgsyms=()
for dir in "$tree"/package/*/; do
  pkg=$(basename "$dir")
  PKG=$(echo "$pkg" | tr 'a-z-' 'A-Z_')
  cfg=$dir/Config.in mk=$dir/$pkg.mk
  [ -f "$cfg" ] || { err "package/$pkg: no Config.in"; continue; }
  [ -f "$mk" ] || { err "package/$pkg: no $pkg.mk"; continue; }
  grep -q "source \"\$$extvar/package/$pkg/Config.in\"" "$tree/Config.in" ||
    err "package/$pkg/Config.in is not sourced from Config.in"
  grep -q "^config BR2_PACKAGE_$PKG\$" "$cfg" || err "package/$pkg/Config.in: no config BR2_PACKAGE_$PKG"
  while IFS= read -r sym; do
    [[ $sym == BR2_PACKAGE_$PKG || $sym == BR2_PACKAGE_${PKG}_* ]] || err "package/$pkg/Config.in: symbol $sym is not BR2_PACKAGE_$PKG*"
    pkgsyms+=("$sym")
  done < <(sed -n 's/^\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/\2/p' "$cfg")

  # Variables and defines in the .mk.
  while IFS= read -r v; do
    [[ $v == ${PKG}_* ]] || err "package/$pkg/$pkg.mk: variable $v is not ${PKG}_*"
  done < <(grep -Eo '^(define[[:space:]]+)?[A-Za-z0-9_]+[[:space:]]*(\+=|:=|\?=|=|$)' "$mk" |
    sed -E 's/^define[[:space:]]+//; s/[[:space:]]*(\+=|:=|\?=|=)?$//' | grep -v '^endef$' | grep -v '^$')
  # Hooks must be defined.
  while IFS= read -r h; do
    grep -q "^define $h\$" "$mk" || err "package/$pkg/$pkg.mk: hook $h is not defined"
  done < <(sed -n "s/^${PKG}_[A-Z_]*_HOOKS[[:space:]]*+=[[:space:]]*//p" "$mk" | tr ' ' '\n' | grep -v '^$')
  last=$(grep -v '^[[:space:]]*\(#.*\)\{0,1\}$' "$mk" | tail -1)
  [[ $last =~ ^\$\(eval\ \$\((generic|golang|cmake|autotools|meson|python)-package\)\)$ ]] ||
    err "package/$pkg/$pkg.mk: last line is not \$(eval \$(...-package)): $last"
  # Files it references. $(@D)/bin/ is where the golang infrastructure
  # writes the binaries it builds: output, not source, so not looked for.
  while IFS= read -r ref; do
    [[ $ref == "\$(@D)/bin/"* ]] && grep -q 'golang-package' "$mk" && continue
    p=${ref//\$(${PKG}_PKGDIR)/$dir}
    p=${p//\$(@D)/$modroot}
    p=$(resolve "$p")
    # shellcheck disable=SC2086
    ls -d $p >/dev/null 2>&1 || err "package/$pkg/$pkg.mk: $ref does not exist"
  # (Lines that only test for a path, like `[ ! -d $(@D)/vendor ]`, are not uses.)
  done < <(grep -v '\[ \(! \)\{0,1\}-[a-z] ' "$mk" | grep -Eo "\\\$\((${PKG}_PKGDIR|@D|$extvar)\)/[A-Za-z0-9_./*-]+" | sort -u)
  # golang-package: the module and the build targets.
  if grep -q 'golang-package' "$mk"; then
    gomod=$(sed -n "s/^${PKG}_GOMOD[[:space:]]*=[[:space:]]*//p" "$mk")
    want=$(sed -n 's/^module[[:space:]]*//p' "$modroot/go.mod" 2>/dev/null)
    [ "$gomod" = "$want" ] || err "package/$pkg/$pkg.mk: ${PKG}_GOMOD '$gomod' is not the module '$want'"
    targets=$(sed -n "s/^${PKG}_BUILD_TARGETS[[:space:]]*=[[:space:]]*//p" "$mk")
    for t in $targets; do
      [ -d "$modroot/$t" ] || err "package/$pkg/$pkg.mk: build target $t does not exist"
    done
    # Every command of the module ships: a cmd/ the package does not build
    # (the capture helper, say) would be missing on the board only.
    if [ "$gomod" = "$want" ]; then
      for d in "$modroot"/cmd/*/; do
        [ -d "$d" ] || continue
        grep -lq '^package main$' "$d"*.go 2>/dev/null || continue
        c=cmd/$(basename "$d")
        [[ " $targets " == *" $c "* ]] || err "package/$pkg/$pkg.mk: $c is not in ${PKG}_BUILD_TARGETS"
      done
    fi
    ntargets=$(wc -w <<<"$targets")
    bins=$pkg
    [ "$ntargets" -ge 1 ] && [ "$targets" != . ] && bins=$(for t in $targets; do basename "$t"; done)
    # With several targets Buildroot 2025.11+ refuses a _BIN_NAME, and older
    # versions write every binary to that one name.
    if [ "$ntargets" -gt 1 ] && grep -q "^${PKG}_BIN_NAME[[:space:]]*[:?+]\{0,1\}=" "$mk"; then
      err "package/$pkg/$pkg.mk: ${PKG}_BIN_NAME set with several ${PKG}_BUILD_TARGETS"
    fi
    grep -q "^${PKG}_INSTALL_BINS[[:space:]]*[:?+]\{0,1\}=" "$mk" &&
      err "package/$pkg/$pkg.mk: ${PKG}_INSTALL_BINS is refused by Buildroot 2025.11 (define ${PKG}_INSTALL_TARGET_CMDS)"
    # Before 2025.11 the default install step installs only the binary
    # named after the package: with several, the package installs them.
    install_cmds=$(sed -n "/^define ${PKG}_INSTALL_TARGET_CMDS\$/,/^endef/p" "$mk")
    if [ "$ntargets" -gt 1 ] && [ -z "$install_cmds" ]; then
      err "package/$pkg/$pkg.mk: several ${PKG}_BUILD_TARGETS but no ${PKG}_INSTALL_TARGET_CMDS: older Buildroot installs only $pkg"
    fi
    if [ -n "$install_cmds" ] && ! grep -qF "\$(notdir \$(${PKG}_BUILD_TARGETS))" <<<"$install_cmds"; then
      for b in $bins; do
        grep -q "/usr/bin/$b\([^A-Za-z0-9_.-]\|\$\)" <<<"$install_cmds" ||
          err "package/$pkg/$pkg.mk: ${PKG}_INSTALL_TARGET_CMDS does not install $b"
      done
    fi
    # A post-build script that checks the package's files checks all of its
    # binaries.
    while IFS= read -r -d '' pb; do
      grep -q "usr/bin/$pkg\([^A-Za-z0-9_.-]\|\$\)" "$pb" || continue
      for b in $bins; do
        grep -q "usr/bin/$b\([^A-Za-z0-9_.-]\|\$\)" "$pb" ||
          err "${pb#"$tree"/}: checks usr/bin/$pkg but not usr/bin/$b"
      done
    done < <(find "$tree/board" -name 'post-build.sh' -print0 2>/dev/null)
  fi
done

for dc in "$tree"/configs/*; do
  base=$(basename "$dc")
  [[ $base == *_defconfig ]] || err "configs/$base: not named *_defconfig"
  dups=$(sed -n 's/^\(BR2_[A-Za-z0-9_]*\)=.*/\1/p' "$dc" | sort | uniq -d)
  [ -z "$dups" ] || err "configs/$base: duplicate symbols: $dups"
  lineno=0
  while IFS= read -r line; do
    lineno=$((lineno + 1))
    [[ -z $line || $line =~ ^#\ BR2_[A-Za-z0-9_]+\ is\ not\ set$ || $line =~ ^# ]] && continue
    [[ $line =~ ^BR2_[A-Za-z0-9_]+=(y|[0-9]+|0x[0-9a-fA-F]+|\".*\")$ ]] || err "configs/$base:$lineno: not a Kconfig assignment: $line"
    sym=${line%%=*}
    if [[ $sym == BR2_PACKAGE_FACEGATE* ]] && [[ ! " ${pkgsyms[*]} " == *" $sym "* ]]; then
      err "configs/$base:$lineno: $sym is not defined by this tree"
    fi
  done <"$dc"
  for must in BR2_INIT_SYSTEMD=y BR2_PACKAGE_FACEGATE=y BR2_PACKAGE_SYSTEMD_TIMESYNCD=y; do
    grep -qx "$must" "$dc" || err "configs/$base: lacks $must"
  done
  while IFS= read -r ref; do
    p=$(resolve "$ref")
    [ -e "$p" ] || { err "configs/$base: $ref does not exist"; continue; }
    if grep -q "POST_[A-Z]*_SCRIPT=.*$ref" "$dc" && [ ! -x "$p" ]; then
      err "configs/$base: $ref is not executable"
    fi
  done < <(grep -Eo "\\\$\($extvar\)/[A-Za-z0-9_./-]+" "$dc" | sort -u)
done

while IFS= read -r -d '' s; do
  sh -n "$s" || err "${s#"$tree"/}: syntax error"
done < <(find "$tree/board" -name '*.sh' -print0)

if [ "$errors" -gt 0 ]; then
  echo "buildroot-check: $errors problem(s) in $tree" >&2
  exit 1
fi
echo "buildroot-check: ok ($tree: $(ls "$tree"/package | wc -l) package(s), $(ls "$tree"/configs | wc -l) defconfig(s))"

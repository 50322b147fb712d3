#!/usr/bin/env python3
"""Audit x86-64 object code for AVX with objdump (used by .ci/check_baseline_isa.sh and .ci/wheel.sh).

  isa_audit.py objects --targets A.o B.o --baseline C.o D.o ...
      Target objects (the AVX2 / AVX-512 kernel TUs) must contain AVX (proves the detector works); baseline
      objects must contain no AVX (no ymm/zmm/opmask registers, no VEX/EVEX-encoded v* instructions) and
      nothing beyond SSE2 (no SSE3/SSSE3/SSE4.x/POPCNT/... instructions). Weak (COMDAT) functions defined by
      both a target object and a baseline object are reported as leaks: the linker keeps only one copy.
  isa_audit.py so --targets A.o B.o --so LIB.so
      LIB.so must carry symbols (unstripped): every function containing AVX must be defined by a target
      object (namespace fastbce::simd::avx2/avx512, or the anonymous-namespace kernels of those TUs).
  isa_audit.py histogram LIB.so
      Prints the AVX mnemonic histogram (for comparing a stripped shipped .so with an audited build).

Exit status 0 when clean, 1 with a report of every offending instruction/function otherwise.
"""
import collections
import re
import subprocess
import sys

VMX = {"verr", "verw", "vmcall", "vmlaunch", "vmresume", "vmxoff", "vmxon", "vmread", "vmwrite", "vmptrld",
       "vmptrst", "vmclear", "vmfunc", "vmrun", "vmload", "vmsave", "vmmcall"}
AVX_REG = re.compile(r"%(ymm|zmm)\d+|%k[0-7]\b")
# Beyond SSE2: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT/LZCNT, BMI (VEX-encoded integer ops).
BEYOND_SSE2 = re.compile(
    r"^(addsubp[sd]|hadd[pd]s?|haddp[sd]|hsubp[sd]|lddqu|movddup|movs[hl]dup|monitor|mwait"
    r"|pabs[bwd]|palignr|phadd\w*|phsub\w*|pmaddubsw|pmulhrsw|pshufb|psign[bwd]"
    r"|blendp[sd]|blendvp[sd]|dpp[sd]|extractps|insertps|movntdqa|mpsadbw|packusdw|pblendvb|pblendw"
    r"|pcmpeqq|pextr[bdq]|phminposuw|pinsr[bdq]|pmaxs[bd]|pmaxu[wd]|pmins[bd]|pminu[wd]|pmov[sz]x\w+|pmuldq"
    r"|pmulld|ptest|round[ps][sd]|crc32\w*|pcmp[ei]str[im]|pcmpgtq|popcnt|lzcnt"
    r"|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(?:(?:[0-9a-f]{2} )+\s*)?([a-z][a-z0-9.]*)\s*(.*)$")
FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")


def is_avx(mnemonic, operands):
    if AVX_REG.search(operands):
        return True
    # AT&T mnemonic of a VEX/EVEX instruction starts with 'v' (vmovss, vfmadd..., vzeroupper).
    return mnemonic.startswith("v") and mnemonic not in VMX


def disassemble(path):
    """Yields (function, mnemonic, operands) for every instruction of every executable section."""
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", "-w", path], check=True,
                         capture_output=True, text=True).stdout
    func = "?"
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            func = m.group(2)
            continue
        m = INSN.match(line)
        if m:
            mnemonic, operands = m.group(2), m.group(3)
            if mnemonic in ("rex", "data16", "lock", "rep", "repz", "repnz", "notrack", "bnd", "cs", "ds"):
                parts = operands.split(None, 1)  # prefix shown separately: the real mnemonic follows
                if not parts:
                    continue
                mnemonic, operands = parts[0], parts[1] if len(parts) > 1 else ""
            yield func, mnemonic, operands


def defined_functions(path):
    """Demangled names of the functions an object defines: {name: symbol type letter}."""
    out = subprocess.run(["nm", "-C", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    funcs = {}
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwWiu":
            funcs[parts[2]] = parts[1]
    return funcs


def is_lto_only(path):
    """GCC -flto -fno-fat-lto-objects objects (pybind11 uses them for the module) hold only GIMPLE."""
    out = subprocess.run(["objdump", "-h", path], check=True, capture_output=True, text=True).stdout
    has_lto = ".gnu.lto_" in out
    has_text = any(re.search(r"\s\.text\S*\s+0*[1-9a-f][0-9a-f]*\s", line) for line in out.splitlines())
    return has_lto and not has_text


def strip_clone(name):
    return re.sub(r" \[clone [^\]]*\]", "", re.sub(r"\+0x[0-9a-f]+$", "", name))


def audit_objects(targets, baseline):
    ok = True
    for path in targets:
        n = sum(1 for _, m, o in disassemble(path) if is_avx(m, o))
        if n == 0:
            print(f"FAIL  {path}: a target object without AVX instructions (wrong flags, or a broken detector)")
            ok = False
        else:
            print(f"ok    {path}: {n} AVX instructions (dispatched target)")
    for path in baseline:
        if is_lto_only(path):
            print(f"ok    {path}: LTO bytecode only (no machine code until link): checked in the linked .so")
            continue
        avx = collections.Counter()
        beyond = collections.Counter()
        where = collections.defaultdict(set)
        total = 0
        for func, m, o in disassemble(path):
            total += 1
            if is_avx(m, o):
                avx[m] += 1
                where[strip_clone(func)].add(m)
            elif BEYOND_SSE2.match(m):
                beyond[m] += 1
                where[strip_clone(func)].add(m)
        if avx or beyond:
            ok = False
            print(f"FAIL  {path}: {sum(avx.values())} AVX and {sum(beyond.values())} post-SSE2 instructions "
                  f"in baseline code: {dict(avx) | dict(beyond)}")
            for func, ms in sorted(where.items())[:20]:
                print(f"        in {func}: {sorted(ms)}")
        else:
            print(f"ok    {path}: {total} instructions, no AVX, nothing beyond SSE2")
    # COMDAT leakage: a weak function emitted by a target TU and by a baseline TU is one symbol after linking.
    target_weak = {}
    for path in targets:
        for name, kind in defined_functions(path).items():
            if kind in "wWiu":
                target_weak.setdefault(name, path)
    shared = []
    for path in baseline:
        for name, kind in defined_functions(path).items():
            if kind in "wWiu" and name in target_weak:
                shared.append((name, target_weak[name], path))
    if shared:
        ok = False
        print(f"FAIL  {len(shared)} weak (COMDAT) functions defined by a target and a baseline object; "
              "the linker may keep the AVX copy:")
        for name, t, b in shared[:30]:
            print(f"        {name}  ({t} and {b})")
    else:
        n = len(target_weak)
        print(f"ok    no weak (COMDAT) function shared between target and baseline objects "
              f"({n} weak symbols in the targets{': ' + ', '.join(sorted(target_weak)[:5]) if n else ''})")
    return ok


def audit_so(targets, so):
    allowed = set()
    for path in targets:
        allowed.update(strip_clone(n) for n in defined_functions(path))
    by_func = collections.defaultdict(collections.Counter)
    functions = set()
    for func, m, o in disassemble(so):
        functions.add(func)
        if is_avx(m, o):
            by_func[strip_clone(func)][m] += 1
    if len(functions) < 20:
        print(f"FAIL  {so}: only {len(functions)} symbols: stripped? (audit an unstripped build)")
        return False
    bad = {f: c for f, c in by_func.items() if f not in allowed}
    n_insn = sum(sum(c.values()) for c in by_func.values())
    ns = collections.Counter()
    for f in by_func:
        ns["fastbce::simd::avx512" if "avx512" in f else "fastbce::simd::avx2" if "avx2" in f else "other"] += 1
    if bad:
        print(f"FAIL  {so}: AVX in {len(bad)} functions not defined by the target objects:")
        for f, c in sorted(bad.items())[:30]:
            print(f"        {f}: {dict(c.most_common(6))}")
        return False
    print(f"ok    {so}: {n_insn} AVX instructions in {len(by_func)} of {len(functions)} functions, every one "
          f"defined by a target object ({ns['fastbce::simd::avx2']} avx2, {ns['fastbce::simd::avx512']} avx512, "
          f"{ns['other']} other)")
    in_targets = sum(sum(1 for _, m, o in disassemble(t) if is_avx(m, o)) for t in targets)
    print(f"        {in_targets} AVX instructions in the target objects, {n_insn} in the .so"
          f"{' (identical counts)' if in_targets == n_insn else ''}")
    if ns["other"]:
        for f in sorted(f for f in by_func if "avx2" not in f and "avx512" not in f):
            print(f"        note: {f}")
    return True


def histogram(so):
    c = collections.Counter(m for _, m, o in disassemble(so) if is_avx(m, o))
    for m, n in sorted(c.items()):
        print(f"{m} {n}")
    return True


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    mode, args = argv[1], argv[2:]
    targets, rest = [], []
    group = rest
    for a in args:
        if a == "--targets":
            group = targets
        elif a in ("--baseline", "--so"):
            group = rest
        else:
            group.append(a)
    if mode == "objects":
        return 0 if audit_objects(targets, rest) else 1
    if mode == "so" and len(rest) == 1:
        return 0 if audit_so(targets, rest[0]) else 1
    if mode == "histogram" and len(rest) == 1:
        return 0 if histogram(rest[0]) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
